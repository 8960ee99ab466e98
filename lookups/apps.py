from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LookupsConfig(AppConfig):
    name = "lookups"
    verbose_name = _("Look-ups")

    def ready(self) -> None:
        from lookups import (
            services,
            tasks,  # noqa: F401 - the task that services.queue_vat_check asks for by name
        )
        from lookups.views import tools_tab_context
        from relations import extensions

        extensions.register_address_finder(services.ADDRESS_FINDER)
        extensions.register_company_finder(services.COMPANY_FINDER)
        extensions.register_tab(
            extensions.Tab(
                slug="tools",
                label=_("Tools"),
                template="lookups/tools_tab.html",
                context=tools_tab_context,
                position=70,  # after Ledger, before Timeline
            )
        )
