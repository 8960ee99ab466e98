"""Keeping the ledger in step: the drain that pushes due clients, and the choices staff make.

The outbox is `Relation.ledger_version` (bumped by relations in the same transaction as the change)
against `SyncState.pushed_version`. A drain works one practice at a time, holding a lease on its
LedgerConnection (one request in flight per office); it claims up to a batch of due rows with
`FOR UPDATE SKIP LOCKED`, counts the attempt and leases the rows *before* calling the ledger, so a
worker killed mid-push leaves rows that come due again when the lease runs out (and a batch that
keeps killing workers runs out of attempts instead of looping forever). Before writing over a
debtor it makes sure nobody changed it in the ledger since Kring last saw it: by the ledger's change
feed where it has one (below), else by reading it. With Twinfield the write of one batch is in
flight while the next batch is claimed and loaded, still one request at a time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import F, Max, Prefetch, Q, prefetch_related_objects
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from practice.models import Practice
from relations.models import Address, BankAccount, Relation, TimelineEvent
from sync.adapters import adapter_for
from sync.adapters.base import (
    ChangeFeed,
    LedgerCustomer,
    LedgerError,
    RejectedLedgerError,
    UpsertResult,
    Waited,
    chunks,
)
from sync.mapping import address_from, bank_from, customer_for, customer_from_dict, customer_to_dict
from sync.models import LedgerConnection, SyncState

log = logging.getLogger(__name__)

# Longer than one batch can take (task soft limit: 4 minutes); tests shorten it to see recovery.
LEASE = timedelta(seconds=settings.SYNC_LEASE_SECONDS)
RETRY_BUDGET = settings.SYNC_RETRY_BUDGET
BACKOFF_BASE = settings.SYNC_BACKOFF_BASE_SECONDS  # 30 s, 1 min, 2 min, … capped
BACKOFF_CAP = settings.SYNC_BACKOFF_CAP_SECONDS
DUE_SCAN = 10_000  # due rows listed per pass of a drain, then claimed a batch at a time
CHANGE_CHECK_SECONDS = settings.SYNC_CHANGE_CHECK_SECONDS
# A change feed starts this long before Kring's clock says "now": the ledger stamps changes in its
# own clock and time zone, which no offset or skew on earth puts a day away from ours.
CHANGE_FEED_MARGIN = timedelta(days=1)
FEED_SECONDS = 3  # the newest seconds of records Kring saw that a check verifies one by one
STAMP_FORMAT = "%Y%m%d%H%M%S"  # the ledger's stamps (Twinfield's `modified`, its `modifiedsince`)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential with full jitter between half and all of the step, never below Retry-After."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    delay = step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
    return timedelta(seconds=max(delay, retry_after or 0))


def connection_for(practice: Practice) -> LedgerConnection:
    connection, _created = LedgerConnection.objects.get_or_create(practice=practice)
    return connection


def ensure_states(practice: Practice) -> int:
    """A SyncState for every client of the practice (a new client is due at once: version 1 > 0)."""
    missing = Relation.objects.filter(practice=practice, kind=Relation.Kind.CLIENT).filter(
        sync_state__isnull=True
    )
    rows = [
        SyncState(practice=practice, relation_id=pk) for pk in missing.values_list("pk", flat=True)
    ]
    SyncState.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows)


def due_states(practice: Practice):
    return _due(SyncState.objects.filter(practice=practice))


def _due_condition(now: datetime, *, state: str = "", relation: str = "relation__") -> Q:
    """When a client is due: changed since its last push and not waiting out a retry, or changed
    since the ledger refused it. `state` and `relation` are the paths to the SyncState's and the
    Relation's fields, so the drain (from SyncState) and the counts (from Relation) share it."""
    version = F(f"{relation}ledger_version")
    changed = Q(**{f"{relation}ledger_version__gt": F(f"{state}pushed_version")})
    return Q(**{f"{relation}kind": Relation.Kind.CLIENT}) & (
        Q(**{f"{state}status__in": (SyncState.Status.PENDING, SyncState.Status.SYNCED)})
        & changed
        & (
            Q(**{f"{state}next_attempt_at__isnull": True})
            | Q(**{f"{state}next_attempt_at__lte": now})
        )
        | Q(**{f"{state}status": SyncState.Status.FAILED})
        & Q(**{f"{state}failed_version__lt": version})
    )


