"""The Addresses, Bank accounts and Agreements tabs: lists with add, edit and remove/end.

Each form view serves two paths from the same code (relations/views/inline.py): with htmx the form
and the refreshed list are fragments of the tab template (`relations/tabs/<tab>.html#form` /
`#list`) swapped into the detail page; without JavaScript the form is a page of its own
(`relations/part_form.html`) and a valid POST redirects back to the tab.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from practice.access import member_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest
from relations import extensions, services
from relations.forms import AddressForm, BankAccountForm, ServiceAgreementForm
from relations.models import Address, BankAccount, Relation, ServiceAgreement
from relations.views import inline
from relations.views.common import get_relation

Status = ServiceAgreement.Status


def address_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    """What relations/tabs/addresses.html needs besides `relation`: one query."""
    rank = {value: i for i, value in enumerate(Address.Type.values)}
    addresses = sorted(
        relation.addresses.all(), key=lambda a: (rank[a.type], not a.is_default, a.pk)
    )
    return {"can_change": inline.can_change(request, relation), "addresses": addresses}


def bank_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    return {
        "can_change": inline.can_change(request, relation),
        "bank_accounts": list(relation.bank_accounts.all()),
    }


def agreement_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    """One rule, ServiceAgreement.status: running, not started yet, and ended or cancelled; each a
    table of the tab (relations/tabs/agreements.html#table), in this order. One query."""
    by_status: dict[str, list[ServiceAgreement]] = {value: [] for value in Status.values}
    if relation.is_client:
        today = timezone.localdate()
        for agreement in relation.agreements.all():
            by_status[agreement.status(today)].append(agreement)
    running = by_status[Status.RUNNING]
    planned = by_status[Status.PLANNED]
    ended = by_status[Status.ENDED] + by_status[Status.CANCELLED]
    return {
        "can_change": inline.can_change(request, relation),
        "running_agreements": running,
        "planned_agreements": planned,
        "ended_agreements": ended,
        # (status, heading, rows of (agreement, the End button's question)): "In progress" is
        # shown even when empty, with the empty state.
        "agreement_tables": [
            (status, status.label, [(a, end_question(a) if ends else "") for a in rows])
            for status, rows, ends in (
                (Status.RUNNING, running, True),
                (Status.PLANNED, planned, True),
                (Status.ENDED, ended, False),
            )
        ],
    }


TAB_CONTEXTS = {
    "addresses": address_context,
    "banks": bank_context,
    "agreements": agreement_context,
}


def tab_context(request: MemberRequest, relation: Relation, tab: str) -> dict[str, Any]:
    """What `relations/tabs/<tab>.html` needs besides `relation`; one query per tab."""
    if tab not in TAB_CONTEXTS:
        raise ValueError(f"No such tab: {tab}")
    return TAB_CONTEXTS[tab](request, relation)


def end_question(agreement: ServiceAgreement) -> str:
    """What the End button's dialog (`data-confirm`) and the confirm page ask."""
    if agreement.status() == Status.PLANNED:
        return _("Cancel the agreement %(service)s? It has not started and never will.") % {
            "service": agreement.get_service_display()
        }
    return _("End the agreement %(service)s today?") % {"service": agreement.get_service_display()}


# --- addresses -----------------------------------------------------------------------------------


def remove_address_question(address: Address) -> str:
    """The question the confirm page and the row's dialog (`data-confirm`) both ask."""
    return _("Remove the address %(address)s?") % {"address": address.single_line}


def remove_bank_question(account: BankAccount) -> str:
    return _("Remove the bank account %(iban)s?") % {"iban": account.formatted_iban}


@require_http_methods(["GET", "POST"])
@member_required
def address_form(request: MemberRequest, public_id: UUID, pk: int | None = None) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    address = get_object_or_404(relation.addresses, pk=pk) if pk else Address(relation=relation)
    if refused := inline.refuse_if_archived(request, relation, "addresses"):
        return refused
    if pk:
        action = reverse("relations-address-edit", args=[relation.public_id, pk])
        title = _("Edit address")
    else:
        action = reverse("relations-address-new", args=[relation.public_id])
        title = _("Add address")
    finder = extensions.address_finder_for(relation.practice_id)
    extra: dict[str, Any] = {"form_actions": ADDRESS_LOOKUP_BUTTON} if finder else {}
    if finder and request.method == "POST" and request.POST.get("lookup"):
        form, proposal = propose_address(request, relation, address, finder)
        return inline.render_form(
            request,
            relation,
            "addresses",
            form,
            action=action,
            title=title,
            form_before=ADDRESS_PROPOSAL,
            proposal=proposal,
            **extra,
        )
    form = AddressForm(request.POST if request.method == "POST" else None, instance=address)
    if form.is_bound and form.is_valid():
        if not pk:
            services.save_address(relation=relation, user=request.user, address=form.instance)
            return inline.done(request, relation, "addresses", _("Address added."))
        with transaction.atomic():
            current = relation.addresses.select_for_update().get(pk=pk)
            merge = form.merge_with(current, base_is_current=form.loaded_raw() is None)
            if not merge.conflicts:
                # What this person changed, laid over the address as it is now.
                for name in merge.mine:
                    setattr(current, name, form.cleaned_data[name])
                if merge.mine:
                    services.save_address(
                        relation=relation, user=request.user, address=current, changed=merge.mine
                    )
                return inline.done(request, relation, "addresses", _("Address saved."))
        form.show_conflict(current, merge)
        form.add_error(
            None,
            _(
                "Someone changed this address meanwhile, and changed the same fields as you: "
                "%(fields)s. Nothing was saved yet. Your values are in the form, what was saved "
                "is shown below; every other field already holds the current value. Check them "
                "and save again."
            )
            % {"fields": ", ".join(str(label) for label, _value in form.conflicting)},
        )
    return inline.render_form(
        request, relation, "addresses", form, action=action, title=title, **extra
    )


ADDRESS_LOOKUP_BUTTON = "relations/_address_lookup_button.html"
ADDRESS_PROPOSAL = "relations/_address_proposal.html"
PROPOSED_FIELDS = ("street", "city")


def propose_address(
    request: MemberRequest,
    relation: Relation,
    address: Address,
    finder: extensions.AddressFinder,
) -> tuple[AddressForm, dict[str, Any]]:
    """ "Look up address" (a submit button of the address form, so it works without JavaScript):
    the form again with what was typed, and the register's street and city proposed where nothing
    was typed. A typed value that differs is kept and shown beside the register's, which the
    "Use the register's" button (lookup=take) puts in. Nothing is saved; a register that cannot
    answer is said to be unavailable, and the form is as usable as before."""
    posted = request.POST
    names = [name for name in AddressForm.base_fields if name != "is_default"]
    initial: dict[str, Any] = {name: posted.get(name, "") for name in names}
    initial["is_default"] = bool(posted.get("is_default"))
    postcode = initial["postcode"].strip()
    number = initial["house_number"].strip()
    country = initial["country"].strip().upper()
    proposal: dict[str, Any] = {"level": "error", "kept": []}
    if not postcode or not number:
        proposal["message"] = _("Fill in the postcode and house number first.")
    elif country not in ("", "NL"):
        proposal["message"] = _("The address look-up knows Dutch addresses only.")
    else:
        try:
            found = finder.find(
                relation.practice_id, postcode, number, initial["house_number_addition"].strip()
            )
        except extensions.LookupFailed as exc:
            proposal["message"] = (
                _("This is not a Dutch postcode and house number.")
                if exc.refused
                else _("Address look-up is not available right now; type the street and city.")
            )
        else:
            if found is None:
                proposal["message"] = _("No address found for this postcode and house number.")
            else:
                take = posted.get("lookup") == "take"
                for name in PROPOSED_FIELDS:
                    typed = initial[name].strip()
                    value = getattr(found, name)
                    if take or not typed:
                        initial[name] = value
                    elif typed != value:
                        label = AddressForm.base_fields[name].label or name
                        proposal["kept"].append((label, typed, value))
                proposal["level"] = "success"
                proposal["message"] = _(
                    "Found in %(source)s: %(street)s, %(city)s. Check the address and save it."
                ) % {"source": found.source, "street": found.street, "city": found.city}
    form = AddressForm(instance=address, initial=initial)
    if "loaded" in form.fields:
        form.initial["loaded"] = posted.get("loaded", form.fields["loaded"].initial)
    return form, proposal


def _ask_removal(
    request: MemberRequest,
    relation: Relation,
    tab: str,
    title: str,
    question: str,
    details: list[str],
) -> HttpResponse:
    """The confirm page (or, with JavaScript, the dialog's fallback) before a part is removed."""
    return ask(
        request,
        Confirmation(
            title=title,
            question=question,
            button=_("Remove"),
            cancel_url=inline.tab_url(relation, tab),
            relation=relation,
            details=details,
        ),
    )


@require_http_methods(["GET", "POST"])
@member_required
def address_remove(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    address = get_object_or_404(relation.addresses, pk=pk)
    if refused := inline.refuse_if_archived(request, relation, "addresses"):
        return refused
    if not is_confirmed(request):
        details = [_("The address is deleted; the timeline records that it was removed.")]
        if address.is_default and relation.addresses.filter(type=address.type).count() > 1:
            details.append(_("Another address of this type becomes the default."))
        if relation.is_client:
            details.append(_("The ledger is updated."))
        return _ask_removal(
            request,
            relation,
            "addresses",
            _("Remove address"),
            remove_address_question(address),
            details,
        )
    services.remove_address(relation=relation, user=request.user, address=address)
    return inline.done(request, relation, "addresses", _("Address removed."))


# --- bank accounts -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def bank_form(request: MemberRequest, public_id: UUID, pk: int | None = None) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    account = (
        get_object_or_404(relation.bank_accounts, pk=pk) if pk else BankAccount(relation=relation)
    )
    if refused := inline.refuse_if_archived(request, relation, "banks"):
        return refused
    if pk:
        action = reverse("relations-bank-edit", args=[relation.public_id, pk])
        title = _("Edit bank account")
    else:
        action = reverse("relations-bank-new", args=[relation.public_id])
        title = _("Add bank account")
    form = BankAccountForm(
        request.POST if request.method == "POST" else None, instance=account, relation=relation
    )
    if form.is_bound and form.is_valid():
        services.save_bank_account(
            relation=relation,
            user=request.user,
            account=form.instance,
            changed=[n for n in form.changed_data if n != "confirm_duplicates"],
        )
        return inline.done(
            request, relation, "banks", _("Bank account saved.") if pk else _("Bank account added.")
        )
    return inline.render_form(request, relation, "banks", form, action=action, title=title)


@require_http_methods(["GET", "POST"])
@member_required
def bank_remove(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    account = get_object_or_404(relation.bank_accounts, pk=pk)
    if refused := inline.refuse_if_archived(request, relation, "banks"):
        return refused
    if not is_confirmed(request):
        details = [_("The bank account is deleted; the timeline records that it was removed.")]
        if account.is_default and relation.bank_accounts.count() > 1:
            details.append(_("Another bank account becomes the default."))
        if relation.is_client:
            details.append(_("The ledger is updated."))
        return _ask_removal(
            request,
            relation,
            "banks",
            _("Remove bank account"),
            remove_bank_question(account),
            details,
        )
    services.remove_bank_account(relation=relation, user=request.user, account=account)
    return inline.done(request, relation, "banks", _("Bank account removed."))


# --- service agreements --------------------------------------------------------------------------


def _end_confirmation(relation: Relation, agreement: ServiceAgreement) -> Confirmation:
    """Ending one that runs ends it today; ending one that has not started cancels it."""
    planned = agreement.status() == Status.PLANNED
    start = formats.date_format(agreement.start_date, "SHORT_DATE_FORMAT")
    if planned:
        said = _(
            "This agreement has not started yet (it would start on %(start)s). Cancelling "
            "withdraws it: it never started and never runs. It is kept, listed under Ended as "
            "cancelled, and the timeline records who cancelled it."
        ) % {"start": start}
    else:
        said = _(
            "The agreement ends today (%(today)s): from today it no longer runs. It is kept under "
            "Ended and the timeline records who ended it."
        ) % {"today": formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")}
    end = agreement.end_date
    return Confirmation(
        title=_("Cancel agreement") if planned else _("End agreement"),
        question=end_question(agreement),
        button=_("Cancel agreement") if planned else _("End today"),
        cancel_url=inline.tab_url(relation, "agreements"),
        cancel_label=_("Back"),
        relation=relation,
        listed=[
            (_("Service"), agreement.get_service_display()),
            (_("Start date"), start),
            (_("End date"), formats.date_format(end, "SHORT_DATE_FORMAT") if end else "—"),
        ],
        details=[said],
    )


@require_http_methods(["GET", "POST"])
@member_required
def agreement_form(request: MemberRequest, public_id: UUID, pk: int | None = None) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    agreement = (
        get_object_or_404(relation.agreements, pk=pk)
        if pk
        else ServiceAgreement(relation=relation, practice_id=relation.practice_id)
    )
    if refused := inline.refuse_if_archived(request, relation, "agreements"):
        return refused
    if not relation.is_client:
        messages.error(request, _("Only clients have service agreements."))
        return inline.back_to_tab(request, relation, "agreements")
    if pk:
        action = reverse("relations-agreement-edit", args=[relation.public_id, pk])
        title = _("Edit agreement")
    else:
        action = reverse("relations-agreement-new", args=[relation.public_id])
        title = _("Add agreement")
    form = ServiceAgreementForm(
        request.POST if request.method == "POST" else None, instance=agreement
    )
    if form.is_bound and form.is_valid():
        if pk:
            services.change_agreement(
                agreement=form.instance, user=request.user, changed=form.changed_data
            )
        else:
            services.add_agreement(relation=relation, user=request.user, agreement=form.instance)
        return inline.done(
            request, relation, "agreements", _("Agreement saved.") if pk else _("Agreement added.")
        )
    return inline.render_form(request, relation, "agreements", form, action=action, title=title)


@require_http_methods(["GET", "POST"])
@member_required
def agreement_end(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    """A GET, or a POST without confirmed=1, shows the confirm page (what ending does: end today, or
    cancel one not started yet) and changes nothing; the confirmed POST does it. With JavaScript the
    tab's button asks in a dialog and posts confirmed=1 itself (static/js/confirm.js)."""
    relation = get_relation(request, public_id, change=True)
    agreement = get_object_or_404(relation.agreements, pk=pk)
    if refused := inline.refuse_if_archived(request, relation, "agreements"):
        return refused
    status = agreement.status()
    confirmed = is_confirmed(request)
    if not confirmed and status in (Status.ENDED, Status.CANCELLED):
        messages.error(
            request,
            _("This agreement was cancelled already.")
            if status == Status.CANCELLED
            else _("This agreement has ended already."),
        )
        return inline.back_to_tab(request, relation, "agreements")
    if not confirmed:
        return ask(request, _end_confirmation(relation, agreement))
    try:
        agreement = services.end_agreement(agreement=agreement, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return inline.back_to_tab(request, relation, "agreements")
    if agreement.cancelled_at is not None:
        return inline.done(
            request, relation, "agreements", _("Agreement cancelled. It never started.")
        )
    return inline.done(request, relation, "agreements", _("Agreement ended."))
