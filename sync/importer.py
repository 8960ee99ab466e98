"""Importing every debtor of the ledger into Kring: at go-live, and again any time (DESIGN §5).

Debtors are matched on code within the practice, as strings ("0042" is not "42"). They are read from
the adapter and written in chunks; each chunk commits in its own transaction together with the run's
progress, so a crash leaves the finished chunks in place and the next run simply goes on: a code
Kring holds is never created twice, and a debtor equal to what Kring last saw is not written at all.

A debtor Kring cannot take (no code, no name) is reported with its code and reason and the run goes
on; a bad value on an otherwise good debtor (an invalid IBAN, an e-mail address that is not one) is
left out and reported. A chunk the database still refuses is redone one debtor at a time, so that one
bad row costs only itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from practice.models import Practice
from relations import bulk, intake
from relations.identifiers import (
    validate_bic,
    validate_dutch_postcode,
    validate_iban,
    validate_kvk_number,
    validate_vat_number,
)
from relations.intake import LedgerRecord
from relations.models import BankAccount, Relation
from sync.adapters import adapter_for
from sync.adapters.base import (
    LedgerAdapter,
    LedgerBank,
    LedgerCustomer,
    LedgerError,
    Waited,
    chunks,
)
from sync.feed import start_change_feed
from sync.mapping import customer_from_dict, customer_to_dict, looks_like_company, record_from
from sync.models import ImportRun, SyncState
from sync.models import set_per_row as set_sync_states

CHUNK_SIZE = 500
# The report lists every failure, every kept change and every debtor with a warning (up to
# NOTABLE_LIMIT: an office with 100,000 broken e-mail addresses does not need them all in one row),
# and the first PLAIN_LIMIT of the rest, which are only there to show what the run did.
PLAIN_LIMIT = 1_000
NOTABLE_LIMIT = 10_000

Progress = Callable[[int, int], None]

_field_length = {f.name: f.max_length for f in Relation._meta.fields if f.max_length}
CODE_MAX = _field_length["client_code"]
COMPANY_NAME_MAX = min(_field_length["legal_name"], _field_length["display_name"])
PRIVATE_NAME_MAX = _field_length["last_name"]
VAT_MAX = _field_length["vat_number"]
WEBSITE_MAX = _field_length["website"]
BIC_MAX: int = BankAccount._meta.get_field("bic").max_length or 11

# A debtor's fields as the timeline names them (names of fields, never their values).
CHANGED_FIELDS = {
    "name": "display_name",
    "addresses": "addresses",
    "banks": "bank_accounts",
    "vat_number": "vat_number",
    "kvk_number": "kvk_number",
    "email": "email",
    "website": "website",
}


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT = "kept"  # Kring has a change the ledger has not had yet: the next push settles it
    FAILED = "failed"


@dataclass
class _Item:
    """One debtor as read, and what Kring would store of it (`clean`, None when it cannot)."""

    customer: LedgerCustomer
    clean: LedgerCustomer | None
    messages: list[str] = field(default_factory=list)
    # What Kring's forms would refuse, kept as imported: the relation is flagged "needs review".
    review: list[dict[str, str]] = field(default_factory=list)

    @cached_property
    def company(self) -> bool:
        return looks_like_company(self.customer)

    def ledger_record(self) -> LedgerRecord:
        """What relations takes in (relations.intake): built for the debtors written only."""
        assert self.clean is not None
        return record_from(self.clean, company=self.company, review_notes=self.review)

    @cached_property
    def fingerprint(self) -> str:
        """Of the debtor as the ledger holds it (not as cleaned): what the next run compares."""
        return self.customer.fingerprint()


@dataclass
class _Result:
    code: str
    name: str
    outcome: Outcome
    messages: list[str]
    entity: str = ""
    review: bool = False

    @property
    def notable(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.KEPT) or bool(self.messages)

    def as_report(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "outcome": str(self.outcome),
            "entity": self.entity,
            "messages": self.messages,
            "review": self.review,
        }


def stopped_message(run: ImportRun, exc: BaseException) -> str:
    """Why a run stopped, how far it got and how to go on, in the user's language."""
    reason = (getattr(exc, "message", "") or str(exc) or exc.__class__.__name__).strip()
    reason = reason.rstrip(".")
    if isinstance(exc, LedgerError) and exc.retryable:
        reason = _("the ledger kept asking to wait or did not answer (%(reason)s)") % {
            "reason": reason
        }
    values = {"processed": run.processed, "total": run.total, "reason": reason}
    if run.total:
        return (
            _(
                "The import stopped after %(processed)d of %(total)d debtors: %(reason)s. What was "
                "imported stays; start the import again to go on from there."
            )
            % values
        )
    return (
        _(
            "The import stopped after %(processed)d debtors: %(reason)s. What was imported stays; "
            "start the import again to go on from there."
        )
        % values
    )