def _due(states: models.QuerySet[SyncState]) -> models.QuerySet[SyncState]:
    return states.filter(_due_condition(timezone.now())).order_by("next_attempt_at", "pk")


@dataclass(frozen=True)
class LedgerCounts:
    """How a practice's clients stand with the ledger, each client in one state (`by_status`, the
    keys SyncState.Status values), and how many of them a drain would push now (`due`)."""

    by_status: dict[str, int]
    due: int
    oldest_due: datetime | None


def ledger_counts(practice: Practice) -> LedgerCounts:
    """The one count of what waits for the ledger: the office's ledger page and `ledger_status`
    both show this. One query, and no writes (a client no drain has seen yet has no SyncState:
    it is waiting, and due).

    A client's state is as the drain sees it, not only its status column: "in the ledger" with a
    newer change not sent yet (pushed, then edited while the office had paused pushing) is
    waiting, and so is a failed client changed since the ledger refused it (it is retried)."""
    Status = SyncState.Status
    now = timezone.now()
    unseen = Q(sync_state__isnull=True)
    pushed = Q(ledger_version__lte=F("sync_state__pushed_version"))
    refused = Q(ledger_version__lte=F("sync_state__failed_version"))
    settled = {
        Status.SYNCED: Q(sync_state__status=Status.SYNCED) & pushed,
        Status.FAILED: Q(sync_state__status=Status.FAILED) & refused,
        Status.CONFLICT: Q(sync_state__status=Status.CONFLICT),
    }
    due = unseen | _due_condition(now, state="sync_state__", relation="")
    totals = Relation.objects.filter(practice=practice, kind=Relation.Kind.CLIENT).aggregate(
        clients=models.Count("pk"),
        due=models.Count("pk", filter=due),
        oldest_due=models.Min(Coalesce("sync_state__updated_at", "updated_at"), filter=due),
        **{status.value: models.Count("pk", filter=q) for status, q in settled.items()},
    )
    by_status = {status: totals.get(status, 0) for status in Status.values}
    by_status[Status.PENDING] = totals["clients"] - sum(totals[s.value] for s in settled)
    return LedgerCounts(by_status=by_status, due=totals["due"], oldest_due=totals["oldest_due"])


# --- the change feed -----------------------------------------------------------------------------
#
# Reading every debtor before writing it (the conflict check) costs a request per debtor with
# Twinfield's documented calls. A ledger with a change feed (sync.adapters.base.ChangeFeed: the
# Finder's `modifiedsince`, TWINFIELD.md §3.2's incremental-sync recipe) tells how many debtors
# changed at or after a moment, and which; Kring then reads only those that may have changed since
# it last saw them.
#
# * Every record Kring sees (imported, read, or echoed by its own write) is kept with the ledger's
#   stamp of it (`remote_modified`, to the second) and is *verified*: pushed without a read for as
#   long as no check finds it changed since.
# * A check at a threshold t: the ledger counts the debtors changed at or after t. Every record
#   Kring saw stamped at or after t is among them (stamps only grow), so equal counts mean no other
#   debtor changed at or after t. Otherwise the ledger lists the codes, and each record among them
#   that Kring saw stamped before t is marked unverified (read before its next push).
# * The thresholds: G (`LedgerConnection.changes_since`) for all records, and the second after
#   each of the newest FEED_SECONDS stamps among records seen at or after G (which asks, for the
#   records seen in that second, whether any changed after it). Records seen at or after G in
#   older seconds are marked unverified instead.
# * G then moves to the newest stamp Kring saw before the check: a second the ledger had reached.
#
# What this cannot see: a change made in the same second as the one Kring saw, and one made between
# a check and a write (a drain checks when it starts, then at most every SYNC_CHANGE_CHECK_SECONDS);
# a read before each write has the same race over one request. A debtor deleted in the ledger while
# another changes leaves the counts equal: that change is seen at the next change to either.


