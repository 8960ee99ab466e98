"""What relations shows on practice's pages (practice.extensions): the members' team places, the
home page's "my relations" and "clients without a relationship manager", and the first step of an
empty office. Registered in RelationsConfig.ready(), so practice never imports relations.

"Recently viewed" is kept in a signed cookie (the last few detail pages opened, newest first): a GET
writes nothing — no row, not even the session (README, Performance) — and the signature is salted
with the user, so another account on the same browser does not see the list.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from practice import extensions
from practice.http import MemberRequest
from relations.models import MANAGER_KEY, Relation, TeamAssignment, TimelineEvent

RECENT_COOKIE = "kring_recent"
RECENT_COOKIE_AGE = 60 * 60 * 24 * 30
RECENT_MAX = 8
PANEL_ROWS = 8


# --- recently viewed -----------------------------------------------------------------------------


def _cookie(practice_id: int) -> str:
    return f"{RECENT_COOKIE}_{practice_id}"


def _salt(user_id: int) -> str:
    return f"relations.office.recent:{user_id}"


def _recent_ids(request: HttpRequest, practice_id: int) -> list[str]:
    value = request.get_signed_cookie(
        _cookie(practice_id), default="", salt=_salt(request.user.pk or 0)
    )
    return [part for part in (value or "").split(",") if part][:RECENT_MAX]


def remember_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps the detail page: a page shown (200) is put first in the recent list (a cookie)."""

    @wraps(view)
    def wrapper(request: HttpRequest, public_id: UUID, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, public_id, *args, **kwargs)
        membership = getattr(request, "membership", None)
        if response.status_code == 200 and membership is not None:
            seen = str(public_id)
            recent = [seen] + [v for v in _recent_ids(request, membership.practice_id) if v != seen]
            response.set_signed_cookie(
                _cookie(membership.practice_id),
                ",".join(recent[:RECENT_MAX]),
                salt=_salt(request.user.pk or 0),
                max_age=RECENT_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    return wrapper


def _recently_viewed(request: MemberRequest) -> list[Relation]:
    ids = _recent_ids(request, request.membership.practice_id)
    if not ids:
        return []
    found = {
        str(r.public_id): r
        for r in Relation.objects.filter(
            practice=request.membership.practice, public_id__in=ids
        ).active()
    }
    return [found[i] for i in ids if i in found]


def _recently_changed(request: MemberRequest) -> list[Relation]:
    latest = (
        TimelineEvent.objects.filter(
            practice=request.membership.practice, actor=request.user, relation__archived_at=None
        )
        .values("relation_id")
        .annotate(last=Max("created_at"))
        .order_by("-last")[:PANEL_ROWS]
    )
    rows = list(latest)
    found = Relation.objects.in_bulk([row["relation_id"] for row in rows])
    return [found[row["relation_id"]] for row in rows if row["relation_id"] in found]


def my_relations_context(request: MemberRequest) -> dict[str, Any] | None:
    practice = request.membership.practice
    if not Relation.objects.filter(practice=practice).exists():
        return None
    mine = (
        Relation.objects.filter(practice=practice)
        .active()
        .filter(Exists(TeamAssignment.objects.filter(relation=OuterRef("pk"), user=request.user)))
        .count()
    )
    return {
        "viewed": _recently_viewed(request),
        "changed": _recently_changed(request),
        "mine_count": mine,
        "mine_url": reverse("relations-list") + "?team=mine",
    }


def unmanaged_context(request: MemberRequest) -> dict[str, Any] | None:
    clients = (
        Relation.objects.filter(practice=request.membership.practice, kind=Relation.Kind.CLIENT)
        .active()
        .exclude(Exists(TeamAssignment.objects.filter(relation=OuterRef("pk"), role=MANAGER_KEY)))
        .order_by("display_name", "pk")
    )
    rows = list(clients[: PANEL_ROWS + 1])
    if not rows:
        return None
    return {"clients": rows[:PANEL_ROWS], "more": len(rows) > PANEL_ROWS}


def add_relations_step(request: MemberRequest) -> tuple[str, str, str] | None:
    if Relation.objects.filter(practice=request.membership.practice).exists():
        return None
    if not request.membership.can_change:
        return None
    return (
        _("Add your first relations"),
        _("Clients and contacts, companies and private persons: one by one."),
        reverse("relations-new"),
    )


# --- a member's work (Kantoor → Medewerkers) -----------------------------------------------------


def relation_counts(practice) -> dict[int, int]:
    rows = (
        TeamAssignment.objects.filter(practice=practice, relation__archived_at=None)
        .values("user_id")
        .annotate(n=Count("relation_id", distinct=True))
    )
    return {row["user_id"]: row["n"] for row in rows}


def team_places(membership) -> list[tuple[str, str, str]]:
    """Each active relation the member is on, with the role: what to hand to someone else."""
    assignments = (
        TeamAssignment.objects.filter(
            practice=membership.practice, user=membership.user, relation__archived_at=None
        )
        .select_related("relation", "team_role")
        .order_by("relation__display_name", "relation_id", "team_role__position")
    )
    return [
        (
            str(a.relation),
            str(a.get_role_display()),
            reverse("relations-tab", args=[a.relation.public_id, "team"]),
        )
        for a in assignments
    ]


def member_actions(membership) -> list[tuple[str, str]]:
    return [(_("Hand over"), reverse("team-hand-over", args=[membership.pk]))]


def register() -> None:
    extensions.register_home_panel(
        extensions.HomePanel(
            key="my-relations",
            template="relations/home_mine.html",
            context=my_relations_context,
            order=10,
        )
    )
    extensions.register_home_panel(
        extensions.HomePanel(
            key="unmanaged",
            template="relations/home_unmanaged.html",
            context=unmanaged_context,
            order=20,
        )
    )
    extensions.register_first_step(
        extensions.FirstStep(key="add-relations", order=10, applies=add_relations_step)
    )
    extensions.register_member_work(
        extensions.MemberWork(
            key="relations",
            label=gettext_lazy("Relations"),
            counts=relation_counts,
            places=team_places,
            actions=member_actions,
        )
    )
