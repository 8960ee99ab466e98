"""The drain: pushing a practice's due clients to its ledger.

A drain works one practice at a time, holding a lease on its LedgerConnection (one request in
flight per office); it claims up to a batch of due rows with `FOR UPDATE SKIP LOCKED`, counts the
attempt and leases the rows *before* calling the ledger (`SyncState.objects.claim`), so a worker
killed mid-push leaves rows that come due again when the lease runs out. Before writing over a
debtor it makes sure nobody changed it in the ledger since Kring last saw it: by the ledger's
change feed where it has one (sync.feed), else by reading it. Where the adapter allows overlapping
writes (Twinfield) the write of one batch is in flight while the next batch is claimed and loaded,
still one request at a time.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from practice.models import Practice
from relations.models import Address, BankAccount, Relation
from sync.adapters import adapter_for
from sync.adapters.base import (
    ChangeFeed,
    LedgerAdapter,
    LedgerCustomer,
    LedgerError,
    RejectedLedgerError,
    UpsertResult,
    Waited,
)
from sync.feed import check_ledger_changes
from sync.mapping import customer_for
from sync.models import LedgerConnection, Pushed, SyncState
from sync.outbox import connection_for, due_states, ensure_states

log = logging.getLogger(__name__)

# Longer than one batch can take (task soft limit: 4 minutes); tests shorten it to see recovery.
LEASE = timedelta(seconds=settings.SYNC_LEASE_SECONDS)
DUE_SCAN = 10_000  # due rows listed per pass of a drain, then claimed a batch at a time
CHANGE_CHECK_SECONDS = settings.SYNC_CHANGE_CHECK_SECONDS
# What ends a batch before its outcome: the ledger's refusal or outage, the task's time limit.
BATCH_ENDERS = (LedgerError, SoftTimeLimitExceeded, OSError)


@dataclass
class PushReport:
    pushed: int = 0
    failed: int = 0
    conflicts: int = 0
    retried: int = 0
    batches: int = 0
    skipped_busy: bool = False
    disabled: bool = False  # the practice's ledger connection is switched off
    waits: int = 0  # times the ledger asked to wait (429, 503, a timeout) and the request repeated
    waited: float = 0.0  # seconds spent so
    errors: list[str] = field(default_factory=list)


# --- the office lease ----------------------------------------------------------------------------


def _claim_office(connection: LedgerConnection, owner: str) -> bool:
    now = timezone.now()
    return bool(
        LedgerConnection.objects.filter(pk=connection.pk)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .update(drain_lease_until=now + LEASE, drain_owner=owner)
    )


def _renew_office(connection: LedgerConnection, owner: str) -> bool:
    """False when the lease ran out and another drain took the office: this one must stop."""
    return bool(
        LedgerConnection.objects.filter(pk=connection.pk, drain_owner=owner).update(
            drain_lease_until=timezone.now() + LEASE
        )
    )


def _release_office(connection: LedgerConnection, owner: str) -> None:
    LedgerConnection.objects.filter(pk=connection.pk, drain_owner=owner).update(
        drain_lease_until=None, drain_owner=""
    )


def _claim_batch(
    practice: Practice, size: int, ids: list[int] | None = None
) -> list[tuple[SyncState, int]]:
    """Lease up to `size` due rows (among `ids` when given); returns each with the ledger_version
    it will push."""
    # Given ids (the practice's, from its due scan) are looked up by primary key: with the practice
    # in the filter too, the planner can walk the practice's rows to find 25 (10,000 at a time).
    due = SyncState.objects.filter(pk__in=ids).due() if ids is not None else due_states(practice)
    states = due.claim(size, until=timezone.now() + LEASE)
    return [(state, state.relation.ledger_version) for state in states]


# --- the drain -----------------------------------------------------------------------------------


def push_practice(
    practice: Practice,
    *,
    max_batches: int | None = None,
    deadline: float | None = None,
    on_wait: Waited | None = None,
) -> PushReport:
    """Drain the practice's due clients to its ledger, a batch at a time, until none is due.

    `deadline` (a `time.monotonic()` value) bounds the run: no wait the ledger asks for goes past
    it. `on_wait(seconds, reason)` is told of each such wait (the command prints them)."""
    report = PushReport()
    ledger = connection_for(practice)
    if not ledger.enabled:
        report.disabled = True
        return report
    ensure_states(practice)
    owner = str(uuid.uuid4())
    if not _claim_office(ledger, owner):
        report.skipped_busy = True
        return report
    try:
        _Drain(practice, ledger, owner, report).run(max_batches, deadline, on_wait)
    finally:
        _release_office(ledger, owner)
    return report


class _Drain:
    """One drain of one practice, holding its office: batches claimed in turn, each checked
    against the change feed when one is due, started, and finished once the next is prepared."""

    def __init__(
        self, practice: Practice, ledger: LedgerConnection, owner: str, report: PushReport
    ) -> None:
        self.practice, self.ledger, self.owner, self.report = practice, ledger, owner, report
        self.lease_renewed = timezone.now()  # _claim_office leased it just now
        self.feed: ChangeFeed | None = None
        self.checked_at: float | None = None  # time.monotonic() of the last change check
        self.executor: ThreadPoolExecutor | None = None
        self.in_flight: _Batch | None = None

    def run(self, max_batches: int | None, deadline: float | None, on_wait: Waited | None) -> None:
        try:
            adapter = adapter_for(self.practice)
            if adapter.patience is not None:
                adapter.patience.deadline, adapter.patience.on_wait = deadline, on_wait
            self.feed = adapter.change_feed()
            # Writes overlap the next batch's preparation (claim, load, payloads) where the
            # adapter allows it and the drain runs in autocommit (a transaction is not shared with
            # the writer thread): one request is still in flight at a time, as every request is
            # made in turn.
            if adapter.overlaps_writes and not connection.in_atomic_block:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-write")
            for claimed in self._claims(adapter.max_batch, max_batches):
                self.report.batches += 1
                batch = _Batch(claimed)  # while the previous batch's write is in flight
                self._finish_in_flight()  # before a check: it counts what Kring saw
                if self._checked(batch):
                    self._start(batch, adapter)
            self._finish_in_flight()
            if adapter.patience is not None:
                self.report.waits = adapter.patience.waits
                self.report.waited = adapter.patience.waited
        finally:
            if self.executor is not None:
                self.executor.shutdown(wait=True)  # no request may outlive the office's lease

    def _claims(self, size: int, max_batches: int | None) -> Iterator[list[tuple[SyncState, int]]]:
        """The batches of the drain, claimed in turn while it holds the office.

        "Due" compares two tables (ledger_version > pushed_version), which no index serves: a
        practice's rows are scanned to find them. Once per pass, not once per batch, which made a
        drain quadratic (10,000 changed clients: 400 scans of 10,000 rows). Each batch is then
        claimed by id, due-ness checked again; a pass that claims nothing ends the drain."""
        queue: list[int] = []
        scanned = claimed_in_pass = False
        while max_batches is None or self.report.batches < max_batches:
            if not self._kept_office():
                return
            if not queue:
                if scanned and not claimed_in_pass:
                    return  # what is left is locked by someone else: the sweep comes back for it
                queue = list(due_states(self.practice).values_list("pk", flat=True)[:DUE_SCAN])
                scanned, claimed_in_pass = True, False
                if not queue:
                    return
            ids, queue = queue[:size], queue[size:]
            claimed = _claim_batch(self.practice, size, ids)
            if claimed:
                claimed_in_pass = True
                yield claimed

    def _kept_office(self) -> bool:
        """The office lease is renewed every LEASE/4, not per batch (a statement per batch costs
        throughput), and before a claim: a drain held up past its lease (it can only have lost it
        after LEASE > LEASE/4) finds another drain has the office, and stops."""
        if timezone.now() - self.lease_renewed <= LEASE / 4:
            return True
        self.lease_renewed = timezone.now()
        return _renew_office(self.ledger, self.owner)

    def _checked(self, batch: _Batch) -> bool:
        """The change feed checked when a check is due; False when the batch went back to
        waiting because the ledger could not answer."""
        if self.feed is None or (
            self.checked_at is not None
            and time.monotonic() - self.checked_at < CHANGE_CHECK_SECONDS
        ):
            return True
        try:
            check_ledger_changes(self.ledger, self.feed)
        except RejectedLedgerError as exc:
            # The Finder cannot answer this question at all: every debtor is read before it is
            # written, as without a feed; a ledger that cannot answer that either fails the batch
            # visibly.
            log.warning("ledger change check refused, reading every debtor: %s", exc)
            self.feed = None
            return True
        except LedgerError as exc:
            # Rate limit or outage outlasting the request's patience: the feed stays on (reading
            # every debtor instead would only make more requests); this batch goes back to
            # waiting, and the next one checks again.
            batch.fail(exc, self.report)
            return False
        self.checked_at = time.monotonic()
        batch.reload_verification()
        return True

    def _start(self, batch: _Batch, adapter: LedgerAdapter) -> None:
        trusted = self.feed is not None
        if batch.start(adapter, self.report, trust_verified=trusted, executor=self.executor):
            self.in_flight = batch

    def _finish_in_flight(self) -> None:
        if self.in_flight is not None:
            self.in_flight.finish(self.report)
            self.in_flight = None


# --- one batch -----------------------------------------------------------------------------------


def _load_relations(claimed: list[tuple[SyncState, int]]) -> dict[int, Relation]:
    """The claimed clients as the claim read them (the version it took belongs to that read),
    with their addresses and bank accounts."""
    relations = {state.relation_id: state.relation for state, _v in claimed}
    prefetch_related_objects(
        list(relations.values()),
        Prefetch("addresses", queryset=Address.objects.order_by("type", "pk")),
        Prefetch("bank_accounts", queryset=BankAccount.objects.order_by("pk")),
    )
    return relations


def _vouched(state: SyncState, code: str) -> bool:
    """The change feed says the ledger still holds what Kring last saw of this debtor: the record
    (and its fingerprint, written with it) under this code. Then it needs no read."""
    record = state.remote_record or {}
    return (
        bool(code and state.remote_verified and state.remote_fingerprint and record)
        and record.get("code") == code
    )


def _write_in_thread(adapter: LedgerAdapter, batch: list[LedgerCustomer]) -> list[UpsertResult]:
    """The write, on the drain's writer thread. The adapter may touch the database (a token
    refreshed on the way): that thread's own connection, closed again here."""
    try:
        return adapter.upsert_customers(batch)
    finally:
        connection.close()  # the thread's own (django.db.connection is per thread)


