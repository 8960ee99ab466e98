"""Ledger data in the admin: read mostly. Credentials are never shown; sync state changes only through
sync.services (the Ledger tab), so the admin cannot lose a push or fake a synced state."""

from django.contrib import admin

from sync.models import ImportRun, LedgerConnection, LocalDebtor, SyncState


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerConnection)
class LedgerConnectionAdmin(admin.ModelAdmin):
    list_display = ["practice", "adapter", "office_code", "enabled", "updated_at"]
    list_select_related = ["practice"]
    fields = [
        "practice",
        "adapter",
        "office_code",
        "client_id",
        "login_url",
        "cluster_url",
        "enabled",
    ]
    readonly_fields = [
        "practice"
    ]  # secrets are set on the Ledger settings page or ledger_configure

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdmin):
    list_display = [
        "relation",
        "status",
        "attempts",
        "next_attempt_at",
        "last_pushed_at",
        "practice",
    ]
    list_filter = ["status", "practice"]
    search_fields = ["relation__display_name", "relation__client_code"]
    list_select_related = ["relation", "practice"]
    exclude = ["remote_record"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "practice", "status", "dry_run", "processed", "created", "failed"]
    list_filter = ["status", "dry_run", "practice"]
    list_select_related = ["practice"]


@admin.register(LocalDebtor)
class LocalDebtorAdmin(ReadOnlyAdmin):
    list_display = ["code", "practice", "modified_at", "touched"]
    list_filter = ["practice"]
    search_fields = ["code"]
    list_select_related = ["practice"]
