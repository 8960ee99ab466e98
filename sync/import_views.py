"""The owners' "Import debtors" page: start an import (or a dry run) and watch it progress."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from practice.access import get_scoped_or_404, owner_required, scoped
from practice.http import MemberRequest
from relations.models import Relation
from sync.importer import Outcome, kept_count
from sync.models import ImportRun
from sync.tasks import import_debtors

log = logging.getLogger(__name__)

RECENT_RUNS = 10
# The report table is re-rendered on every poll; past this many rows it says how many it left out.
ROWS_SHOWN = 1_000
OUTCOME_LABELS = {
    Outcome.CREATED: gettext_lazy("Created"),
    Outcome.UPDATED: gettext_lazy("Updated"),
    Outcome.UNCHANGED: gettext_lazy("Unchanged"),
    Outcome.KEPT: gettext_lazy("Kept Kring's change"),
    Outcome.FAILED: gettext_lazy("Failed"),
}
# What needs a person's attention comes first.
OUTCOME_ORDER = [Outcome.FAILED, Outcome.KEPT, Outcome.UPDATED, Outcome.CREATED, Outcome.UNCHANGED]


@require_http_methods(["GET", "POST"])
@owner_required
def start(request: MemberRequest) -> HttpResponse:
    if request.method == "POST":
        run = ImportRun.objects.create(
            practice=request.membership.practice,
            started_by=request.user,
            dry_run=bool(request.POST.get("dry_run")),
        )
        language = translation.get_language()
        transaction.on_commit(lambda: _enqueue(run, language))
        return redirect("sync-import-run", pk=run.pk)
    runs = scoped(request, ImportRun).select_related("started_by")[:RECENT_RUNS]
    return render(request, "sync/import.html", {"runs": runs})


@require_GET
@owner_required
def run_detail(request: MemberRequest, pk: int) -> HttpResponse:
    run = get_scoped_or_404(request, ImportRun, pk=pk)
    context = _progress_context(run)
    template = "sync/import.html#progress" if request.htmx else "sync/import.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _enqueue(run: ImportRun, language: str | None) -> None:
    try:
        import_debtors.delay(run.pk, language)
    except Exception:  # any broker failure: say so on the run instead of a 500
        log.warning("could not queue import run %s", run.pk, exc_info=True)
        ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.RUNNING).update(
            status=ImportRun.Status.FAILED,
            error=_("The import could not be started. Try again in a moment."),
        )


def _progress_context(run: ImportRun) -> dict[str, Any]:
    order = {outcome: position for position, outcome in enumerate(OUTCOME_ORDER)}
    entries = sorted(run.report, key=lambda e: order.get(e.get("outcome"), len(order)))
    entities = dict(Relation.Entity.choices)
    rows = [
        {
            "code": entry.get("code", ""),
            "name": entry.get("name", ""),
            "outcome": entry.get("outcome", ""),
            "outcome_label": OUTCOME_LABELS.get(entry.get("outcome"), entry.get("outcome")),
            "entity_label": entities.get(entry.get("entity", ""), ""),
            "messages": entry.get("messages", []),
        }
        for entry in entries[:ROWS_SHOWN]
    ]
    return {
        "run": run,
        "running": run.status == ImportRun.Status.RUNNING,
        "kept": kept_count(run),
        "rows": rows,
        "rows_not_shown": max(run.processed - len(rows), 0),
    }