def _freeze_codes(items: list[Pushed], relations: dict[int, Relation]) -> set[int]:
    """Freeze each client's code before it is sent (or recorded as already in the ledger), not
    after the ledger confirms: a worker that dies after the ledger stored the debtor never
    confirms, and a code changed then would leave the old debtor behind, the client twice in the
    ledger. Returns the relations that go ahead. A client whose code changed since the batch was
    loaded does not (its change made it due again); its claim is let go at once.

    A code frozen when the claim read the relation cannot have changed since (relations refuses
    that), so only the others are locked and checked: one SELECT … FOR UPDATE and one UPDATE per
    batch, none at all once every client in it has been pushed before."""
    sending = {
        state.relation_id: customer.code
        for state, _v, customer in items
        if not relations[state.relation_id].code_frozen
    }
    going = {state.relation_id for state, _v, _c in items} - sending.keys()
    if not sending:
        return going
    with transaction.atomic():
        current = dict(
            Relation.objects.select_for_update()
            .filter(pk__in=sending)
            .order_by("pk")
            .values_list("pk", "client_code")
        )
        keep = {pk for pk, code in sending.items() if code and current.get(pk) == code}
        if keep:
            Relation.objects.filter(pk__in=keep, code_frozen=False).update(code_frozen=True)
    for state, _v, _customer in items:
        if state.relation_id in sending and state.relation_id not in keep:
            state.let_go()
    return going | keep


