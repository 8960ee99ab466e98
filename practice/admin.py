from django.contrib import admin

from practice.forms import PlainTextModelForm
from practice.models import AccountSettings, AuditEvent, Membership, Practice, StaffInvitation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Practice)
class PracticeAdmin(admin.ModelAdmin):
    form = PlainTextModelForm
    list_display = ["name", "slug", "client_code_next", "default_language", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A practice owns relations, which are never deleted; removing the tenant would cascade.
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "practice", "role", "created_at", "deactivated_at"]
    list_filter = ["role", "practice"]
    search_fields = ["user__username", "user__email", "practice__name"]
    list_select_related = ["user", "practice"]
    autocomplete_fields = ["user", "practice"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read, filter and search the audit; no one adds, edits or deletes a row of it here."""

    list_display = [
        "at",
        "event",
        "username",
        "user",
        "practice",
        "subject",
        "detail",
        "ip_address",
        "path",
    ]
    list_filter = ["event", "practice"]
    search_fields = ["username", "ip_address", "path"]
    list_select_related = ["user", "practice"]
    date_hierarchy = "at"
    actions = None

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StaffInvitation)
class StaffInvitationAdmin(admin.ModelAdmin):
    """Read only: invitations are sent, resent and withdrawn on Kantoor → Medewerkers."""

    list_display = ["email", "practice", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["practice", "role"]
    search_fields = ["email"]
    list_select_related = ["practice"]
    exclude = ["token_hash"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AccountSettings)
class AccountSettingsAdmin(admin.ModelAdmin):
    form = PlainTextModelForm
    list_display = ["user", "language"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user"]
