"""Owners' maintenance. Connections are added and ended in the app, where both relations' timelines
hear of it; here only the description and start date can be corrected, and nothing is deleted."""

from django.contrib import admin

from connections.models import Connection
from practice.forms import PlainTextModelForm


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = PlainTextModelForm
    list_display = ["__str__", "type", "start_date", "end_date", "practice"]
    list_filter = ["type", ("end_date", admin.EmptyFieldListFilter), "practice"]
    search_fields = ["a__display_name", "b__display_name", "description"]
    list_select_related = ["a", "b", "practice"]
    raw_id_fields = ["a", "b"]
    readonly_fields = [
        "practice",
        "a",
        "b",
        "type",
        "a_is_subject",
        "end_date",
        "created_at",
        "created_by",
    ]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # same practice, ordered pair and both timelines: connections.services

    def has_delete_permission(self, request, obj=None) -> bool:
        # Also drops the "delete selected" action, which requires the delete permission.
        return False
