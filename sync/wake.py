"""Waking the drain: a push task for a practice, sent by its name (`sync.push_practice`) so that
nothing in sync imports the tasks module (which imports the drain, which imports these).

Nothing here may fail a save: a nudge that never arrives only delays the push, because the sweep
finds every due client. Tasks run eagerly (no broker: `make run`, the tests) once sync.tasks is
registered, which SyncConfig.ready() sees to.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)
PUSH_TASK = "sync.push_practice"


def nudge(practice_id: int) -> None:
    """Ask a worker to push now. If the broker cannot take it, the next sweep will: never an error."""
    try:
        current_app.signature(PUSH_TASK, args=[practice_id]).apply_async(retry=False)
    except Exception:
        # Any broker failure (or, with eager tasks, the push itself): the outbox row is committed,
        # so the sweep pushes it later. The user's save must not fail for it.
        log.exception("ledger push for practice %s not queued; the sweep will retry", practice_id)


class _Pending(threading.local):
    """Per thread (a connection is), each practice's nudge waiting for a commit."""

    def __init__(self) -> None:
        self.by_practice: dict[int, weakref.ref[_Nudge]] = {}


class _Nudge:
    """One nudge after commit. `nudges_practice` names its practice (the tests look for it)."""

    def __init__(self, practice_id: int) -> None:
        self.nudges_practice = practice_id
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        nudge(self.nudges_practice)


_pending = _Pending()


def nudge_on_commit(practice_id: int) -> Callable[[], None]:
    """Nudge the practice's drain once the current transaction commits (at once outside one).

    One drain pushes every due client of the practice, so one nudge per practice per transaction
    is enough: a bulk conversion of 1,000 contacts queues one task, not 1,000. The nudge waiting
    is known by a weak reference: Django holds the only strong one, in the transaction's commit
    hooks, so the reference dies with the hook: when it has run, and when a rolled-back savepoint
    takes it away (then a later change in the same transaction registers anew)."""
    waiting = _pending.by_practice.get(practice_id)
    found = waiting() if waiting is not None else None
    if found is not None and not found.sent:
        return found
    callback = _Nudge(practice_id)
    _pending.by_practice[practice_id] = weakref.ref(callback)
    transaction.on_commit(callback)
    return callback
