"""Starting work and doing it: the workflows over processes and tasks (STYLE §10).

Every change of a task goes through here, so that the process's status is recomputed by one rule
(done exactly when every task that is not skipped is done) and the timeline hears of it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from relations.models import Relation, ServiceAgreement, TimelineEvent
from work import dates, roles
from work.models import (
    DeadlineExtension,
    DeadlineKind,
    Process,
    ProcessTemplate,
    Task,
    TemplateStep,
)

# --- what a member has to do ---------------------------------------------------------------------


def open_tasks_for(practice_id: int, user: User) -> QuerySet[Task]:
    """Mine, and the unclaimed ones of the roles I hold on the client's team: one query, however
    many tasks the office has (Mijn taken, the home panel and the daily e-mail read it)."""
    return (
        Task.objects.filter(practice_id=practice_id, status=Task.Status.OPEN)
        .filter(
            Q(assignee=user)
            | (Q(assignee__isnull=True, assignee_kind="role") & Q(roles.holds_role_of(user)))
        )
        .select_related("process", "relation")
        .order_by("due_date", "pk")
    )


# --- starting ------------------------------------------------------------------------------------


def running_services(relation: Relation, on: date | None = None) -> set[str]:
    return set(
        ServiceAgreement.objects.filter(relation=relation)
        .running(on or dates.today())
        .values_list("service", flat=True)
    )


def offer(relation: Relation) -> list[tuple[ProcessTemplate, str]]:
    """Every active template of the office with why it cannot be started here ("" when it can)."""
    running = running_services(relation) if relation.is_client else set()
    offered = []
    for template in ProcessTemplate.objects.filter(practice_id=relation.practice_id).active():
        if not relation.is_client:
            reason = _("Only a client can have work processes.")
        elif template.service not in running:
            reason = _("No running agreement for %(service)s.") % {
                "service": template.get_service_display()
            }
        else:
            reason = ""
        offered.append((template, reason))
    return offered


@dataclass(frozen=True)
class PlannedTask:
    step: TemplateStep
    due_date: date
    assignee: User | None
    holders: int  # for a role step: how many hold the role on the client's team


def plan(
    *, relation: Relation, template: ProcessTemplate, period: dates.Period, starter: User
) -> list[PlannedTask]:
    """The tasks the process would get, with their due dates: the preview and the start share it."""
    planned: list[PlannedTask] = []
    previous = dates.today()
    extended = {
        e.deadline_kind_id: e.due_date
        for e in DeadlineExtension.objects.filter(relation=relation, fiscal_year=period.end.year)
    }
    for step in template.steps.select_related("deadline_kind").order_by("position", "pk"):
        if step.due_rule == TemplateStep.DueRule.DEADLINE and step.deadline_kind is not None:
            deadline = extended.get(step.deadline_kind.pk) or step.deadline_kind.due_for(
                period, relation
            )
            due = due_from(deadline, step.days)
        else:
            due = dates.roll(previous + timedelta(days=step.days))
        assignee, count = _assignee(step.assignee_kind, step.role_key, relation, starter)
        planned.append(PlannedTask(step=step, due_date=due, assignee=assignee, holders=count))
        previous = due
    return planned


def due_from(deadline: date, days: int) -> date:
    """A step `days` from its deadline: before it a step moves earlier, never past the deadline."""
    if not days:
        return deadline
    return dates.roll(deadline + timedelta(days=days), backwards=days < 0)


def _assignee(
    kind: str, role_key: str, relation: Relation, starter: User
) -> tuple[User | None, int]:
    if kind == TemplateStep.Assignee.STARTER:
        return starter, 1
    if kind == TemplateStep.Assignee.ROLE:
        found = roles.holders(relation, role_key)
        return (found[0] if len(found) == 1 else None), len(found)
    return None, 0


@transaction.atomic
def start_process(
    *, relation: Relation, template: ProcessTemplate, period: dates.Period, user: User
) -> Process:
    """Start `template` for `relation` and `period`: refused without a running agreement of its
    service, and when the client already has this period's process (the database says so last)."""
    if template.practice_id != relation.practice_id or template.archived_at is not None:
        raise ValidationError(_("This template cannot be started."))
    if not relation.is_client or template.service not in running_services(relation):
        raise ValidationError(
            _("%(client)s has no running agreement for %(service)s.")
            % {"client": relation, "service": template.get_service_display()}
        )
    if period.kind != template.period_kind:
        raise ValidationError(_("Choose a period of this template's kind."))
    planned = plan(relation=relation, template=template, period=period, starter=user)
    try:
        with transaction.atomic():
            process = Process.objects.create(
                practice_id=relation.practice_id,
                relation=relation,
                template=template,
                template_version=template.version,
                name=template.name,
                period_kind=period.kind,
                period_key=period.key,
                period_label=period.label,
                period_start=period.start,
                period_end=period.end,
                started_by=user,
                started_at=timezone.now(),
            )
    except IntegrityError:
        raise ValidationError(
            _("%(client)s already has %(process)s %(period)s.")
            % {"client": relation, "process": template.name, "period": period.label}
        ) from None
    Task.objects.bulk_create(
        Task(
            practice_id=relation.practice_id,
            process=process,
            relation=relation,
            position=n,
            title=p.step.title,
            instructions=p.step.instructions,
            checklist=list(p.step.checklist),
            blocks_next=p.step.blocks_next,
            assignee_kind=p.step.assignee_kind,
            role_key=p.step.role_key if p.step.assignee_kind == TemplateStep.Assignee.ROLE else "",
            status=Task.Status.BLOCKED,
            due_date=p.due_date,
            deadline_kind=(
                p.step.deadline_kind if p.step.due_rule == TemplateStep.DueRule.DEADLINE else None
            ),
            deadline_days=p.step.days,
        )
        for n, p in enumerate(planned, start=1)
    )
    TimelineEvent.record(relation, TimelineEvent.Kind.PROCESS_STARTED, actor=user)
    _settle(process, user)
    return process


