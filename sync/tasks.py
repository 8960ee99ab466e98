"""Thin Celery tasks: take ids, call sync.services. Nothing here may lose a change: a task that never
runs (broker down, worker killed) only delays the push, because the sweep finds every due client."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from practice.models import Practice
from sync import services

log = logging.getLogger(__name__)
EAGER_DEADLINE_SECONDS = 3


@shared_task(
    name="sync.push_practice",
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
    report = services.push_practice(practice, deadline=deadline)
    return {"pushed": report.pushed, "failed": report.failed, "conflicts": report.conflicts}


@shared_task(name="sync.sweep", ignore_result=True)
def sweep() -> int:
    """Every minute (beat): a push for each practice with clients due, whatever happened to nudges."""
    practices = set()
    for practice in Practice.objects.filter(relations__kind="client").distinct():
        services.ensure_states(practice)
        if services.due_states(practice).exists():
            practices.add(practice.pk)
    for practice_id in practices:
        nudge(practice_id)
    return len(practices)


def nudge(practice_id: int) -> None:
    """Ask a worker to push now. If the broker cannot take it, the next sweep will: never an error."""
    try:
        push_practice.apply_async(args=[practice_id], retry=False)
    except Exception:
        # Any broker failure (or, with eager tasks, the push itself): the outbox row is committed,
        # so the sweep pushes it later. The user's save must not fail for it.
        log.exception("ledger push for practice %s not queued; the sweep will retry", practice_id)


# The import task lives beside the import code; imported here so workers register it.
from sync import import_tasks  # noqa: E402, F401
