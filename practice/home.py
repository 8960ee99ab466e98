"""The home page (`/`): the panels the apps registered (practice.extensions), in their order.

Each panel runs a fixed number of queries, so the page costs the same in an office of ten relations
as in one of a hundred thousand. An empty new office sees its first steps instead of empty cards.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from practice import extensions
from practice.http import MemberRequest
from practice.models import Membership

PANEL_ROWS = 8


def colleague_invitations_context(request: MemberRequest) -> dict[str, Any] | None:
    if not request.membership.is_owner:
        return None
    from practice.office import pending_invitations

    rows = list(pending_invitations(request)[: PANEL_ROWS + 1])
    if not rows:
        return None
    return {"invitations": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS}


def invite_step(request: MemberRequest) -> tuple[str, str, str] | None:
    membership = request.membership
    if not membership.is_owner:
        return None
    if Membership.objects.filter(practice=membership.practice).count() > 1:
        return None
    return (
        _("Invite your colleagues"),
        _("Each colleague gets their own login, in the role you choose."),
        reverse("office-invite"),
    )


def panels(request: MemberRequest) -> list[tuple[str, dict[str, Any]]]:
    shown = []
    for panel in sorted(extensions.home_panels.values(), key=lambda p: (p.order, p.key)):
        context = panel.context(request)
        if context is not None:
            shown.append((panel.template, context))
    return shown


def first_steps(request: MemberRequest) -> list[tuple[str, str, str]]:
    steps = sorted(extensions.first_steps.values(), key=lambda s: (s.order, s.key))
    return [found for step in steps if (found := step.applies(request)) is not None]


def register() -> None:
    extensions.register_home_panel(
        extensions.HomePanel(
            key="colleague-invitations",
            template="practice/home_invitations.html",
            context=colleague_invitations_context,
            order=50,
        )
    )
    extensions.register_first_step(
        extensions.FirstStep(key="invite-colleagues", order=30, applies=invite_step)
    )
