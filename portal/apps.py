import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Django logs the path of every 4xx response (django.request), CSRF failures and, under runserver,
# every request line: an accept URL carries a live token, so those records have it blanked.
TOKEN_LOGGERS = ("django.request", "django.security.csrf", "django.server")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Client portal")

    def ready(self) -> None:
        from portal import home, services
        from portal.logs import RedactInvitationTokens
        from portal.views import header_action_applies, header_action_context
        from relations.extensions import HeaderAction, register_header_action
        from relations.signals import relation_archived

        register_header_action(
            HeaderAction(
                template="portal/header_action.html",
                context=header_action_context,
                applies=header_action_applies,
            )
        )
        relation_archived.connect(
            services.revoke_on_archive, dispatch_uid="portal-revoke-on-archive"
        )
        home.register()
        redact = RedactInvitationTokens()
        for name in TOKEN_LOGGERS:
            logger = logging.getLogger(name)
            if not any(isinstance(f, RedactInvitationTokens) for f in logger.filters):
                logger.addFilter(redact)
