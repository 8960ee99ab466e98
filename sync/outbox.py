"""The outbox: which clients wait for the ledger, and how a practice's clients stand with it.

The outbox is `Relation.ledger_version` (bumped by relations in the same transaction as the change)
against `SyncState.pushed_version`; `SyncState.objects.due()` says which rows a drain pushes now
(sync.drain), `ledger_counts` what the office's ledger page and `ledger_status` show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from practice.models import Practice
from relations.models import Relation
from sync.models import LedgerConnection, SyncState, SyncStateQuerySet, due_condition


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


def due_states(practice: Practice) -> SyncStateQuerySet:
    return SyncState.objects.filter(practice=practice).due()


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
    due = unseen | due_condition(now, state="sync_state__", relation="")
    totals = Relation.objects.filter(practice=practice, kind=Relation.Kind.CLIENT).aggregate(
        clients=models.Count("pk"),
        due=models.Count("pk", filter=due),
        oldest_due=models.Min(Coalesce("sync_state__updated_at", "updated_at"), filter=due),
        **{status.value: models.Count("pk", filter=q) for status, q in settled.items()},
    )
    by_status = {status: totals.get(status, 0) for status in Status.values}
    by_status[Status.PENDING] = totals["clients"] - sum(totals[s.value] for s in settled)
    return LedgerCounts(by_status=by_status, due=totals["due"], oldest_due=totals["oldest_due"])