def ledger_stamp(moment: datetime) -> str:
    return moment.strftime(STAMP_FORMAT)


def start_change_feed(practice: Practice) -> None:
    """Before Kring takes in the ledger's records (an import), or the first time it checks: G goes
    back to a day before now, so everything changed since the records are read will be reported."""
    floor = ledger_stamp(timezone.now() - CHANGE_FEED_MARGIN)
    LedgerConnection.objects.filter(practice=practice).filter(
        Q(changes_since="") | Q(changes_since__gt=floor)
    ).update(changes_since=floor)


def change_feed(adapter: object) -> ChangeFeed | None:
    if hasattr(adapter, "count_changed_since") and hasattr(adapter, "codes_changed_since"):
        return adapter  # type: ignore[return-value]
    return None


def check_ledger_changes(connection: LedgerConnection, feed: ChangeFeed) -> None:
    """One check of the change feed (see above); raises LedgerError when the ledger cannot say."""
    since = (
        LedgerConnection.objects.filter(pk=connection.pk)
        .values_list("changes_since", flat=True)
        .get()
    )
    states = SyncState.objects.filter(practice_id=connection.practice_id)
    if not since:
        states.filter(remote_verified=True).update(remote_verified=False)
        start_change_feed(connection.practice)
        return
    seen = states.exclude(remote_modified="")
    latest = seen.aggregate(latest=Max("remote_modified"))["latest"] or since
    recent = seen.filter(remote_modified__gte=since)
    # The newest few seconds in which Kring saw records (its own writes, mostly) are checked one
    # by one; records seen in older seconds since G are read at their next push instead.
    stamps = list(
        recent.filter(remote_verified=True)
        .order_by("-remote_modified")
        .values_list("remote_modified", flat=True)
        .distinct()[:FEED_SECONDS]
    )
    # (threshold, its count): every debtor changed at or after the threshold that Kring did not
    # see at or after it has changed since Kring saw it. G itself for all debtors, and the second
    # after each stamp for the records seen in that second.
    thresholds = [since, *(_next_second(stamp) for stamp in stamps)]
    for threshold in thresholds:
        if (
            feed.count_changed_since(threshold)
            == seen.filter(remote_modified__gte=threshold).count()
        ):
            continue
        codes = sorted(feed.codes_changed_since(threshold))
        for part in chunks(codes, 1000):
            states.filter(
                relation__client_code__in=part,
                remote_verified=True,
                remote_modified__lt=threshold,
            ).update(remote_verified=False)
    if stamps:
        recent.filter(remote_verified=True, remote_modified__lt=stamps[-1]).update(
            remote_verified=False
        )
    # Conditional: an import that moved G back meanwhile keeps its earlier G.
    LedgerConnection.objects.filter(pk=connection.pk, changes_since=since).update(
        changes_since=max(since, latest)
    )


def _next_second(stamp: str) -> str:
    return ledger_stamp(datetime.strptime(stamp, STAMP_FORMAT) + timedelta(seconds=1))


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
    due = _due(SyncState.objects.filter(pk__in=ids)) if ids is not None else due_states(practice)
    with transaction.atomic():
        states = list(
            due.select_for_update(skip_locked=True, of=("self",)).select_related("relation")[:size]
        )
        if not states:
            return []
        until = timezone.now() + LEASE
        SyncState.objects.filter(pk__in=[s.pk for s in states]).update(
            attempts=F("attempts") + 1, next_attempt_at=until, status=SyncState.Status.PENDING
        )
    claimed = []
    for state in states:
        state.attempts += 1
        state.next_attempt_at = until  # this drain's claim on the row: see _mine()
        claimed.append((state, state.relation.ledger_version))
    return claimed