# --- doing the work ------------------------------------------------------------------------------


def _open(task: Task, starter: User) -> None:
    """A task opens: a role task goes to the role's one holder; several or none leave it unassigned
    (claimable by any holder, or in the role's queue)."""
    task.status = Task.Status.OPEN
    if task.assignee_id is None:
        task.assignee, _count = _assignee(task.assignee_kind, task.role_key, task.relation, starter)


def _settle(process: Process, user: User | None) -> None:
    """Open what no earlier unfinished blocking step holds back, block what one does, and set the
    process's status by its one rule. The caller holds the process's lock (or just made it)."""
    waiting = False
    tasks = list(process.tasks.select_related("relation").order_by("position", "pk"))
    for task in tasks:
        if not task.is_unfinished:
            continue
        if waiting and task.status == Task.Status.OPEN:
            Task.objects.filter(pk=task.pk).update(
                status=Task.Status.BLOCKED, version=F("version") + 1
            )
            task.status = Task.Status.BLOCKED
        elif not waiting and task.status == Task.Status.BLOCKED:
            _open(task, process.started_by)
            Task.objects.filter(pk=task.pk, status=Task.Status.BLOCKED).update(
                status=Task.Status.OPEN, assignee=task.assignee, version=F("version") + 1
            )
        if task.blocks_next:
            waiting = True
    done = all(t.status == Task.Status.DONE for t in tasks if t.status != Task.Status.SKIPPED)
    status = Process.Status.DONE if done else Process.Status.RUNNING
    if status != process.status:
        process.status = status
        process.done_at = timezone.now() if done else None
        process.save(update_fields=["status", "done_at"])
        if done:
            TimelineEvent.record(process.relation, TimelineEvent.Kind.PROCESS_DONE, actor=user)


def _locked_process(task: Task) -> Process:
    return (
        Process.objects.select_for_update()
        .select_related("relation", "started_by")
        .get(pk=task.process_id)
    )


def _refused(task: Task) -> ValidationError:
    fresh = Task.objects.select_related("done_by").get(pk=task.pk)
    if fresh.status == Task.Status.DONE:
        who = fresh.done_by.get_full_name() or fresh.done_by.get_username() if fresh.done_by else ""
        return ValidationError(_("This task was already done by %(who)s.") % {"who": who or "?"})
    if fresh.status == Task.Status.SKIPPED:
        return ValidationError(_("This task was skipped meanwhile."))
    if fresh.status == Task.Status.BLOCKED:
        return ValidationError(_("This task waits for an earlier step."))
    return ValidationError(_("This task was changed meanwhile; look again."))


