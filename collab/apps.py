from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "collab"
    verbose_name = _("Chat and documents")

    def ready(self) -> None:
        # Relations cannot import this app (imports run downwards): the tab is registered with it.
        from collab.portal_views import home_section
        from collab.views import tab_context
        from portal.extensions import HomeSection, register_home_section
        from relations.extensions import Tab, register_tab

        register_home_section(
            HomeSection(key="chat", template="collab/portal_home.html", context=home_section)
        )

        register_tab(
            Tab(
                slug="chat",
                label=_("Chat"),
                template="collab/tab.html",
                context=tab_context,
                position=75,  # between Agreements and Timeline
                applies=lambda relation: relation.is_client,
            )
        )
