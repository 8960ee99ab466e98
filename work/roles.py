"""Who holds a team role on a client: the one place work asks (the team's roles become per-office
TeamRole rows with the same stable keys; only `holders` changes then)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef
from django_stubs_ext import StrOrPromise

from relations.models import Relation, TeamAssignment


def holders(relation: Relation, role_key: str) -> list[User]:
    return [
        a.user
        for a in TeamAssignment.objects.filter(relation=relation)
        .holding(role_key)
        # A deactivated member stays on the team for the record, but no longer gets work.
        .filter(
            user__memberships__practice_id=relation.practice_id,
            user__memberships__deactivated_at__isnull=True,
        )
        .select_related("user")
        .order_by("user__username", "pk")
    ]


def role_choices() -> list[tuple[str, StrOrPromise]]:
    return list(TeamAssignment.Role.choices)


def role_label(role_key: str) -> StrOrPromise:
    return dict(TeamAssignment.Role.choices).get(role_key, role_key)


def holds_role_of(user: User) -> Exists:
    """For a Task queryset: `user` holds the task's role on the task's client (Mijn taken)."""
    return Exists(
        TeamAssignment.objects.filter(
            relation=OuterRef("relation_id"), user=user, role=OuterRef("role_key")
        )
    )


def on_team(*, user_id: int | None, role_key: str) -> Exists:
    """For a Relation queryset: the member (any, if None) holds the role (any, if "") on its team."""
    team = TeamAssignment.objects.filter(relation=OuterRef("pk"))
    if user_id is not None:
        team = team.filter(user_id=user_id)
    if role_key:
        team = team.filter(role=role_key)
    return Exists(team)


def role_is_held() -> Exists:
    """For a Task queryset: an active member holds the task's role on the task's client's team."""
    return Exists(
        TeamAssignment.objects.filter(
            relation=OuterRef("relation_id"),
            role=OuterRef("role_key"),
            user__memberships__practice_id=OuterRef("practice_id"),
            user__memberships__deactivated_at__isnull=True,
        )
    )
