"""The Ledger tab on clients (state, retry, conflicts) and the owners' ledger settings page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from practice.access import change_required, owner_required
from practice.http import MemberRequest
from relations.models import Relation
from relations.views.common import get_relation, relation_action
from sync import crypto, outbox, services
from sync.forms import LedgerConnectionForm
from sync.mapping import customer_for, customer_from_dict
from sync.models import LedgerConnection, SyncState


def ledger_link_values(relation: Relation) -> dict[str, str]:
    """`{office_code}` of an office link (lookups.links): the ledger's office of the practice."""
    code = (
        LedgerConnection.objects.filter(practice_id=relation.practice_id)
        .values_list("office_code", flat=True)
        .first()
    )
    return {"office_code": code or ""}


def ledger_tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    state = SyncState.objects.filter(relation=relation).first()
    paused = LedgerConnection.objects.filter(
        practice_id=relation.practice_id, enabled=False
    ).exists()
    context: dict[str, Any] = {
        "sync_state": state,
        "ledger_dirty": False,
        "ledger_paused": paused,
        # Send now: for those who may change, unless the office paused pushing, staff must first
        # choose between two versions, or the push failed (Retry is its button then).
        "can_send_now": bool(
            request.membership
            and request.membership.can_change
            and not relation.is_archived
            and not paused
            and not (state and state.status in (SyncState.Status.CONFLICT, SyncState.Status.FAILED))
        ),
    }
    if state is None:
        return context
    context["ledger_dirty"] = relation.ledger_version > state.pushed_version
    if state.status == SyncState.Status.CONFLICT and state.remote_record:
        ours = customer_for(relation)
        theirs = customer_from_dict(state.remote_record)
        context["comparison"] = _compare(ours, theirs)
    return context


def _compare(ours, theirs) -> list[tuple[str, str, str, bool]]:
    def addresses(c):
        return "\n".join(
            f"{a.type}: {a.line}, {a.postcode} {a.city} {a.country}" for a in c.addresses
        )

    def banks(c):
        return "\n".join(f"{b.iban} {b.holder}" for b in c.banks)

    rows = [
        (_("Name"), ours.name, theirs.name),
        (_("Client code"), ours.code, theirs.code),
        (_("VAT number"), ours.vat_number, theirs.vat_number),
        (_("KvK number"), ours.kvk_number, theirs.kvk_number),
        (_("E-mail"), ours.email, theirs.email),
        (_("Website"), ours.website, theirs.website),
        (_("Addresses"), addresses(ours), addresses(theirs)),
        (_("Bank accounts"), banks(ours), banks(theirs)),
    ]
    return [(label, a, b, a != b) for label, a, b in rows]


def _action(request: MemberRequest, public_id: UUID, service, success: str) -> HttpResponse:
    return relation_action(
        request,
        public_id,
        lambda relation: service(relation=relation, user=request.user),
        success,
        then=lambda relation: reverse("relations-tab", args=[relation.public_id, "ledger"]),
    )


@require_POST
@change_required
def retry(request: MemberRequest, public_id: UUID) -> HttpResponse:
    return _action(request, public_id, services.retry, _("The push will be tried again."))


@require_POST
@change_required
def keep_kring(request: MemberRequest, public_id: UUID) -> HttpResponse:
    return _action(
        request, public_id, services.keep_kring, _("Kring's version will be sent to the ledger.")
    )


@require_POST
@change_required
def take_ledger(request: MemberRequest, public_id: UUID) -> HttpResponse:
    return _action(
        request, public_id, services.take_ledger, _("The ledger's version is now Kring's too.")
    )


@require_POST
@change_required
def send_now(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """Nu versturen: this client to the ledger now. With eager tasks (no broker) the push has run
    when the service returns; with a worker it is queued, and the message says which."""
    relation = get_relation(request, public_id, change=True)
    try:
        services.send_now(relation=relation, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if services.is_in_ledger(relation):
            messages.success(request, _("Sent to the ledger."))
        else:
            messages.info(
                request,
                _("Queued for the ledger; its state below shows when it has been sent."),
            )
    return redirect(reverse("relations-tab", args=[relation.public_id, "ledger"]))


@sensitive_post_parameters("client_secret", "refresh_token")
@require_http_methods(["GET", "POST"])
@owner_required
def ledger_settings(request: MemberRequest) -> HttpResponse:
    practice = request.membership.practice
    # Not connection_for(): a GET or a refused POST must not create the row.
    connection = LedgerConnection.objects.filter(practice=practice).first() or LedgerConnection(
        practice=practice
    )
    form = LedgerConnectionForm(
        request.POST if request.method == "POST" else None, instance=connection
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The ledger settings have been saved."))
        return redirect("sync-settings")
    counts = outbox.ledger_counts(practice)
    return render(
        request,
        "sync/settings.html",
        {
            "form": form,
            "connection": connection,
            "masked_secret": crypto.mask(connection.client_secret),
            "masked_refresh": crypto.mask(connection.refresh_token),
            "counts": [
                *((SyncState.Status(s).label, n) for s, n in counts.by_status.items()),
                (_("Due now"), counts.due),
            ],
            "adapters": LedgerConnection.Adapter,
        },
    )
