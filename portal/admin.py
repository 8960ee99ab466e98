"""Read-only: invitations and accounts change only through portal.services, which write the timeline
and keep the relation's portal state. Nothing here is ever deleted."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal.models import Invitation, PortalAccount


class ReadOnlyAdmin(admin.ModelAdmin):
    """View only; without the delete permission there is no "delete selected" action either."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["relation", "email", "status_label", "created_at", "expires_at", "practice"]
    list_filter = ["practice"]
    search_fields = ["relation__display_name", "email"]
    list_select_related = ["relation", "practice"]
    exclude = ["token_hash"]

    @admin.display(description=_("status"))
    def status_label(self, obj: Invitation) -> str:
        return obj.get_status_display()


@admin.register(PortalAccount)
class PortalAccountAdmin(ReadOnlyAdmin):
    list_display = ["relation", "user", "created_at", "revoked_at", "practice"]
    list_filter = ["practice", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["relation__display_name", "user__email"]
    list_select_related = ["relation", "user", "practice"]