def _mine(state: SyncState):
    """The row, as long as this drain's claim on it stands. A drain held up past its lease (a slow
    ledger) finds the row re-claimed, or already pushed, by the drain that took over; what it saw
    is out of date then, and writing it down would undo that drain's outcome, or mistake Kring's
    own newer push for someone's change in the ledger (a false conflict). `_set_per_row(claims=…)`
    holds the set-based writes to the same rule."""
    return SyncState.objects.filter(pk=state.pk, next_attempt_at=state.next_attempt_at)


def _claims(items: list[tuple[SyncState, int, LedgerCustomer]]) -> dict[int, datetime | None]:
    """Each row's claim (see `_mine`), for `_set_per_row`."""
    return {item[0].pk: item[0].next_attempt_at for item in items}


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
    executor: ThreadPoolExecutor | None = None
    in_flight: _Batch | None = None
    try:
        adapter = adapter_for(practice)
        patience = getattr(adapter, "patience", None)
        if patience is not None:
            patience.deadline, patience.on_wait = deadline, on_wait
        feed = change_feed(adapter)
        checked_at: float | None = None  # time.monotonic() of the last change check
        # Writes overlap the next batch's preparation (claim, load, payloads) where the adapter
        # allows it and the drain runs in autocommit (a transaction is not shared with the writer
        # thread): one request is still in flight at a time, as every request is made in turn.
        if getattr(adapter, "overlaps_writes", False) and not connection.in_atomic_block:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-write")
        # "Due" compares two tables (ledger_version > pushed_version), which no index serves: a
        # practice's rows are scanned to find them. Once per pass, not once per batch, which made
        # a drain quadratic (10,000 changed clients: 400 scans of 10,000 rows). Each batch is
        # then claimed by id, due-ness checked again; a pass that claims nothing ends the drain.
        queue: list[int] = []
        scanned = claimed_in_pass = False
        lease_renewed = timezone.now()  # _claim_office leased it just now
        while max_batches is None or report.batches < max_batches:
            # The office lease is renewed every LEASE/4, not per batch (a statement per batch
            # costs throughput), and before a claim: a drain held up past its lease (it can only
            # have lost it after LEASE > LEASE/4) finds another drain has the office, and stops.
            if timezone.now() - lease_renewed > LEASE / 4:
                lease_renewed = timezone.now()
                if not _renew_office(ledger, owner):
                    break
            if not queue:
                if scanned and not claimed_in_pass:
                    break  # what is left is locked by someone else: the sweep comes back for it
                queue = list(due_states(practice).values_list("pk", flat=True)[:DUE_SCAN])
                scanned, claimed_in_pass = True, False
                if not queue:
                    break
            ids, queue = queue[: adapter.max_batch], queue[adapter.max_batch :]
            claimed = _claim_batch(practice, adapter.max_batch, ids)
            if not claimed:
                continue
            claimed_in_pass = True
            report.batches += 1
            batch = _Batch(claimed)  # while the previous batch's write is in flight
            if in_flight is not None:
                in_flight.finish(report)  # before a check: it counts what Kring saw
                in_flight = None
            if feed is not None and (
                checked_at is None or time.monotonic() - checked_at >= CHANGE_CHECK_SECONDS
            ):
                try:
                    check_ledger_changes(ledger, feed)
                    checked_at = time.monotonic()
                    batch.reload_verification()
                except RejectedLedgerError as exc:
                    # The Finder cannot answer this question at all: every debtor is read before
                    # it is written, as without a feed; a ledger that cannot answer that either
                    # fails the batch visibly.
                    log.warning("ledger change check refused, reading every debtor: %s", exc)
                    feed = None
                except LedgerError as exc:
                    # Rate limit or outage outlasting the request's patience: the feed stays on
                    # (reading every debtor instead would only make more requests); this batch
                    # goes back to waiting, and the next one checks again.
                    batch.fail(exc, report)
                    continue
            if batch.start(adapter, report, trust_verified=feed is not None, executor=executor):
                in_flight = batch
        if in_flight is not None:
            in_flight.finish(report)
            in_flight = None
        if patience is not None:
            report.waits, report.waited = patience.waits, patience.waited
    finally:
        if executor is not None:
            executor.shutdown(wait=True)  # no request may outlive the office's lease
        _release_office(ledger, owner)
    return report