def kept_count(run: ImportRun) -> int:
    """Kept debtors are always in the report (they need a look), so the report counts them."""
    return sum(1 for entry in run.report if entry.get("outcome") == Outcome.KEPT)


# --- the run -------------------------------------------------------------------------------------


def run_import(
    *,
    practice: Practice,
    user: User | None = None,
    dry_run: bool = False,
    run: ImportRun | None = None,
    progress: Progress | None = None,
    adapter: LedgerAdapter | None = None,
    on_wait: Waited | None = None,
    deadline: float | None = None,
) -> ImportRun:
    """Import every debtor of the practice's ledger; returns the finished run.

    A given `run` (queued by the import page) says whether it is a dry run and who started it. When
    it had made progress before (a worker died and the task was delivered again), it starts counting
    afresh: what the earlier attempt wrote now shows as unchanged.
    """
    if run is None:
        run = ImportRun.objects.create(practice=practice, started_by=user, dry_run=dry_run)
    else:
        dry_run = run.dry_run
        user = user if user is not None else run.started_by
    importer = _Importer(practice=practice, user=user, dry_run=dry_run, run=run, adapter=adapter)
    importer.on_wait, importer.deadline = on_wait, deadline
    try:
        importer.run(progress)
    except BaseException as exc:
        run.status = ImportRun.Status.FAILED
        run.error = stopped_message(run, exc)[:2000]
        run.finished_at = timezone.now()
        # When the caller's transaction is broken the save cannot work; the original error matters.
        with contextlib.suppress(DatabaseError):
            run.save(update_fields=["status", "error", "finished_at"])
        raise
    return run


