from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelationsConfig(AppConfig):
    name = "relations"
    verbose_name = _("Relations")

    def ready(self) -> None:
        # Relations' own tabs, registered as the apps above it register theirs (relations.extensions).
        from relations import office
        from relations.views import tabs

        tabs.register()
        office.register()  # what relations shows on the home page and the members' pages