def _vouched(state: SyncState, code: str) -> bool:
    """The change feed says the ledger still holds what Kring last saw of this debtor: the record
    (and its fingerprint, written with it) under this code. Then it needs no read."""
    record = state.remote_record
    return (
        bool(code and state.remote_verified and state.remote_fingerprint and record)
        and record.get("code") == code
    )


class _Batch:
    """One batch of a drain, in three steps: prepared (the clients loaded and their payloads
    built), started (the conflict check, then the write sent) and finished (the outcome recorded).
    A drain that overlaps writes prepares the next batch while this one's write is in flight."""

    def __init__(self, claimed: list[tuple[SyncState, int]]) -> None:
        self.claimed = claimed
        self.relations = _load_relations(claimed)
        self.wanted = {
            state.pk: customer_for(self.relations[state.relation_id]) for state, _v in claimed
        }
        # Recorded before the write: a failure of the write is not theirs.
        self.settled: set[int] = set()
        self.to_push: list[tuple[SyncState, int, LedgerCustomer]] = []
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
        adapter,
        report: PushReport,
        *,
        trust_verified: bool = False,
        executor: ThreadPoolExecutor | None = None,
    ) -> bool:
        """The conflict check, then the write: sent on `executor` when given (it is in flight
        when this returns). `trust_verified`: the change feed was checked (see
        check_ledger_changes), so a verified client's ledger record is the one Kring knows: not
        read. False when the batch ended before its write (recorded as failed or retried)."""
        claimed, wanted = self.claimed, self.wanted
        vouched = {
            state.pk
            for state, _v in claimed
            if trust_verified and _vouched(state, wanted[state.pk].code)
        }
        try:
            unread = [
                wanted[s.pk].code for s, _v in claimed if wanted[s.pk].code and s.pk not in vouched
            ]
            current = adapter.get_customers(unread) if unread else {}
            to_push: list[tuple[SyncState, int, LedgerCustomer]] = []
            already: list[tuple[SyncState, int, LedgerCustomer]] = []
            for state, version in claimed:
                customer = wanted[state.pk]
                if state.pk in vouched:
                    # The ledger holds Kring's last view of it: equal, or Kring's to overwrite.
                    # Its complete record as last seen is the base of the write (Twinfield keeps
                    # fields Kring does not own; they go back as they are).
                    raw = (state.remote_record or {}).get("raw", "")
                    if customer.fingerprint() == state.remote_fingerprint:
                        seen = dataclasses.replace(
                            customer, modified=state.remote_modified, raw=raw
                        )
                        already.append((state, version, seen))
                    else:
                        to_push.append((state, version, dataclasses.replace(customer, raw=raw)))
                    continue
                remote = current.get(customer.code) if customer.code else None
                if remote is not None and remote.fingerprint() == customer.fingerprint():
                    # Recorded as the ledger's record (with its stamp): nothing to write.
                    already.append((state, version, remote))
                elif remote is not None and remote.fingerprint() not in (
                    state.remote_fingerprint,
                    state.sending_fingerprint,
                ):
                    # Someone changed the debtor in the ledger (or it existed before Kring knew
                    # it): an upsert would silently overwrite their change, so staff decide.
                    _record_conflict(state, remote)
                    self.settled.add(state.pk)
                    report.conflicts += 1
                else:
                    # Read-modify-write: the record just read is the base, so a change made in
                    # the ledger to a field Kring does not own (a telephone number) survives.
                    base = remote.raw if remote is not None else ""
                    to_push.append((state, version, dataclasses.replace(customer, raw=base)))
            going = _freeze_codes([*already, *to_push], self.relations)
            self.settled.update(state.pk for state, _v in claimed if state.relation_id not in going)
            already = [item for item in already if item[0].relation_id in going]
            self.to_push = [item for item in to_push if item[0].relation_id in going]
            _record_successes(already)
            self.settled.update(state.pk for state, _v, _c in already)
            report.pushed += len(already)
            _set_per_row(
                {
                    # Unverified until the ledger confirms: a worker that dies now leaves it read
                    # before the next try.
                    state.pk: {
                        "sending_fingerprint": customer.fingerprint(),
                        "remote_verified": False,
                    }
                    for state, _v, customer in self.to_push
                },
                claims=_claims(self.to_push),
            )
            batch = [c for _s, _v, c in self.to_push]
            if batch and executor is not None:
                self.write = executor.submit(_write_in_thread, adapter, batch)
            elif batch:
                self.write = adapter.upsert_customers(batch)
        except (LedgerError, SoftTimeLimitExceeded, OSError) as exc:
            self._failed(exc, report)
            return False
        return True

    def finish(self, report: PushReport) -> None:
        try:
            results = self.write.result() if isinstance(self.write, Future) else self.write
        except (LedgerError, SoftTimeLimitExceeded, OSError) as exc:
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
                _record_failure(state, version, "; ".join(result.messages), retryable=False)
                report.failed += 1
        _record_successes(landed)
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
            _record_failure(state, version, message, retryable=retryable, retry_after=retry_after)
        report.retried += len(unsettled) if retryable else 0
        report.failed += 0 if retryable else len(unsettled)
        report.errors.append(message)
        log.warning("ledger push failed for %d clients: %s", len(unsettled), message)
        if isinstance(exc, SoftTimeLimitExceeded):
            raise exc  # out of time: claim no further batch; the caller lets the office go