def _finish(task: Task, *, user: User, version: int, status: str, reason: str = "") -> Task:
    process = _locked_process(task)
    won = Task.objects.filter(pk=task.pk, version=version, status=Task.Status.OPEN).update(
        status=status,
        done_by=user,
        done_at=timezone.now(),
        skip_reason=reason,
        version=F("version") + 1,
    )
    if not won:  # someone else was first: one winner, the other is told what happened
        raise _refused(task)
    kind = (
        TimelineEvent.Kind.TASK_DONE
        if status == Task.Status.DONE
        else TimelineEvent.Kind.TASK_SKIPPED
    )
    TimelineEvent.record(process.relation, kind, actor=user)
    _settle(process, user)
    task.refresh_from_db()
    return task


@transaction.atomic
def complete(*, task: Task, user: User, version: int) -> Task:
    return _finish(task, user=user, version=version, status=Task.Status.DONE)


@transaction.atomic
def skip(*, task: Task, user: User, version: int, reason: str) -> Task:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the task is skipped."))
    if Task.objects.filter(pk=task.pk, status=Task.Status.BLOCKED).exists():
        # A step nobody needs may be skipped before its turn: open it first, then skip it.
        Task.objects.filter(pk=task.pk, version=version).update(
            status=Task.Status.OPEN, version=F("version") + 1
        )
        version += 1
    return _finish(task, user=user, version=version, status=Task.Status.SKIPPED, reason=reason)


@transaction.atomic
def reopen(*, task: Task, user: User) -> Task:
    process = _locked_process(task)
    reopened = Task.objects.filter(
        pk=task.pk, status__in=[Task.Status.DONE, Task.Status.SKIPPED]
    ).update(
        status=Task.Status.OPEN,
        done_by=None,
        done_at=None,
        skip_reason="",
        version=F("version") + 1,
    )
    if not reopened:
        raise ValidationError(_("Only a done or skipped task can be reopened."))
    _settle(process, user)
    task.refresh_from_db()
    return task


@transaction.atomic
def claim(*, task: Task, user: User) -> Task:
    """Take an unassigned role task: any holder of the role may; a task in the role's queue (no
    holder on the team) any colleague may."""
    found = roles.holders(task.relation, task.role_key)
    if found and user not in found:
        raise ValidationError(_("Only a holder of this role on the client's team can take it."))
    won = Task.objects.filter(
        pk=task.pk,
        assignee__isnull=True,
        assignee_kind=TemplateStep.Assignee.ROLE,
        status__in=[Task.Status.OPEN, Task.Status.BLOCKED],
    ).update(assignee=user, version=F("version") + 1)
    if not won:
        raise ValidationError(_("This task was taken meanwhile."))
    task.refresh_from_db()
    return task


# --- templates -----------------------------------------------------------------------------------


def bump(template: ProcessTemplate) -> None:
    """An edit of the template or a step: a new version (running processes keep their copies)."""
    ProcessTemplate.objects.filter(pk=template.pk).update(version=F("version") + 1)
    template.refresh_from_db(fields=["version"])


# --- bulk start (the planner) --------------------------------------------------------------------


@dataclass(frozen=True)
class BulkRow:
    relation: Relation
    outcome: str  # started / exists / no_agreement
    missing_roles: tuple[str, ...] = ()  # started, but these roles have no holder: their queue


def bulk_start(
    *, relations: list[Relation], template: ProcessTemplate, period: dates.Period, user: User
) -> list[BulkRow]:
    """Start `template` for each client, each in its own transaction; row by row what happened.
    Run again, it starts nothing and says so ("exists" for every row)."""
    rows = []
    for relation in relations:
        if template.service not in running_services(relation) or not relation.is_client:
            rows.append(BulkRow(relation, "no_agreement"))
            continue
        if (
            Process.objects.filter(relation=relation, template=template, period_key=period.key)
            .exclude(status=Process.Status.CANCELLED)
            .exists()
        ):
            rows.append(BulkRow(relation, "exists"))
            continue
        try:
            process = start_process(relation=relation, template=template, period=period, user=user)
        except ValidationError:  # started meanwhile (the constraint), or refused for another reason
            rows.append(BulkRow(relation, "exists"))
            continue
        missing = tuple(
            sorted(
                {
                    t.role_key
                    for t in process.tasks.filter(
                        assignee_kind=TemplateStep.Assignee.ROLE, assignee__isnull=True
                    )
                    if not roles.holders(relation, t.role_key)
                }
            )
        )
        rows.append(BulkRow(relation, "started", missing))
    return rows


# --- uitstel -------------------------------------------------------------------------------------


