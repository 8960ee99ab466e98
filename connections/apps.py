from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = _("Connections")

    def ready(self) -> None:
        # Relations cannot import this app (imports run downwards): the tab is registered with it.
        from connections.services import sole_director
        from connections.views import tab_context
        from relations.extensions import Tab, register_owner_finder, register_tab

        register_owner_finder(sole_director)

        register_tab(
            Tab(
                slug="connections",
                label=_("Connections"),
                template="connections/tab.html",
                context=tab_context,
                position=45,  # after Bank accounts
            )
        )