def _write_in_thread(adapter, batch: list[LedgerCustomer]) -> list[UpsertResult]:
    """The write, on the drain's writer thread. The adapter may touch the database (a token
    refreshed on the way): that thread's own connection, closed again here."""
    try:
        return adapter.upsert_customers(batch)
    finally:
        connection.close()  # the thread's own (django.db.connection is per thread)


def _freeze_codes(
    items: list[tuple[SyncState, int, LedgerCustomer]], relations: dict[int, Relation]
) -> set[int]:
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
            _mine(state).update(next_attempt_at=None)
    return going | keep


def _record_successes(pushed: list[tuple[SyncState, int, LedgerCustomer]]) -> None:
    """What the ledger now holds, for a batch in two queries, not three per client. The codes were
    frozen before they were sent (`_freeze_codes`)."""
    if not pushed:
        return
    current = dict(
        Relation.objects.filter(pk__in=[state.relation_id for state, _v, _c in pushed]).values_list(
            "pk", "ledger_version"
        )
    )
    values = {}
    for state, version, customer in pushed:
        fingerprint = customer.fingerprint()
        values[state.pk] = {
            "pushed_version": version,
            "pushed_fingerprint": fingerprint,
            "remote_fingerprint": fingerprint,
            "remote_record": customer_to_dict(customer),
            # Seen now, stamped by the ledger: the change feed vouches for it from here.
            "remote_modified": customer.modified,
            "remote_verified": bool(customer.modified),
            # Edited again while the push was under way: still due.
            "status": SyncState.Status.SYNCED
            if current.get(state.relation_id) == version
            else SyncState.Status.PENDING,
        }
    _set_per_row(
        values,
        claims=_claims(pushed),
        attempts=0,
        next_attempt_at=None,
        last_error="",
        last_pushed_at=timezone.now(),
    )


