"""The ledger on the home page (practice.extensions): clients whose push failed or that changed in the
ledger meanwhile, and for a new office's owner the first step of importing the ledger's debtors."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from practice import extensions
from practice.http import MemberRequest
from sync.models import ImportRun, SyncState

PANEL_ROWS = 8


def ledger_problems_context(request: MemberRequest) -> dict[str, Any] | None:
    states = (
        SyncState.objects.filter(
            practice=request.membership.practice,
            status__in=[SyncState.Status.FAILED, SyncState.Status.CONFLICT],
            relation__archived_at=None,
        )
        .select_related("relation")
        .order_by("relation__display_name", "pk")
    )
    rows = list(states[: PANEL_ROWS + 1])
    if not rows:
        return None
    return {"states": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS}


def import_step(request: MemberRequest) -> tuple[str, str, str] | None:
    membership = request.membership
    if not membership.is_owner:
        return None
    if ImportRun.objects.filter(practice=membership.practice).exists():
        return None
    from relations.models import Relation

    if Relation.objects.filter(practice=membership.practice).exists():
        return None
    return (
        _("Import your debtors"),
        _("Bring the clients you already have in the ledger into Kring in one go."),
        reverse("sync-import"),
    )


def register() -> None:
    extensions.register_home_panel(
        extensions.HomePanel(
            key="ledger-problems",
            template="sync/home_problems.html",
            context=ledger_problems_context,
            order=30,
        )
    )
    extensions.register_first_step(
        extensions.FirstStep(key="import-debtors", order=20, applies=import_step)
    )
