"""The import as a Celery task (thin: load the run, call the importer).

Celery's autodiscovery imports only `sync.tasks`, which must import this module for a worker to know
the task.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import translation

from practice.db import analyze
from relations.models import Address, BankAccount, Relation, TimelineEvent
from sync.importer import run_import
from sync.models import ImportRun, SyncState

log = logging.getLogger(__name__)


def analyze_imported() -> list[str]:
    """Fresh data is fast data (practice.db): after an import, the tables it loaded are analysed,
    so that the first search after a go-live import plans on the imported rows, not on none."""
    return analyze(Relation, Address, BankAccount, SyncState, TimelineEvent)


@shared_task(name="sync.import_debtors", acks_late=True, reject_on_worker_lost=True)
def import_debtors(run_id: int, language: str | None = None) -> dict[str, int]:
    """Run a queued import. A run that already finished (a redelivered message) is left alone.

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
