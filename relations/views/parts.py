"""The Addresses, Bank accounts and Agreements tabs: lists with add, edit and remove/end.

Each form view serves two paths from the same code: with htmx the form and the refreshed list are
fragments of the tab template (`relations/tabs/<tab>.html#form` / `#list`) swapped into the detail
page; without JavaScript the form is a page of its own (`relations/part_form.html`) and a valid POST
redirects back to the tab.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from practice.access import member_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest
from relations import services
from relations.forms import AddressForm, BankAccountForm, ServiceAgreementForm
from relations.models import Address, BankAccount, Relation, ServiceAgreement
from relations.views.common import get_relation

TABS = ("addresses", "banks", "agreements")
Status = ServiceAgreement.Status


def tab_context(request: MemberRequest, relation: Relation, tab: str) -> dict[str, Any]:
    """What `relations/tabs/<tab>.html` needs besides `relation`; one query per tab."""
    context: dict[str, Any] = {"can_change": _can_change(request, relation)}
    if tab == "addresses":
        rank = {value: i for i, value in enumerate(Address.Type.values)}
        context["addresses"] = sorted(
            relation.addresses.all(), key=lambda a: (rank[a.type], not a.is_default, a.pk)
        )
    elif tab == "banks":
        context["bank_accounts"] = list(relation.bank_accounts.all())
    elif tab == "agreements":
        # One rule, ServiceAgreement.status: running, not started yet, and ended or cancelled.
        by_status: dict[str, list[ServiceAgreement]] = {value: [] for value in Status.values}
        if relation.is_client:
            today = timezone.localdate()
            for agreement in relation.agreements.all():
                by_status[agreement.status(today)].append(agreement)
        context["running_agreements"] = by_status[Status.RUNNING]
        context["planned_agreements"] = by_status[Status.PLANNED]
        context["ended_agreements"] = by_status[Status.ENDED] + by_status[Status.CANCELLED]
    else:
        raise ValueError(f"No such tab: {tab}")
    return context


# --- responses shared by the three tabs ----------------------------------------------------------


def _can_change(request: MemberRequest, relation: Relation) -> bool:
    membership = request.membership
    return bool(membership and membership.can_change and not relation.is_archived)


def _tab_url(relation: Relation, tab: str) -> str:
    return reverse("relations-tab", args=[relation.public_id, tab])


def _back_to_tab(request: MemberRequest, relation: Relation, tab: str) -> HttpResponse:
    """A full navigation to the tab, which shows the queued message."""
    url = _tab_url(relation, tab)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _refuse_if_archived(
    request: MemberRequest, relation: Relation, tab: str
) -> HttpResponse | None:
    if relation.is_archived:
        messages.error(request, _("This relation is archived. Restore it before changing it."))
        return _back_to_tab(request, relation, tab)
    return None


def _render_form(
    request: MemberRequest,
    relation: Relation,
    tab: str,
    form: forms.ModelForm,
    *,
    action: str,
    title: str,
) -> HttpResponse:
    context = {
        "relation": relation,
        "tab": tab,
        "form": form,
        "action": action,
        "title": title,
        "cancel_url": _tab_url(relation, tab),
    }
    if request.htmx:
        # 200 even with errors: htmx 2 does not swap 4xx responses by default.
        return render(request, f"relations/tabs/{tab}.html#form", {**context, "inline": True})
    return render(
        request,
        "relations/part_form.html",
        {**context, "form_template": f"relations/tabs/{tab}.html#form"},
    )


def _done(request: MemberRequest, relation: Relation, tab: str, message: str) -> HttpResponse:
    """After a change: the refreshed list in place of the form (htmx), else POST/redirect/GET."""
    messages.success(request, message)
    if not request.htmx:
        return redirect(_tab_url(relation, tab))
    context = {
        "relation": relation,
        **tab_context(request, relation, tab),
        # Shown inside the fragment and so consumed here, not on the next full page.
        "inline_messages": messages.get_messages(request),
    }
    response = render(request, f"relations/tabs/{tab}.html#list", context)
    return reswap(retarget(response, f"#{tab}-list"), "outerHTML")


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
    if refused := _refuse_if_archived(request, relation, "addresses"):
        return refused
    if pk:
        action = reverse("relations-address-edit", args=[relation.public_id, pk])
        title = _("Edit address")
    else:
        action = reverse("relations-address-new", args=[relation.public_id])
        title = _("Add address")
    form = AddressForm(request.POST if request.method == "POST" else None, instance=address)
    if form.is_bound and form.is_valid():
        if not pk:
            services.save_address(relation=relation, user=request.user, address=form.instance)
            return _done(request, relation, "addresses", _("Address added."))
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
                return _done(request, relation, "addresses", _("Address saved."))
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
    return _render_form(request, relation, "addresses", form, action=action, title=title)


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
            cancel_url=_tab_url(relation, tab),
            relation=relation,
            details=details,
        ),
    )


@require_http_methods(["GET", "POST"])
@member_required
def address_remove(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    address = get_object_or_404(relation.addresses, pk=pk)
    if refused := _refuse_if_archived(request, relation, "addresses"):
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
    return _done(request, relation, "addresses", _("Address removed."))


# --- bank accounts -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def bank_form(request: MemberRequest, public_id: UUID, pk: int | None = None) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    account = (
        get_object_or_404(relation.bank_accounts, pk=pk) if pk else BankAccount(relation=relation)
    )
    if refused := _refuse_if_archived(request, relation, "banks"):
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
        return _done(
            request, relation, "banks", _("Bank account saved.") if pk else _("Bank account added.")
        )
    return _render_form(request, relation, "banks", form, action=action, title=title)


@require_http_methods(["GET", "POST"])
@member_required
def bank_remove(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    account = get_object_or_404(relation.bank_accounts, pk=pk)
    if refused := _refuse_if_archived(request, relation, "banks"):
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
    return _done(request, relation, "banks", _("Bank account removed."))


# --- service agreements --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def agreement_form(request: MemberRequest, public_id: UUID, pk: int | None = None) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    agreement = (
        get_object_or_404(relation.agreements, pk=pk)
        if pk
        else ServiceAgreement(relation=relation, practice_id=relation.practice_id)
    )
    if refused := _refuse_if_archived(request, relation, "agreements"):
        return refused
    if not relation.is_client:
        messages.error(request, _("Only clients have service agreements."))
        return _back_to_tab(request, relation, "agreements")
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
        return _done(
            request, relation, "agreements", _("Agreement saved.") if pk else _("Agreement added.")
        )
    return _render_form(request, relation, "agreements", form, action=action, title=title)


@require_http_methods(["GET", "POST"])
@member_required
def agreement_end(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    """A GET, or a POST without confirmed=1, shows the confirm page (what ending does: end today, or
    cancel one not started yet) and changes nothing; the confirmed POST does it. With JavaScript the
    tab's button asks in a dialog and posts confirmed=1 itself (static/js/confirm.js)."""
    relation = get_relation(request, public_id, change=True)
    agreement = get_object_or_404(relation.agreements, pk=pk)
    if refused := _refuse_if_archived(request, relation, "agreements"):
        return refused
    status = agreement.status()
    confirmed = request.method == "POST" and request.POST.get("confirmed") == "1"
    if not confirmed and status in (Status.ENDED, Status.CANCELLED):
        messages.error(
            request,
            _("This agreement was cancelled already.")
            if status == Status.CANCELLED
            else _("This agreement has ended already."),
        )
        return _back_to_tab(request, relation, "agreements")
    if not confirmed:
        if request.htmx and request.method == "POST":
            # An inline button posted without the dialog: the confirm page, as a page.
            return HttpResponseClientRedirect(request.get_full_path())
        return render(
            request,
            "relations/agreement_end_confirm.html",
            {
                "relation": relation,
                "agreement": agreement,
                "status": status,
                "Status": Status,
                "today": timezone.localdate(),
                "action": reverse("relations-agreement-end", args=[relation.public_id, pk]),
                "cancel_url": _tab_url(relation, "agreements"),
            },
        )
    try:
        agreement = services.end_agreement(agreement=agreement, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back_to_tab(request, relation, "agreements")
    if agreement.cancelled_at is not None:
        return _done(request, relation, "agreements", _("Agreement cancelled. It never started."))
    return _done(request, relation, "agreements", _("Agreement ended."))
