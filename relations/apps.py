from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelationsConfig(AppConfig):
    name = "relations"
    verbose_name = _("Relations")

    def ready(self) -> None:
        # Relations' own tabs, registered as the apps above it register theirs (relations.extensions).
        from django.db.models.signals import post_save

        from practice.models import Practice
        from relations import office, roles
        from relations.views import tabs

        tabs.register()
        office.register()  # what relations shows on the home page and the members' pages
        # A new practice starts with the office's six team roles (relations.roles).
        post_save.connect(roles.seed_new_practice, sender=Practice, dispatch_uid="team-roles-seed")
