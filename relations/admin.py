"""Owners' maintenance. Relations are never deleted, here or anywhere: no delete permission, no action."""

from django.contrib import admin
from django.db.models import F

from practice.forms import PlainTextModelForm
from relations.models import (
    LEDGER_FIELDS,
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TimelineEvent,
)
from relations.services import notify_ledger


class NoDeleteAdmin(admin.ModelAdmin):
    """No delete button, and so no "delete selected" action (it needs the delete permission)."""

    form = PlainTextModelForm

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AddressInline(admin.TabularInline):
    model = Address
    form = PlainTextModelForm
    extra = 0


class BankAccountInline(admin.TabularInline):
    model = BankAccount
    form = PlainTextModelForm
    extra = 0


@admin.register(Relation)
class RelationAdmin(NoDeleteAdmin):
    list_display = [
        "display_name",
        "kind",
        "entity",
        "client_code",
        "email",
        "practice",
        "archived_at",
    ]
    list_filter = ["kind", "entity", ("archived_at", admin.EmptyFieldListFilter), "practice"]
    search_fields = ["display_name", "client_code", "email", "kvk_number"]
    list_select_related = ["practice"]
    readonly_fields = [
        "public_id",
        "display_name",
        "version",
        "created_at",
        "updated_at",
        "archived_at",
    ]
    exclude = [
        "bsn"
    ]  # sensitive: never shown in the admin; staff reveal it on the detail page (logged)
    show_full_result_count = False
    inlines = [AddressInline, BankAccountInline]

    def has_add_permission(self, request) -> bool:
        return False  # new relations get their client code from the practice's sequence in the app

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.code_frozen:
            fields.append("client_code")
        return fields

    def save_model(self, request, obj, form, change) -> None:
        # An admin edit is a change like any other: new version, timeline event, and the ledger hears.
        obj.refresh_derived()
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
        Relation.objects.filter(pk=obj.pk).update(version=F("version") + 1)
        if form.changed_data:
            TimelineEvent.record(
                obj, TimelineEvent.Kind.CHANGED, actor=request.user, fields=form.changed_data
            )
        if obj.is_client and set(form.changed_data) & LEDGER_FIELDS:
            Relation.objects.filter(pk=obj.pk).update(ledger_version=F("ledger_version") + 1)
            notify_ledger(obj)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if any(formset.has_changed() for formset in formsets):
            relation = form.instance
            values = {"search_text": relation.compose_search_text()}
            if relation.is_client:
                values["ledger_version"] = F("ledger_version") + 1
            Relation.objects.filter(pk=relation.pk).update(**values)
            notify_ledger(relation)


class DetailAdmin(NoDeleteAdmin):
    """Addresses and bank accounts are ledger data: edit them where the outbox hears of it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Address)
class AddressAdmin(DetailAdmin):
    list_display = [
        "relation",
        "type",
        "street",
        "house_number",
        "postcode",
        "city",
        "country",
        "is_default",
    ]
    list_filter = ["type", "country"]
    search_fields = ["street", "postcode", "city", "relation__display_name"]
    list_select_related = ["relation"]
    raw_id_fields = ["relation"]


@admin.register(BankAccount)
class BankAccountAdmin(DetailAdmin):
    list_display = ["relation", "iban", "bic", "bank_name", "holder", "is_default"]
    search_fields = ["iban", "holder", "relation__display_name"]
    list_select_related = ["relation"]
    raw_id_fields = ["relation"]


@admin.register(ServiceAgreement)
class ServiceAgreementAdmin(NoDeleteAdmin):
    list_display = ["relation", "service", "start_date", "end_date", "cancelled_at"]
    list_filter = ["service"]
    search_fields = ["relation__display_name", "relation__client_code"]
    list_select_related = ["relation"]
    raw_id_fields = ["relation"]


@admin.register(TimelineEvent)
class TimelineEventAdmin(NoDeleteAdmin):
    list_display = ["created_at", "relation", "kind", "actor"]
    list_filter = ["kind"]
    list_select_related = ["relation", "actor"]
    raw_id_fields = ["relation", "other_relation", "agreement"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # history is written by the services, never edited

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(TeamAssignment)
class TeamAssignmentAdmin(NoDeleteAdmin):
    """Read here; changed on the Team tab, where the relationship-manager rule is kept."""

    list_display = ["relation", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["relation__display_name", "user__username", "user__last_name"]
    list_select_related = ["relation", "user"]
    raw_id_fields = ["relation", "user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