def _as_vouched(
    state: SyncState, customer: LedgerCustomer
) -> tuple[LedgerCustomer | None, LedgerCustomer | None]:
    """The ledger holds Kring's last view of it: equal, or Kring's to overwrite. Its complete
    record as last seen is the base of the write (Twinfield keeps fields Kring does not own; they
    go back as they are). Returns (held, payload): one of them."""
    raw = (state.remote_record or {}).get("raw", "")
    if customer.fingerprint() == state.remote_fingerprint:
        return dataclasses.replace(customer, modified=state.remote_modified, raw=raw), None
    return None, dataclasses.replace(customer, raw=raw)


def _changed_in_ledger(
    state: SyncState, customer: LedgerCustomer, remote: LedgerCustomer | None
) -> LedgerCustomer | None:
    """The record just read, when it is neither Kring's payload nor a record Kring knows (the
    last it saw, or what it was sending when a worker died)."""
    if remote is None or remote.fingerprint() == customer.fingerprint():
        return None
    known = (state.remote_fingerprint, state.sending_fingerprint)
    return remote if remote.fingerprint() not in known else None


def _as_read(
    customer: LedgerCustomer, remote: LedgerCustomer | None
) -> tuple[LedgerCustomer | None, LedgerCustomer | None]:
    """Against the record just read (no conflict). Returns (held, payload): the ledger's record
    when it already holds Kring's (with its stamp: nothing to write), else the payload to write:
    read-modify-write, the record just read its base, so that a change made in the ledger to a
    field Kring does not own (a telephone number) survives."""
    if remote is not None and remote.fingerprint() == customer.fingerprint():
        return remote, None
    return None, dataclasses.replace(customer, raw=remote.raw if remote is not None else "")


