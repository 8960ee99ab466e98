"""The office's team roles (Kantoor → Teamrollen) and team work in bulk.

* The roles: a new practice gets the six seeded roles (`seed_new_practice`, a `post_save` receiver
  RelationsConfig.ready() connects, so practice never imports relations); the owner adds, renames,
  reorders and deactivates roles. The required role (the relationship manager) is never
  deactivated or deleted, and no role in use is ever deleted.
* `assign` puts one member in one role on many relations (the list's *Teamlid toewijzen*).
* `hand_over` moves a member's team places (all, or those of one role) to another member
  (*Overdragen* on the member's page): one transaction, a few statements whatever the number.

Every relation a bulk write touches goes through relations.changes.record_changes (its version, its
timeline event naming role keys only, never a name); the ledger does not hear of team changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from practice.models import Practice
from relations import extensions
from relations.changes import record_changes
from relations.models import MANAGER_KEY, Relation, TeamAssignment, TeamRole, TimelineEvent
from relations.services import BulkResult, check_team_member, team_role

Event = TimelineEvent.Kind


def seed_new_practice(sender: Any, instance: Practice, created: bool, raw: bool = False, **kwargs):
    """A new practice starts with the six roles (a fixture load, `raw`, brings its own)."""
    if created and not raw:
        TeamRole.objects.seed(instance.pk)


# --- the roles -----------------------------------------------------------------------------------


def _key_for(practice: Practice, name: str) -> str:
    base = slugify(name).replace("-", "_")[:24] or "role"
    taken = set(TeamRole.objects.filter(practice=practice).values_list("key", flat=True))
    key, n = base, 1
    while key in taken:
        n += 1
        key = f"{base}_{n}"
    return key


def _check_name(practice: Practice, name: str, exclude: TeamRole | None = None) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("A team role needs a name.")})
    others = [r for r in TeamRole.objects.filter(practice=practice) if r != exclude]
    if any(r.label.casefold() == name.casefold() for r in others):
        raise ValidationError({"name": _("The office has a team role with this name already.")})
    return name


@transaction.atomic
def add_role(*, practice: Practice, name: str) -> TeamRole:
    name = _check_name(practice, name)
    top = TeamRole.objects.filter(practice=practice).aggregate(top=Max("position"))["top"] or 0
    return TeamRole.objects.create(
        practice=practice, key=_key_for(practice, name), name=name, position=top + 10
    )


@transaction.atomic
def rename_role(*, role: TeamRole, name: str) -> TeamRole:
    role.name = _check_name(role.practice, name, exclude=role)
    role.save(update_fields=["name"])
    return role


@transaction.atomic
def move_role(*, role: TeamRole, up: bool) -> None:
    """One place up or down: the positions are renumbered 10, 20, … on the way."""
    roles = list(TeamRole.objects.select_for_update().filter(practice_id=role.practice_id))
    at = next(n for n, r in enumerate(roles) if r.pk == role.pk)
    to = at - 1 if up else at + 1
    if 0 <= to < len(roles):
        roles[at], roles[to] = roles[to], roles[at]
    for n, r in enumerate(roles):
        r.position = (n + 1) * 10
    TeamRole.objects.bulk_update(roles, ["position"])


@transaction.atomic
def set_role_active(*, role: TeamRole, active: bool) -> None:
    if role.required and not active:
        raise ValidationError(_("Every client keeps a relationship manager: this role stays."))
    role.active = active
    role.save(update_fields=["active"])


@transaction.atomic
def delete_role(*, role: TeamRole) -> None:
    """Only a role nobody ever held goes; one in use is deactivated instead."""
    role = TeamRole.objects.select_for_update().get(pk=role.pk)
    if role.required:
        raise ValidationError(_("Every client keeps a relationship manager: this role stays."))
    if TeamAssignment.objects.filter(team_role=role).exists():
        raise ValidationError(
            _("This role is held on teams, so it cannot be deleted: deactivate it instead.")
        )
    role.delete()


def in_use(practice: Practice) -> dict[int, int]:
    """{role id: places on active relations}, one query."""
    rows = (
        TeamAssignment.objects.filter(practice=practice, relation__archived_at=None)
        .values("team_role_id")
        .annotate(n=Count("pk"))
    )
    return {row["team_role_id"]: row["n"] for row in rows}


# --- assigning in bulk ---------------------------------------------------------------------------


@transaction.atomic
def assign(
    *, practice: Practice, user: User, relations: Iterable[Relation], member: User, role: TeamRole
) -> BulkResult:
    """`member` in `role` on each relation; archived ones and those where they hold it are skipped.

    A few statements for the lot: the rows locked, the present places read, one insert of the new
    places, the relations' versions and timeline events through record_changes.
    """
    check_team_member(practice.pk, member)
    role = team_role(practice.pk, role)
    if not role.active:
        raise ValidationError({"role": _("This team role is no longer in use.")})
    rows = list(
        Relation.objects.select_for_update()
        .filter(practice=practice, pk__in=[r.pk for r in relations])
        .order_by("pk")
    )
    holding = set(
        TeamAssignment.objects.filter(relation__in=rows, user=member, role=role.key).values_list(
            "relation_id", flat=True
        )
    )
    result = BulkResult()
    for relation in rows:
        if relation.is_archived:
            result.skipped.append((relation, _("archived; restore it first")))
        elif relation.pk in holding:
            result.skipped.append((relation, _("already holds this role")))
        else:
            result.done.append(relation)
    TeamAssignment.objects.bulk_create(
        TeamAssignment(practice=practice, relation=r, user=member, role=role.key, team_role=role)
        for r in result.done
    )
    extensions.teams_changed(result.done, [role.key])  # the apps above move their role work
    record_changes(
        result.done,
        user=user,
        event=Event.TEAM_ADDED,
        fields=[role.key],
        ledger=False,
        refs={"member": member},
    )
    return result


# --- handing over --------------------------------------------------------------------------------


@dataclass
class HandOver:
    """What a hand-over does (or did): per relation, the role keys moved and those dropped because
    the other member held that role there already (their place stays, the leaver's goes)."""

    relations: list[Relation] = field(default_factory=list)
    moved: dict[int, list[str]] = field(default_factory=dict)
    merged: dict[int, list[str]] = field(default_factory=dict)
    dropped: list[int] = field(default_factory=list)  # the leaver's places that go (their ids)

    @property
    def places(self) -> int:
        return sum(len(v) for v in self.moved.values()) + sum(len(v) for v in self.merged.values())


def _places(practice: Practice, member: User, role: TeamRole | None):
    places = TeamAssignment.objects.filter(
        practice=practice, user=member, relation__archived_at=None
    )
    if role is not None:
        places = places.filter(team_role=role)
    return places


def plan_hand_over(
    *, practice: Practice, member: User, to: User, role: TeamRole | None = None
) -> HandOver:
    """The preview: which places of `member` go to `to`; two queries, whatever the number."""
    places = list(_places(practice, member, role).values_list("pk", "relation_id", "role"))
    theirs = set(
        TeamAssignment.objects.filter(
            practice=practice, user=to, relation_id__in={r for _pk, r, _k in places}
        ).values_list("relation_id", "role")
    )
    plan = HandOver()
    for pk, relation_id, key in places:
        if (relation_id, key) in theirs:
            plan.merged.setdefault(relation_id, []).append(key)
            plan.dropped.append(pk)
        else:
            plan.moved.setdefault(relation_id, []).append(key)
    ids = set(plan.moved) | set(plan.merged)
    plan.relations = list(
        Relation.objects.filter(pk__in=ids)
        .order_by("display_name", "pk")
        .only("pk", "public_id", "practice_id", "display_name", "client_code", "kind", "entity")
    )
    return plan


@transaction.atomic
def hand_over(
    *, practice: Practice, user: User, member: User, to: User, role: TeamRole | None = None
) -> HandOver:
    """Move `member`'s places on active relations (or those in `role`) to `to`, in one transaction.

    Where `to` holds the role already the leaver's place is removed; elsewhere it becomes theirs.
    A client keeps its relationship manager throughout: a manager's place is moved, never lost.
    """
    if member.pk == to.pk:
        raise ValidationError({"to": _("Choose someone else to hand over to.")})
    check_team_member(practice.pk, to)
    if role is not None:
        role = team_role(practice.pk, role)
    plan = plan_hand_over(practice=practice, member=member, to=to, role=role)
    if not plan.relations:
        return plan
    # The relations first, in pk order, as every bulk path takes them.
    list(
        Relation.objects.select_for_update()
        .filter(pk__in=[r.pk for r in plan.relations])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    places = _places(practice, member, role)
    if plan.dropped:
        TeamAssignment.objects.filter(pk__in=plan.dropped).delete()
    places.exclude(pk__in=plan.dropped).update(user=to)
    keys = {
        r.pk: sorted({*plan.moved.get(r.pk, []), *plan.merged.get(r.pk, [])})
        for r in plan.relations
    }
    record_changes(
        plan.relations,
        user=user,
        event=Event.TEAM_HANDED_OVER,
        fields=keys,
        ledger=False,
        now=timezone.now(),
        refs={"member": to},
    )
    extensions.teams_changed(plan.relations, sorted({key for ks in keys.values() for key in ks}))
    return plan


__all__ = [
    "MANAGER_KEY",
    "HandOver",
    "add_role",
    "assign",
    "delete_role",
    "hand_over",
    "in_use",
    "move_role",
    "plan_hand_over",
    "rename_role",
    "seed_new_practice",
    "set_role_active",
]