def _set_per_row(
    values: dict[int, dict[str, Any]],
    *,
    claims: Mapping[int, datetime | None] | None = None,
    **common: Any,
) -> int:
    """UPDATE SyncState rows, each with its own values (the same keys for every row) and the
    `common` ones; returns how many rows it wrote. One statement on PostgreSQL (`UPDATE … FROM
    (VALUES …)`): bulk_update's CASE per column cost more to compile than the rows took to write;
    bulk_update elsewhere.

    `claims`: each row's `next_attempt_at` as the drain claimed it. A row is then written only
    while that claim stands (`_mine`'s rule, in the same statement on PostgreSQL); elsewhere a
    filtered UPDATE per row (SQLite, the zero-setup default, runs one drain at a time anyway)."""
    if not values:
        return 0
    now = timezone.now()
    if connection.vendor != "postgresql":
        if claims is not None:
            return sum(
                SyncState.objects.filter(pk=pk, next_attempt_at=claims[pk]).update(
                    **row, **common, updated_at=now
                )
                for pk, row in values.items()
            )
        states = [SyncState(pk=pk, **row, **common) for pk, row in values.items()]
        return SyncState.objects.bulk_update(states, [*next(iter(values.values())), *common])
    meta = SyncState._meta
    names = list(next(iter(values.values())))
    json_names = {n for n in names if isinstance(meta.get_field(n), models.JSONField)}
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        return quote(field.column or name)

    assignments = [
        f"{column(n)} = v.{quote(n)}" + ("::jsonb" if n in json_names else "") for n in names
    ] + [f"{column(n)} = %s" for n in common]
    assignments.append(f"{column('updated_at')} = %s")
    columns = ["id", *(quote(n) for n in names)]
    where = "s.id = v.id"
    if claims is not None:
        columns.append("claimed_at")
        where += f" AND s.{column('next_attempt_at')} = v.claimed_at"
    rows = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(values))
    params: list[Any] = [*common.values(), now]
    for pk, row in values.items():
        params.append(pk)
        params.extend(json.dumps(row[n]) if n in json_names else row[n] for n in names)
        if claims is not None:
            params.append(claims[pk])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS s SET {', '.join(assignments)} "  # noqa: S608
            f"FROM (VALUES {rows}) AS v({', '.join(columns)}) WHERE {where}",
            params,
        )
        return cursor.rowcount


def _record_conflict(state: SyncState, remote: LedgerCustomer) -> None:
    _mine(state).update(
        status=SyncState.Status.CONFLICT,
        remote_record=customer_to_dict(remote),
        remote_modified=remote.modified,
        remote_verified=False,
        attempts=0,
        next_attempt_at=None,
        last_error="",
    )


def _record_failure(
    state: SyncState,
    version: int,
    message: str,
    *,
    retryable: bool,
    retry_after: float | None = None,
) -> None:
    if retryable and state.attempts < RETRY_BUDGET:
        _mine(state).update(
            status=SyncState.Status.PENDING,
            next_attempt_at=timezone.now() + backoff(state.attempts, retry_after),
            last_error=message[:2000],
        )
    else:
        _mine(state).update(
            status=SyncState.Status.FAILED,
            failed_version=version,
            next_attempt_at=None,
            last_error=message[:2000],
        )


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
    if relation.ledger_version <= state.pushed_version:
        Relation.objects.filter(pk=relation.pk).update(ledger_version=F("ledger_version") + 1)
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
    if relation.ledger_version <= state.pushed_version:
        Relation.objects.filter(pk=relation.pk).update(ledger_version=F("ledger_version") + 1)
    TimelineEvent.record(relation, TimelineEvent.Kind.CHANGED, actor=user, fields=["ledger"])
    _nudge(relation.practice_id)


@transaction.atomic
def take_ledger(*, relation: Relation, user: User) -> None:
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
    from sync.tasks import nudge

    transaction.on_commit(lambda: nudge(practice_id))