class _Batch:
    """One batch of a drain: prepared (the clients loaded and their payloads built), started
    (read → classify → freeze → send) and finished (the outcome recorded). A drain that overlaps
    writes prepares the next batch while this one's write is in flight."""

    def __init__(self, claimed: list[tuple[SyncState, int]]) -> None:
        self.claimed = claimed
        self.relations = _load_relations(claimed)
        self.wanted = {
            state.pk: customer_for(self.relations[state.relation_id]) for state, _v in claimed
        }
        # Recorded before the write: a failure of the write is not theirs.
        self.settled: set[int] = set()
        self.vouched: set[int] = set()
        self.to_push: list[Pushed] = []
        self.write: Future[list[UpsertResult]] | list[UpsertResult] = []

    def reload_verification(self) -> None:
        """A check after the claim may have found some of these changed in the ledger."""
        flags = dict(
            SyncState.objects.filter(pk__in=[s.pk for s, _v in self.claimed]).values_list(
                "pk", "remote_verified"
            )
        )
        for state, _v in self.claimed:
            state.remote_verified = flags.get(state.pk, False)

    def start(
        self,
        adapter: LedgerAdapter,
        report: PushReport,
        *,
        trust_verified: bool = False,
        executor: ThreadPoolExecutor | None = None,
    ) -> bool:
        """The conflict check, then the write: sent on `executor` when given (it is in flight
        when this returns). `trust_verified`: the change feed was checked (see
        check_ledger_changes), so a verified client's ledger record is the one Kring knows: not
        read. False when the batch ended before its write (recorded as failed or retried)."""
        try:
            current = self._read(adapter, trust_verified)
            already, to_push = self._classify(current, report)
            self._freeze(already, to_push, report)
            self._send(adapter, executor)
        except BATCH_ENDERS as exc:
            self._failed(exc, report)
            return False
        return True

    def _read(
        self, adapter: LedgerAdapter, trust_verified: bool
    ) -> dict[str, LedgerCustomer | None]:
        """The ledger's current record of every debtor in the batch that the feed does not vouch
        for (a client without a code yet is new to the ledger: nothing to read)."""
        if trust_verified:
            self.vouched = {
                state.pk
                for state, _v in self.claimed
                if _vouched(state, self.wanted[state.pk].code)
            }
        unread = [
            self.wanted[state.pk].code
            for state, _v in self.claimed
            if self.wanted[state.pk].code and state.pk not in self.vouched
        ]
        return adapter.get_customers(unread) if unread else {}

    def _classify(
        self, current: dict[str, LedgerCustomer | None], report: PushReport
    ) -> tuple[list[Pushed], list[Pushed]]:
        """Each client: already as the ledger holds it, to be written, or (recorded at once) in
        conflict with a change made in the ledger. Returns (already, to push)."""
        already: list[Pushed] = []
        to_push: list[Pushed] = []
        for state, version in self.claimed:
            customer = self.wanted[state.pk]
            if state.pk in self.vouched:
                held, payload = _as_vouched(state, customer)
            else:
                remote = current.get(customer.code) if customer.code else None
                if (changed := _changed_in_ledger(state, customer, remote)) is not None:
                    # Someone changed the debtor in the ledger (or it existed before Kring knew
                    # it): an upsert would silently overwrite their change, so staff decide.
                    state.record_conflict(changed)
                    self.settled.add(state.pk)
                    report.conflicts += 1
                    continue
                held, payload = _as_read(customer, remote)
            if held is not None:
                already.append((state, version, held))
            if payload is not None:
                to_push.append((state, version, payload))
        return already, to_push

    def _freeze(self, already: list[Pushed], to_push: list[Pushed], report: PushReport) -> None:
        """Freeze the codes of what goes ahead (see _freeze_codes); what the ledger already holds
        is recorded as pushed at once, the rest kept to send."""
        going = _freeze_codes([*already, *to_push], self.relations)
        self.settled.update(
            state.pk for state, _v in self.claimed if state.relation_id not in going
        )
        already = [item for item in already if item[0].relation_id in going]
        self.to_push = [item for item in to_push if item[0].relation_id in going]
        SyncState.objects.record_successes(already)
        self.settled.update(state.pk for state, _v, _c in already)
        report.pushed += len(already)

    def _send(self, adapter: LedgerAdapter, executor: ThreadPoolExecutor | None) -> None:
        SyncState.objects.mark_sending(self.to_push)
        batch = [customer for _s, _v, customer in self.to_push]
        if batch and executor is not None:
            self.write = executor.submit(_write_in_thread, adapter, batch)
        elif batch:
            self.write = adapter.upsert_customers(batch)

    def finish(self, report: PushReport) -> None:
        try:
            results = self.write.result() if isinstance(self.write, Future) else self.write
        except BATCH_ENDERS as exc:
            self._failed(exc, report)
            return
        landed = []
        for (state, version, customer), result in zip(self.to_push, results, strict=True):
            if result.ok:
                # What the ledger now holds (its echo, when it gives one) is the base of the next
                # conflict check; Kring's own payload otherwise.
                pushed = result.record or dataclasses.replace(customer, code=result.code)
                landed.append((state, version, pushed))
            else:
                state.record_failure(version, "; ".join(result.messages), retryable=False)
                report.failed += 1
        SyncState.objects.record_successes(landed)
        report.pushed += len(landed)

    def fail(self, exc: LedgerError, report: PushReport) -> None:
        """The batch ends before its conflict check: its clients wait for their next attempt."""
        self._failed(exc, report)

    def _failed(self, exc: BaseException, report: PushReport) -> None:
        retryable = not isinstance(exc, RejectedLedgerError)
        if isinstance(exc, SoftTimeLimitExceeded):  # its text is "SoftTimeLimitExceeded()"
            message = _("The ledger did not answer within the time limit; it will be tried again.")
        else:
            message = getattr(exc, "message", "") or str(exc) or exc.__class__.__name__
        retry_after = getattr(exc, "retry_after", None)
        unsettled = [(s, version) for s, version in self.claimed if s.pk not in self.settled]
        for state, version in unsettled:
            state.record_failure(version, message, retryable=retryable, retry_after=retry_after)
        report.retried += len(unsettled) if retryable else 0
        report.failed += 0 if retryable else len(unsettled)
        report.errors.append(message)
        log.warning("ledger push failed for %d clients: %s", len(unsettled), message)
        if isinstance(exc, SoftTimeLimitExceeded):
            raise exc  # out of time: claim no further batch; the caller lets the office go