class _Importer:
    def __init__(
        self,
        *,
        practice: Practice,
        user: User | None,
        dry_run: bool,
        run: ImportRun,
        adapter: LedgerAdapter | None = None,
    ) -> None:
        self.adapter = (
            adapter  # the practice's own unless given (the bench times the database alone)
        )
        self.practice = practice
        self.user = user
        self.dry_run = dry_run
        self.run_row = run
        self.seen: set[str] = set()
        self.on_wait: Waited | None = None
        self.deadline: float | None = None

    def run(self, progress: Progress | None) -> None:
        run = self.run_row
        adapter = self.adapter or adapter_for(self.practice)
        patience = getattr(adapter, "patience", None)
        if patience is not None:  # waits the ledger asks for are waited, not a reason to stop
            patience.on_wait, patience.deadline = self.on_wait, self.deadline
        run.status = ImportRun.Status.RUNNING
        run.total = _count(adapter, self.practice)
        run.processed = run.created = run.updated = run.unchanged = run.failed = 0
        run.report = []
        run.error = ""
        run.finished_at = None
        run.save()
        if not self.dry_run:
            # Before the first read: any change from here on is the change feed's to report.
            start_change_feed(self.practice)
        if progress:
            progress(0, run.total)
        for batch in chunks(adapter.list_customers(), CHUNK_SIZE):
            self.chunk(batch)
            if progress:
                progress(run.processed, run.total)
        run.status = ImportRun.Status.DONE
        run.total = max(run.total, run.processed)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "total", "finished_at"])

    def chunk(self, batch: Sequence[LedgerCustomer]) -> None:
        items = [self.prepare(customer) for customer in batch]
        try:
            with transaction.atomic():
                self.record(self.write(items))
            return
        except DatabaseError:
            # Validation missed something the database refuses (or a code was taken meanwhile):
            # redo the chunk one debtor at a time, so the refusal costs that debtor alone.
            self.run_row.refresh_from_db()
        results = []
        for item in items:
            try:
                with transaction.atomic():
                    results.extend(self.write([item]))
            except DatabaseError as exc:
                # The first line only: PostgreSQL's DETAIL repeats the row, personal values and all.
                error = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
                message = _("The database refused this debtor: %(error)s") % {"error": error}
                results.append(_failed(item, message))
        with transaction.atomic():
            self.record(results)

    # --- one debtor: what Kring can take of it ------------------------------------------------

    def prepare(self, customer: LedgerCustomer) -> _Item:
        code, name = customer.code, customer.name.strip()
        reason = ""
        if not code.strip():
            reason = _("The debtor has no code.")
        elif len(code) > CODE_MAX:
            reason = _("The code is longer than %(max)d characters.") % {"max": CODE_MAX}
        elif code in self.seen:
            reason = _("The ledger holds this code more than once; only its first debtor is read.")
        elif not name:
            reason = _("The debtor has no name.")
        else:
            limit = COMPANY_NAME_MAX if looks_like_company(customer) else PRIVATE_NAME_MAX
            if len(name) > limit:
                reason = _("The name is longer than %(max)d characters.") % {"max": limit}
        if code.strip():
            self.seen.add(code)
        if reason:
            return _Item(customer=customer, clean=None, messages=[reason])
        messages: list[str] = []
        email = customer.email.strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                messages.append(
                    _("E-mail address %(email)s is not valid; it was left out.") % {"email": email}
                )
                email = ""
        website = customer.website.strip()
        if len(website) > WEBSITE_MAX:
            messages.append(_("The website address is too long; it was left out."))
            website = ""
        # Kring's own rules and messages for identifiers (relations.identifiers, as the forms).
        try:
            kvk = validate_kvk_number(customer.kvk_number)
        except ValidationError as exc:
            what = _("KvK number %(value)s") % {"value": customer.kvk_number}
            messages.append(_left_out(what, exc))
            kvk = ""
        vat = re.sub(r"[\s.]", "", customer.vat_number).upper()
        if len(vat) > VAT_MAX:
            messages.append(
                _("VAT number %(vat)s is not valid; it was left out.")
                % {"vat": customer.vat_number}
            )
            vat = ""
        review = _review_notes(customer, vat, company=looks_like_company(customer))
        messages += [note["report"] for note in review]
        clean = dataclasses.replace(
            customer,
            name=name,
            email=email,
            website=website,
            kvk_number=kvk,
            vat_number=vat,
            banks=_valid_banks(customer.banks, messages),
        )
        notes = [{"field": n["field"], "message": n["message"]} for n in review]
        return _Item(customer=customer, clean=clean, messages=messages, review=notes)

    # --- one chunk: compare with Kring and write ----------------------------------------------

    def write(self, items: list[_Item]) -> list[_Result]:
        results: list[_Result | None] = [None] * len(items)
        valid = [(i, item) for i, item in enumerate(items) if item.clean is not None]
        codes = [item.customer.code for _i, item in valid]
        existing_qs = Relation.objects.filter(
            practice=self.practice, client_code__in=codes
        ).select_related("sync_state")
        if not self.dry_run:
            # Held until the chunk commits: a staff edit meanwhile waits instead of being overwritten.
            existing_qs = existing_qs.select_for_update(of=("self",))
        existing = {relation.client_code: relation for relation in existing_qs}
        new: list[tuple[int, _Item]] = []
        updates: list[tuple[int, _Item, Relation, SyncState]] = []
        for i, item in enumerate(items):
            if item.clean is None:
                results[i] = _failed(item, *item.messages)
                continue
            relation = existing.get(item.customer.code)
            if relation is None:
                new.append((i, item))
                continue
            state: SyncState | None = getattr(relation, "sync_state", None)
            if state is not None and state.remote_fingerprint == item.fingerprint:
                results[i] = _result(item, Outcome.UNCHANGED, relation.entity, [])
            elif state is None or relation.ledger_version != state.pushed_version:
                message = _("Kept Kring's pending change; the next push to the ledger settles it.")
                results[i] = _result(item, Outcome.KEPT, relation.entity, [message])
            else:
                updates.append((i, item, relation, state))
                results[i] = _result(item, Outcome.UPDATED, relation.entity, item.messages)
        for i, item in new:
            entity = Relation.Entity.COMPANY if item.company else Relation.Entity.PRIVATE
            results[i] = _result(item, Outcome.CREATED, entity, item.messages)
        if not self.dry_run:
            self.create([item for _i, item in new])
            self.update([(item, relation, state) for _i, item, relation, state in updates])
        return [result for result in results if result is not None]

    def create(self, items: list[_Item]) -> None:
        """New clients through relations.intake (COPY, no model instances), and their sync
        states: the ledger holds exactly what was read, so each starts synced."""
        if not items:
            return
        records = [item.ledger_record() for item in items]
        ids = intake.create_from_ledger(practice=self.practice, user=self.user, records=records)
        bulk.copy_rows(
            SyncState,
            _STATE_COLUMNS,
            (
                (
                    *_STATE_DEFAULTS,
                    self.practice.pk,
                    relation_id,
                    SyncState.Status.SYNCED,
                    intake.FIRST_VERSION,  # the new relation's ledger_version: pushed
                    item.fingerprint,
                    item.fingerprint,
                    customer_to_dict(item.customer),
                    item.customer.modified,
                    bool(item.customer.modified),
                    timezone.now(),
                )
                for item, relation_id in zip(items, ids, strict=True)
            ),
        )

    def update(self, updates: list[tuple[_Item, Relation, SyncState]]) -> None:
        """Take the ledger's changed records: Kring has nothing unpushed for them, so nothing is
        lost. Set-based: relations.intake replaces their details and writes the relations in a
        few statements; the sync states in one."""
        if not updates:
            return
        states: dict[int, dict[str, Any]] = {}
        changes = []
        for item, relation, state in updates:
            states[state.pk] = {
                "pushed_fingerprint": item.fingerprint,
                "remote_fingerprint": item.fingerprint,
                "remote_record": customer_to_dict(item.customer),
                "remote_modified": item.customer.modified,
                "remote_verified": bool(item.customer.modified),
            }
            before = customer_from_dict(state.remote_record) if state.remote_record else None
            changed = [
                name
                for key, name in CHANGED_FIELDS.items()
                if before is None or getattr(before, key) != getattr(item.customer, key)
            ]
            changes.append((relation, item.ledger_record(), changed))
        # The rows are locked (write): an open edit form notices the new version; the ledger
        # already holds this, so no ledger_version.
        intake.update_from_ledger(user=self.user, changes=changes)
        set_sync_states(
            states,
            status=SyncState.Status.SYNCED,
            attempts=0,
            next_attempt_at=None,
            last_error="",
        )

    # --- progress ------------------------------------------------------------------------------

    def record(self, results: list[_Result]) -> None:
        """Count the chunk and save the run's progress (in the chunk's transaction, when it has one)."""
        run = self.run_row
        counters = {
            Outcome.CREATED: "created",
            Outcome.UPDATED: "updated",
            Outcome.UNCHANGED: "unchanged",
            Outcome.FAILED: "failed",
        }
        notable = sum(1 for entry in run.report if _entry_notable(entry))
        plain = len(run.report) - notable
        for result in results:
            run.processed += 1
            if result.outcome in counters:
                name = counters[result.outcome]
                setattr(run, name, getattr(run, name) + 1)
            if result.notable:
                if notable < NOTABLE_LIMIT:
                    run.report.append(result.as_report())
                    notable += 1
            elif plain < PLAIN_LIMIT:
                run.report.append(result.as_report())
                plain += 1
        run.save(
            update_fields=[
                "processed",
                "created",
                "updated",
                "unchanged",
                "failed",
                "report",
            ]
        )


