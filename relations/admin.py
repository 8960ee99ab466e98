"""Owners' maintenance. Relations are never deleted, here or anywhere: no delete permission, no action."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from practice.forms import PlainTextModelForm
from relations import services
from relations.models import (
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
    TimelineEvent,
)
from relations.rules import ARCHIVED_READ_ONLY
from relations.services import StaleVersion, update_relation

STALE_MESSAGE = _(
    "Someone else saved this relation after you opened it. Your changes were not saved: "
    "make them again on the relation as it is now."
)


class RelationAdminForm(PlainTextModelForm):
    """The change form remembers the version it was opened with, for `update_relation`'s lock."""

    loaded_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loaded_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        stored = Relation.objects.filter(pk=self.instance.pk).values("version", "archived_at")[0]
        if stored["archived_at"] is not None:
            raise forms.ValidationError(ARCHIVED_READ_ONLY, code="archived")
        if cleaned.get("loaded_version") != stored["version"]:
            raise forms.ValidationError(STALE_MESSAGE, code="stale")
        return cleaned


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
    form = RelationAdminForm
    inlines = [AddressInline, BankAccountInline]

    def has_add_permission(self, request) -> bool:
        return False  # new relations get their client code from the practice's sequence in the app

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.code_frozen:
            fields.append("client_code")
        return fields

    def save_model(self, request, obj, form, change) -> None:
        # An admin edit is a change like any other: through `update_relation`, so with its
        # optimistic lock on the version the form was opened with, the timeline and the outbox.
        changed = [name for name in form.changed_data if name != "loaded_version"]
        update_relation(
            relation=obj,
            user=request.user,
            version=form.cleaned_data["loaded_version"],
            changed=changed,
        )

    def save_formset(self, request, form, formset, change) -> None:
        # Addresses and bank accounts through their services too: one default per type, the
        # timeline, search text and the outbox, exactly as on the relation's tabs.
        relation, user = form.instance, request.user
        formset.save(commit=False)
        if formset.model is Address:
            for address in formset.deleted_objects:
                services.remove_address(relation=relation, user=user, address=address)
            for address in formset.new_objects:
                services.save_address(relation=relation, user=user, address=address)
            for address, changed in formset.changed_objects:
                services.save_address(
                    relation=relation, user=user, address=address, changed=changed
                )
        else:
            for account in formset.deleted_objects:
                services.remove_bank_account(relation=relation, user=user, account=account)
            for account in formset.new_objects:
                services.save_bank_account(relation=relation, user=user, account=account)
            for account, changed in formset.changed_objects:
                services.save_bank_account(
                    relation=relation, user=user, account=account, changed=changed
                )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleVersion:
            # Saved by someone else between this form's checks and its write: the whole admin
            # save was rolled back; the fresh form shows what is stored now.
            messages.error(request, STALE_MESSAGE)
            return HttpResponseRedirect(request.get_full_path())


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


@admin.register(TeamRole)
class TeamRoleAdmin(NoDeleteAdmin):
    """Read here; the owner keeps the roles on Kantoor → Teamrollen (relations.roles), where the
    required role and the roles in use are kept."""

    list_display = ["practice", "key", "name", "position", "active", "required"]
    list_filter = ["active"]
    list_select_related = ["practice"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
