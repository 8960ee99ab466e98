"""Open portal invitations on the home page (practice.extensions), for those who may resend them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from portal.models import Invitation
from practice import extensions
from practice.http import MemberRequest

PANEL_ROWS = 8


def pending_context(request: MemberRequest) -> dict[str, Any] | None:
    if not request.membership.can_change:
        return None
    invitations = (
        Invitation.objects.open()
        .filter(practice=request.membership.practice, expires_at__gt=timezone.now())
        .select_related("relation")
        .order_by("expires_at", "pk")
    )
    rows = list(invitations[: PANEL_ROWS + 1])
    if not rows:
        return None
    return {"invitations": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS}


def register() -> None:
    extensions.register_home_panel(
        extensions.HomePanel(
            key="portal-invitations",
            template="portal/home_pending.html",
            context=pending_context,
            order=40,
        )
    )
