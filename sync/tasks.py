"""Thin Celery tasks: take ids, call the drain or the importer. Nothing here may lose a change: a
task that never runs (broker down, worker killed) only delays the push, because the sweep finds
every due client.

Nothing in sync imports this module: a push is asked for by the task's name (sync.wake), and
SyncConfig.ready() imports it so that the web process knows the tasks it sends (and runs them
eagerly without a broker); Celery's autodiscovery imports it in a worker.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.utils import translation

from practice.db import analyze
from practice.models import Practice
from relations.models import Address, BankAccount, Relation, TimelineEvent
from sync import drain, outbox
from sync.importer import run_import
from sync.models import ImportRun, SyncState
from sync.wake import PUSH_TASK, nudge

log = logging.getLogger(__name__)
EAGER_DEADLINE_SECONDS = 3


@shared_task(
    name=PUSH_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.SYNC_TASK_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.SYNC_TASK_TIME_LIMIT_SECONDS,
    ignore_result=True,
    bind=True,
)
def push_practice(self, practice_id: int) -> dict:
    practice = Practice.objects.filter(pk=practice_id).first()
    if practice is None:
        return {}
    # No wait the ledger asks for may run into the soft time limit: stop waiting a little before
    # it, so the batch in hand is put back with its next attempt instead of being cut off. Run
    # eagerly (no broker: inside the request that saved the change) it waits a few seconds at
    # most; the sweep pushes what is left.
    budget = (
        EAGER_DEADLINE_SECONDS
        if self.request.is_eager
        else max(10, settings.SYNC_TASK_SOFT_TIME_LIMIT_SECONDS - 20)
    )
    deadline = time.monotonic() + budget
    report = drain.push_practice(practice, deadline=deadline)
    return {"pushed": report.pushed, "failed": report.failed, "conflicts": report.conflicts}


@shared_task(name="sync.sweep", ignore_result=True)
def sweep() -> int:
    """Every minute (beat): a push for each practice with clients due, whatever happened to nudges."""
    practices = set()
    for practice in Practice.objects.filter(relations__kind="client").distinct():
        outbox.ensure_states(practice)
        if outbox.due_states(practice).exists():
            practices.add(practice.pk)
    for practice_id in practices:
        nudge(practice_id)
    return len(practices)


def analyze_imported() -> list[str]:
    """Fresh data is fast data (practice.db): after an import, the tables it loaded are analysed,
    so that the first search after a go-live import plans on the imported rows, not on none."""
    return analyze(Relation, Address, BankAccount, SyncState, TimelineEvent)


@shared_task(name="sync.import_debtors", acks_late=True, reject_on_worker_lost=True)
def import_debtors(run_id: int, language: str | None = None) -> dict[str, int]:
    """Run a queued import (thin: load the run, call the importer). A run that already finished
    (a redelivered message) is left alone.

    `language` is the starter's, so the per-debtor messages in the report read in it.
    """
    run = (
        ImportRun.objects.select_related("practice", "started_by")
        .filter(pk=run_id, status=ImportRun.Status.RUNNING)
        .first()
    )
    if run is None:
        return {}
    with translation.override(language or settings.LANGUAGE_CODE):
        try:
            run_import(practice=run.practice, run=run)
        except Exception:
            # The run holds the error and shows it on the import page; the log gets the traceback.
            log.exception("import run %s failed", run_id)
    if (run.created or run.updated) and not run.dry_run:
        analyze_imported()  # a failed run may have loaded part of its rows: those count too
    return {
        "processed": run.processed,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed": run.failed,
    }
