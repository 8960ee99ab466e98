"""What staff do on a client's Ledger tab: retry a failed push, send now, and settle a conflict
by keeping Kring's version or taking the ledger's.

Each action leaves the client due (or, taking the ledger's, in step with it) and nudges the drain
(sync.drain) once it commits; the drain does the pushing.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from relations.models import Address, BankAccount, Relation, TimelineEvent
from sync.adapters.base import LedgerCustomer
from sync.mapping import address_from, bank_from, customer_from_dict
from sync.models import LedgerConnection, SyncState
from sync.wake import nudge

# --- what staff do on the Ledger tab -------------------------------------------------------------


def _state_for_update(relation: Relation) -> SyncState:
    state = SyncState.objects.select_for_update().filter(relation=relation).first()
    if state is None:
        raise ValidationError(_("This client has not been sent to the ledger yet."))
    return state


@transaction.atomic
def retry(*, relation: Relation, user: AbstractBaseUser) -> None:
    state = _state_for_update(relation)
    if state.status != SyncState.Status.FAILED:
        raise ValidationError(_("Only a failed push can be retried."))
    SyncState.objects.filter(pk=state.pk).update(
        status=SyncState.Status.PENDING, attempts=0, next_attempt_at=None, failed_version=0
    )
    # Make the row due even when nothing changed since the failure.
    if relation.ledger_version <= state.pushed_version:
        Relation.objects.filter(pk=relation.pk).update(ledger_version=F("ledger_version") + 1)
    _nudge(relation.practice_id)


@transaction.atomic
def send_now(*, relation: Relation, user: AbstractBaseUser) -> None:
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
    Relation.objects.filter(pk=relation.pk, ledger_version__lte=state.pushed_version).update(
        ledger_version=F("ledger_version") + 1
    )
    _nudge(relation.practice_id)


def is_in_ledger(relation: Relation) -> bool:
    """The ledger holds the client as Kring has it now (its last change pushed)."""
    return SyncState.objects.filter(
        relation=relation,
        status=SyncState.Status.SYNCED,
        pushed_version__gte=F("relation__ledger_version"),
    ).exists()


@transaction.atomic
def keep_kring(*, relation: Relation, user: AbstractBaseUser) -> None:
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
    if relation.ledger_version <= state.pushed_version:
        Relation.objects.filter(pk=relation.pk).update(ledger_version=F("ledger_version") + 1)
    TimelineEvent.record(relation, TimelineEvent.Kind.CHANGED, actor=user, fields=["ledger"])
    _nudge(relation.practice_id)


@transaction.atomic
def take_ledger(*, relation: Relation, user: AbstractBaseUser) -> None:
    """Conflict resolved in the ledger's favour: its name, numbers, addresses and banks become Kring's."""
    state = _state_for_update(relation)
    if state.status != SyncState.Status.CONFLICT or not state.remote_record:
        raise ValidationError(_("There is no conflict to resolve."))
    remote = customer_from_dict(state.remote_record)
    relation = Relation.objects.select_for_update().get(pk=relation.pk)
    apply_customer(relation, remote)
    relation.updated_by = user
    relation.updated_at = timezone.now()
    relation.version = F("version") + 1
    relation.save()
    relation.refresh_from_db()
    relation.search_text = relation.compose_search_text()
    relation.save(update_fields=["search_text"])
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
    TimelineEvent.record(
        relation,
        TimelineEvent.Kind.CHANGED,
        actor=user,
        fields=["display_name", "addresses", "bank_accounts", "vat_number", "kvk_number", "email"],
    )


def apply_customer(relation: Relation, customer: LedgerCustomer, *, details: bool = True) -> None:
    """Make the relation (saved by the caller) and its addresses and banks hold the ledger's record;
    `details=False` sets the relation's fields only (the import replaces a chunk's details at once)."""
    if relation.is_company:
        relation.legal_name = customer.name
        relation.trade_name = ""
        relation.vat_number = customer.vat_number
        relation.kvk_number = customer.kvk_number
    else:
        relation.last_name = customer.name
        relation.first_name = relation.initials = relation.name_prefix = ""
    relation.email = customer.email
    relation.website = customer.website
    relation.display_name = customer.name
    if relation.pk and details:
        relation.addresses.all().delete()
        relation.bank_accounts.all().delete()
        _store_details(relation, customer)


def _store_details(relation: Relation, customer: LedgerCustomer) -> None:
    seen_default: set[str] = set()
    addresses = []
    for ledger_address in customer.addresses:
        address = address_from(ledger_address, relation)
        address.is_default = address.is_default and address.type not in seen_default
        seen_default.add(address.type) if address.is_default else None
        addresses.append(address)
    Address.objects.bulk_create(addresses)
    banks, ibans, has_default = [], set(), False
    for ledger_bank in customer.banks:
        if ledger_bank.iban in ibans:
            continue
        ibans.add(ledger_bank.iban)
        bank = bank_from(ledger_bank, relation)
        bank.is_default = bank.is_default and not has_default
        has_default = has_default or bank.is_default
        banks.append(bank)
    BankAccount.objects.bulk_create(banks)


def _nudge(practice_id: int) -> None:
    transaction.on_commit(partial(nudge, practice_id))
