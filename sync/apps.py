from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Ledger sync")

    def ready(self) -> None:
        from relations import extensions
        from relations.signals import ledger_changed
        from sync import (
            home,
            tasks,  # noqa: F401 - the tasks that sync.wake asks for by name
        )
        from sync.receivers import on_ledger_changed
        from sync.views import ledger_link_values, ledger_tab_context

        ledger_changed.connect(on_ledger_changed, dispatch_uid="sync-nudge")
        extensions.register_tab(
            extensions.Tab(
                slug="ledger",
                label=_("Ledger"),
                template="sync/ledger_tab.html",
                context=ledger_tab_context,
                position=65,  # after Agreements
                applies=lambda relation: relation.is_client,
            )
        )
        extensions.register_link_values(ledger_link_values)
        home.register()
