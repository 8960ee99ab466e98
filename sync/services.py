"""What staff do on a client's Ledger tab: retry a failed push, send now, and settle a conflict
by keeping Kring's version or taking the ledger's.

Each action leaves the client due (or, taking the ledger's, in step with it) and nudges the drain
(sync.drain) once it commits; the drain does the pushing.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from relations.changes import make_due
from relations.intake import update_from_ledger
from relations.models import Relation, TimelineEvent
from sync.mapping import (
    customer_from_dict,
    record_from,
)
from sync.models import LedgerConnection, SyncState
from sync.wake import nudge

# --- what staff do on the Ledger tab -------------------------------------------------------------


def _state_for_update(relation: Relation) -> SyncState:
    state = SyncState.objects.select_for_update().filter(relation=relation).first()
    if state is None:
        raise ValidationError(_("This client has not been sent to the ledger yet."))
    return state


@transaction.atomic
def retry(*, relation: Relation, user: User) -> None:
    state = _state_for_update(relation)
    if state.status != SyncState.Status.FAILED:
        raise ValidationError(_("Only a failed push can be retried."))
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.PENDING, attempts=0, next_attempt_at=None, failed_version=0
    )
    # Make the row due even when nothing changed since the failure.
    make_due(relation, pushed_version=state.pushed_version)
    _nudge(relation.practice_id)


@transaction.atomic
def send_now(*, relation: Relation, user: User) -> None:
    """Send this client to the ledger now: due at once (a retry waited out, a refused push tried
    again, an unchanged client sent again), and a drain nudged once this commits. A conflict is
    staff's to resolve first; a paused office sends nothing."""
    if not relation.is_client:
        raise ValidationError(_("Only clients are sent to the ledger."))
    ledger = LedgerConnection.objects.filter(practice_id=relation.practice_id).first()
    if ledger is not None and not ledger.enabled:
        raise ValidationError(
            _(
                "Sending to the ledger is paused for this office. "
                "An owner can switch it back on in the ledger settings."
            )
        )
    SyncState.objects.get_or_create(
        relation=relation, defaults={"practice_id": relation.practice_id}
    )
    state = _state_for_update(relation)
    if state.status == SyncState.Status.CONFLICT:
        raise ValidationError(_("Choose which version wins first; then it is sent."))
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.PENDING, attempts=0, next_attempt_at=None, failed_version=0
    )
    make_due(relation, pushed_version=state.pushed_version)
    _nudge(relation.practice_id)


def is_in_ledger(relation: Relation) -> bool:
    """The ledger holds the client as Kring has it now (its last change pushed)."""
    return SyncState.objects.filter(
        relation=relation,
        status=SyncState.Status.SYNCED,
        pushed_version__gte=F("relation__ledger_version"),
    ).exists()


@transaction.atomic
def keep_kring(*, relation: Relation, user: User) -> None:
    """Conflict resolved in Kring's favour: the next push overwrites the ledger's change."""
    state = _state_for_update(relation)
    if state.status != SyncState.Status.CONFLICT:
        raise ValidationError(_("There is no conflict to resolve."))
    remote = customer_from_dict(state.remote_record) if state.remote_record else None
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.PENDING,
        remote_fingerprint=remote.fingerprint() if remote else "",
        attempts=0,
        next_attempt_at=None,
    )
    make_due(relation, pushed_version=state.pushed_version)
    TimelineEvent.record(relation, TimelineEvent.Kind.CHANGED, actor=user, fields=["ledger"])
    _nudge(relation.practice_id)


# What "take the ledger's" names on the timeline: what a debtor record holds.
TAKEN_FIELDS = ("display_name", "addresses", "bank_accounts", "vat_number", "kvk_number", "email")


@transaction.atomic
def take_ledger(*, relation: Relation, user: User) -> None:
    """Conflict resolved in the ledger's favour: its name, numbers, addresses and banks become Kring's
    (through relations.intake, as the import takes them)."""
    state = _state_for_update(relation)
    if state.status != SyncState.Status.CONFLICT or not state.remote_record:
        raise ValidationError(_("There is no conflict to resolve."))
    remote = customer_from_dict(state.remote_record)
    relation = Relation.objects.select_for_update().get(pk=relation.pk)
    record = record_from(remote, company=relation.is_company)
    update_from_ledger(user=user, changes=[(relation, record, TAKEN_FIELDS)])
    fingerprint = remote.fingerprint()
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.SYNCED,
        pushed_version=relation.ledger_version,
        pushed_fingerprint=fingerprint,
        remote_fingerprint=fingerprint,
        attempts=0,
        next_attempt_at=None,
        last_error="",
    )


def _nudge(practice_id: int) -> None:
    transaction.on_commit(partial(nudge, practice_id))