def extension_moves(
    *, relation: Relation, deadline_kind: DeadlineKind, fiscal_year: int, due_date: date
) -> list[tuple[Task, date]]:
    """What an uitstel would move: the client's unfinished tasks due from that deadline in that
    fiscal year, each with its new due date (done and skipped ones keep theirs)."""
    tasks = (
        Task.objects.filter(
            relation=relation, deadline_kind=deadline_kind, process__period_end__year=fiscal_year
        )
        .unfinished()
        .exclude(process__status=Process.Status.CANCELLED)
        .select_related("process")
        .order_by("due_date", "pk")
    )
    moves = [(task, due_from(due_date, task.deadline_days)) for task in tasks]
    return [(task, new) for task, new in moves if new != task.due_date]


@transaction.atomic
def grant_extension(
    *,
    relation: Relation,
    deadline_kind: DeadlineKind,
    fiscal_year: int,
    due_date: date,
    reason: str,
    user: User,
) -> list[tuple[Task, date]]:
    """Record the uitstel (replacing an earlier one for the same year) and move what it moves."""
    if deadline_kind.practice_id != relation.practice_id:
        raise ValidationError(_("Choose one of the office's deadlines."))
    if not reason.strip():
        raise ValidationError(_("Say why the deadline moves."))
    DeadlineExtension.objects.update_or_create(
        relation=relation,
        deadline_kind=deadline_kind,
        fiscal_year=fiscal_year,
        defaults={
            "practice_id": relation.practice_id,
            "due_date": due_date,
            "reason": reason.strip(),
            "created_by": user,
        },
    )
    moves = extension_moves(
        relation=relation, deadline_kind=deadline_kind, fiscal_year=fiscal_year, due_date=due_date
    )
    for task, new in moves:
        # Only while still unfinished: a task done meanwhile keeps the date it was done against.
        Task.objects.filter(pk=task.pk, status__in=[Task.Status.OPEN, Task.Status.BLOCKED]).update(
            due_date=new, version=F("version") + 1
        )
    return moves


# --- a team change, a member deactivated -----------------------------------------------------------


def _reroute(tasks: list[Task]) -> None:
    """Each unfinished role task whose assignee no longer holds its role (or that has none) goes to
    the role's holders again: one → theirs; several or none → unassigned (claimable, or the queue).
    A task named to someone (the starter) and a claimed task whose claimer still holds the role stay."""
    holders: dict[tuple[int, str], list[User]] = {}
    for task in tasks:
        key = (task.relation_id, task.role_key)
        if key not in holders:
            holders[key] = roles.holders(task.relation, task.role_key)
        found = holders[key]
        if task.assignee is not None and task.assignee in found:
            continue
        if task.status == Task.Status.BLOCKED and task.assignee is None:
            continue  # resolved when it opens
        new = found[0] if len(found) == 1 and task.status == Task.Status.OPEN else None
        if new != task.assignee:
            Task.objects.filter(pk=task.pk, version=task.version).update(
                assignee=new, version=F("version") + 1
            )


def team_changed(relations: list[Relation], role_keys: list[str]) -> None:
    """relations.extensions calls this after team members were added to, removed from or handed
    over in these roles: one query when no unfinished role task is affected."""
    _reroute(
        list(
            Task.objects.filter(
                relation__in=[r.pk for r in relations],
                role_key__in=role_keys,
                assignee_kind=TemplateStep.Assignee.ROLE,
            )
            .unfinished()
            .select_related("relation", "assignee")
        )
    )


def member_deactivated(membership: Any) -> None:
    """practice.extensions calls this: the member's unfinished role tasks go back to the role."""
    _reroute(
        list(
            Task.objects.filter(
                practice_id=membership.practice_id,
                assignee_id=membership.user_id,
                assignee_kind=TemplateStep.Assignee.ROLE,
            )
            .unfinished()
            .select_related("relation", "assignee")
        )
    )


def queue_notices(relation: Relation) -> list[str]:
    """For the client's Team tab: open role tasks that nobody on the team holds the role for."""
    waiting = (
        Task.objects.filter(
            relation=relation,
            status=Task.Status.OPEN,
            assignee__isnull=True,
            assignee_kind=TemplateStep.Assignee.ROLE,
        )
        .exclude(roles.role_is_held())
        .values_list("role_key", flat=True)
    )
    counts: dict[str, int] = {}
    for key in waiting:
        counts[key] = counts.get(key, 0) + 1
    return [
        _("Nobody on the team is %(role)s: %(count)s open tasks of that role wait in its queue.")
        % {"count": count, "role": roles.role_label(key)}
        for key, count in sorted(counts.items())
    ]