# --- helpers -------------------------------------------------------------------------------------


def _count(adapter: LedgerAdapter, practice: Practice) -> int:
    """How many debtors the ledger holds, when it can say so cheaply; 0 means unknown."""
    return adapter.count_customers() or 0


def _valid_banks(banks: Sequence[LedgerBank], messages: list[str]) -> tuple[LedgerBank, ...]:
    """Valid, compact IBANs and BICs (relations.identifiers); what is left out is reported.
    Each IBAN once and one default: relations.intake keeps to that rule."""
    kept: list[LedgerBank] = []
    for bank in banks:
        try:
            iban = validate_iban(bank.iban)
        except ValidationError:
            messages.append(
                _("IBAN %(iban)s is not valid; the bank account was left out.")
                % {"iban": bank.iban}
            )
            continue
        try:
            bic = validate_bic(bank.bic)
        except ValidationError as exc:
            messages.append(_left_out(_("BIC %(value)s") % {"value": bank.bic}, exc))
            bic = ""
        if len(bic) > BIC_MAX:
            bic = ""
        kept.append(dataclasses.replace(bank, iban=iban, bic=bic))
    return tuple(kept)


def _left_out(what: str, exc: ValidationError) -> str:
    """A value Kring's rules refuse, left out of the import: the rule's own message."""
    return _("%(what)s: %(problem)s It was left out.") % {
        "what": what,
        "problem": " ".join(exc.messages),
    }


# A new client's sync state, in COPY's column order: the defaults, then what the import knows.
_STATE_KNOWN = (
    "practice_id",
    "relation_id",
    "status",
    "pushed_version",
    "pushed_fingerprint",
    "remote_fingerprint",
    "remote_record",
    "remote_modified",
    "remote_verified",
    "updated_at",
)
_STATE_DEFAULT_VALUES = {
    name: value
    for name, value in bulk.column_defaults(SyncState).items()
    if name not in _STATE_KNOWN
}
_STATE_COLUMNS = (*_STATE_DEFAULT_VALUES, *_STATE_KNOWN)
_STATE_DEFAULTS = tuple(_STATE_DEFAULT_VALUES.values())


def _result(item: _Item, outcome: Outcome, entity: str, messages: list[str]) -> _Result:
    return _Result(
        code=item.customer.code,
        name=item.customer.name.strip()[:200],
        outcome=outcome,
        messages=list(messages),
        entity=str(entity),
        review=bool(item.review) and outcome in (Outcome.CREATED, Outcome.UPDATED),
    )


def _review_notes(customer: LedgerCustomer, vat: str, *, company: bool) -> list[dict[str, str]]:
    """What Kring's forms would refuse in this debtor (the same rules and messages: the
    relations.forms validators), kept as imported and noted for review."""
    notes = []
    if vat and company:
        try:
            validate_vat_number(vat)
        except ValidationError as exc:
            notes.append(("vat_number", _("VAT number %(value)s") % {"value": vat}, exc))
    for address in customer.addresses:
        if (address.country or "NL").upper() == "NL":
            try:
                validate_dutch_postcode(address.postcode)
            except ValidationError as exc:
                what = _("Address %(line)s") % {"line": address.line or address.city or "-"}
                notes.append(("addresses", what, exc))
    return [
        {
            "field": name,
            "message": f"{what}: {' '.join(exc.messages)}",
            "report": _("%(what)s: %(problem)s Kept as imported; flagged for review.")
            % {"what": what, "problem": " ".join(exc.messages)},
        }
        for name, what, exc in notes
    ]


def _failed(item: _Item, *messages: str) -> _Result:
    return _result(item, Outcome.FAILED, "", list(messages))


def _entry_notable(entry: dict[str, Any]) -> bool:
    return entry.get("outcome") in (Outcome.FAILED, Outcome.KEPT) or bool(entry.get("messages"))
