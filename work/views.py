"""Mijn taken, starting a process on a client, and the owner's templates (Kantoor → Werkprocessen).

Each view: load within the request's practice (404 outside it) → bind the form → one service call →
redirect with a message (POST/redirect/GET). Without JavaScript every action is a plain form.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from practice.access import change_required, get_scoped_or_404, member_required, owner_required
from practice.http import MemberRequest
from practice.models import Membership
from relations.models import Relation, ServiceAgreement
from relations.views.common import get_relation
from relations.views.inline import can_change
from work import dates, roles, services
from work.digest import wants_digest
from work.forms import ExtensionForm, SkipForm, StepForm, TemplateForm, VersionForm
from work.models import DigestChoice, Process, ProcessTemplate, Task, TemplateStep

TASKS_SHOWN = 300
BUCKETS = (
    ("overdue", "Overdue"),
    ("today", "Today"),
    ("week", "This week"),
    ("later", "Later"),
)


def _posted(request: MemberRequest) -> Any:
    """The POST data to bind a form to (an empty POST too: it must show what is missing)."""
    return request.POST if request.method == "POST" else None


# --- Mijn taken ----------------------------------------------------------------------------------


def my_open_tasks(request: MemberRequest) -> QuerySet[Task]:
    return services.open_tasks_for(request.membership.practice_id, request.user)


def grouped(tasks: list[Task]) -> list[tuple[str, str, list[Task]]]:
    on = dates.today()
    groups: dict[str, list[Task]] = {key: [] for key, _label in BUCKETS}
    for task in tasks:
        groups[task.bucket(on)].append(task)
    labels = {
        "overdue": _("Overdue"),
        "today": _("Today"),
        "week": _("This week"),
        "later": _("Later"),
    }
    return [(key, labels[key], groups[key]) for key, _label in BUCKETS]


@require_GET
@member_required
def my_tasks(request: MemberRequest) -> HttpResponse:
    tasks = list(my_open_tasks(request)[: TASKS_SHOWN + 1])
    return render(
        request,
        "work/tasks.html",
        {
            "groups": grouped(tasks[:TASKS_SHOWN]),
            "more": len(tasks) > TASKS_SHOWN,
            "count": min(len(tasks), TASKS_SHOWN),
            "can_change": request.membership.can_change,
            "here": request.get_full_path(),
            "digest": wants_digest(request.membership.practice_id, request.user.pk),
        },
    )


def _back(request: MemberRequest, task: Task) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("work-tasks")


def _task(request: MemberRequest, pk: int) -> Task:
    task = get_scoped_or_404(request, Task.objects.select_related("relation"), change=True, pk=pk)
    if task.relation.is_archived:
        raise PermissionDenied  # an archived client's work is read-only
    return task


def _act(request: MemberRequest, pk: int, action: Any, done: str) -> HttpResponse:
    task = _task(request, pk)
    try:
        action(task)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done % {"task": task.title})
    return _back(request, task)


def _version(request: MemberRequest) -> int:
    form = VersionForm(request.POST)
    return form.cleaned_data["version"] if form.is_valid() else 0


@require_POST
@change_required
def task_complete(request: MemberRequest, pk: int) -> HttpResponse:
    version = _version(request)
    return _act(
        request,
        pk,
        lambda task: services.complete(task=task, user=request.user, version=version),
        _("Done: %(task)s."),
    )


@require_POST
@change_required
def task_claim(request: MemberRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda task: services.claim(task=task, user=request.user),
        _("You took %(task)s."),
    )


@require_POST
@change_required
def task_reopen(request: MemberRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        lambda task: services.reopen(task=task, user=request.user),
        _("Reopened: %(task)s."),
    )


@require_http_methods(["GET", "POST"])
@change_required
def task_skip(request: MemberRequest, pk: int) -> HttpResponse:
    task = _task(request, pk)
    form = SkipForm(_posted(request), initial={"version": task.version})
    if request.method == "POST" and form.is_valid():
        try:
            services.skip(
                task=task,
                user=request.user,
                version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Skipped: %(task)s.") % {"task": task.title})
            return _back(request, task)
    return render(
        request, "work/skip.html", {"task": task, "form": form, "next": request.GET.get("next", "")}
    )


# --- a client's Werkprocessen tab and Proces starten ---------------------------------------------


def tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    """The client's processes with their tasks: two queries however many there are."""
    processes = list(
        Process.objects.filter(practice=request.membership.practice, relation=relation)
        .exclude(status=Process.Status.CANCELLED)
        .prefetch_related("tasks__assignee", "tasks__done_by")
        .order_by("status", "-period_start", "name", "pk")
    )
    return {
        "running_processes": [p for p in processes if p.status == Process.Status.RUNNING],
        "done_processes": [p for p in processes if p.status == Process.Status.DONE],
        "can_start": can_change(request, relation) and relation.is_client,
        "here": reverse("relations-tab", args=[relation.public_id, "work"]),
    }


@require_http_methods(["GET", "POST"])
@change_required
def process_start(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    offered = services.offer(relation)
    data = request.POST if request.method == "POST" else request.GET
    startable = {str(t.pk): t for t, reason in offered if not reason}
    template = startable.get(data.get("template", ""))
    periods = dates.periods_around(template.period_kind, dates.today()) if template else []
    period = None
    if template is not None:
        period = (
            dates.parse_period(template.period_kind, data.get("period", ""))
            or periods[1 if len(periods) > 1 else 0]
        )
    if request.method == "POST":
        if template is None or period is None:
            messages.error(request, _("Choose a template that can be started."))
        else:
            try:
                process = services.start_process(
                    relation=relation, template=template, period=period, user=request.user
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Started: %(process)s.") % {"process": process})
                return redirect("relations-tab", relation.public_id, "work")
    planned = (
        services.plan(relation=relation, template=template, period=period, starter=request.user)
        if template is not None and period is not None
        else []
    )
    return render(
        request,
        "work/start.html",
        {
            "relation": relation,
            "offered": offered,
            "template": template,
            "periods": periods,
            "period": period,
            "planned": [(p, roles.role_label(p.step.role_key)) for p in planned],
        },
    )


# --- Kantoor → Werkprocessen: the owner's templates ----------------------------------------------


@require_GET
@owner_required
def template_list(request: MemberRequest) -> HttpResponse:
    found = ProcessTemplate.objects.filter(practice=request.membership.practice).order_by(
        "archived_at", "name", "pk"
    )
    return render(request, "work/templates.html", {"process_templates": found})


@require_http_methods(["GET", "POST"])
@owner_required
def template_new(request: MemberRequest) -> HttpResponse:
    form = TemplateForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        template = form.save(commit=False)
        template.practice = request.membership.practice
        template.save()
        messages.success(request, _("Template added; now add its steps."))
        return redirect("work-template", template.pk)
    return render(request, "work/template_form.html", {"form": form})


def _template(request: MemberRequest, pk: int) -> ProcessTemplate:
    return get_scoped_or_404(request, ProcessTemplate, pk=pk)


@require_http_methods(["GET", "POST"])
@owner_required
def template_edit(request: MemberRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    form = TemplateForm(_posted(request), instance=template)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            services.bump(template)
        messages.success(request, _("Template saved. Running processes keep their own tasks."))
        return redirect("work-template", template.pk)
    steps = template.steps.select_related("deadline_kind").order_by("position", "pk")
    return render(
        request,
        "work/template_form.html",
        {
            "form": form,
            "process_template": template,
            "steps": [(s, roles.role_label(s.role_key)) for s in steps],
        },
    )


@require_POST
@owner_required
def template_archive(request: MemberRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    archived = ProcessTemplate.objects.filter(pk=template.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    if archived:
        messages.success(request, _("Template archived; processes started from it go on."))
    return redirect("work-templates")


def _step_page(
    request: MemberRequest, template: ProcessTemplate, step: TemplateStep
) -> HttpResponse:
    form = StepForm(_posted(request), instance=step, practice=request.membership.practice)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            services.bump(template)
        messages.success(request, _("Step saved."))
        return redirect("work-template", template.pk)
    return render(
        request, "work/step_form.html", {"form": form, "process_template": template, "step": step}
    )


@require_http_methods(["GET", "POST"])
@owner_required
def step_new(request: MemberRequest, pk: int) -> HttpResponse:
    template = _template(request, pk)
    position = template.steps.count() + 1
    return _step_page(request, template, TemplateStep(template=template, position=position))


@require_http_methods(["GET", "POST"])
@owner_required
def step_edit(request: MemberRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(
        TemplateStep.objects.select_related("template").filter(
            template__practice=request.membership.practice
        ),
        pk=pk,
    )
    return _step_page(request, step.template, step)


# --- the planner: template by period, the clients and their process ------------------------------

PLANNER_PAGE = 100


def _planner_choice(request: MemberRequest, data: Any) -> tuple[ProcessTemplate | None, Any, list]:
    found = list(
        ProcessTemplate.objects.filter(practice=request.membership.practice)
        .active()
        .order_by("name", "pk")
    )
    template = next(
        (t for t in found if str(t.pk) == data.get("template", "")), found[0] if found else None
    )
    period = None
    if template is not None:
        periods = dates.periods_around(template.period_kind, dates.today())
        period = (
            dates.parse_period(template.period_kind, data.get("period", ""))
            or periods[min(1, len(periods) - 1)]
        )
    return template, period, found


def planner_rows(
    request: MemberRequest, template: ProcessTemplate, period: Any, member: str, role: str
) -> QuerySet[Relation]:
    """The clients with a running agreement of the template's service, each with its process's
    status for the period (None: not started); filtered by a team member and/or role."""
    today = dates.today()
    agreements = ServiceAgreement.objects.filter(
        relation=OuterRef("pk"), service=template.service
    ).running(today)
    process = Process.objects.filter(
        relation=OuterRef("pk"), template=template, period_key=period.key
    ).exclude(status=Process.Status.CANCELLED)
    clients = (
        Relation.objects.filter(practice=request.membership.practice, kind=Relation.Kind.CLIENT)
        .active()
        .filter(Exists(agreements))
        .annotate(process_status=Subquery(process.values("status")[:1]))
        .order_by("display_name", "pk")
    )
    if member.isdigit() or role:
        clients = clients.filter(
            roles.on_team(user_id=int(member) if member.isdigit() else None, role_key=role)
        )
    return clients


@require_GET
@member_required
def planner(request: MemberRequest) -> HttpResponse:
    template, period, found = _planner_choice(request, request.GET)
    member, role = request.GET.get("member", ""), request.GET.get("role", "")
    page = None
    if template is not None and period is not None:
        rows = planner_rows(request, template, period, member, role)
        page = Paginator(rows, PLANNER_PAGE).get_page(request.GET.get("page"))
    members = (
        Membership.objects.filter(practice=request.membership.practice)
        .active()
        .select_related("user")
    )
    return render(
        request,
        "work/planner.html",
        {
            "process_templates": found,
            "template": template,
            "period": period,
            "periods": dates.periods_around(template.period_kind, dates.today())
            if template
            else [],
            "page": page,
            "members": [m.user for m in members],
            "roles": roles.role_choices(),
            "member": member,
            "role": role,
            "can_change": request.membership.can_change,
        },
    )


@require_POST
@change_required
def planner_start(request: MemberRequest) -> HttpResponse:
    template, period, _found = _planner_choice(request, request.POST)
    if template is None or period is None or str(template.pk) != request.POST.get("template"):
        messages.error(request, _("Choose a template that can be started."))
        return redirect("work-planner")
    ids = [value for value in request.POST.getlist("ids") if _is_uuid(value)][:PLANNER_PAGE]
    chosen = list(
        Relation.objects.filter(practice=request.membership.practice, public_id__in=ids)
        .active()
        .order_by("display_name", "pk")
    )
    rows = services.bulk_start(
        relations=chosen, template=template, period=period, user=request.user
    )
    labels = {
        "started": _("Started"),
        "exists": _("Already exists"),
        "no_agreement": _("No running agreement"),
    }
    return render(
        request,
        "work/planner_result.html",
        {
            "template": template,
            "period": period,
            "rows": [
                (row, labels[row.outcome], [roles.role_label(key) for key in row.missing_roles])
                for row in rows
            ],
            "started": sum(row.outcome == "started" for row in rows),
        },
    )


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


# --- uitstel: a client's deadline moved for a fiscal year ----------------------------------------


@require_http_methods(["GET", "POST"])
@change_required
def extension(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """Ask (kind, year, date, reason) → preview what moves → confirmed: record and move."""
    relation = get_relation(request, public_id, change=True)
    form = ExtensionForm(_posted(request), practice=request.membership.practice)
    moves = None
    if request.method == "POST" and form.is_valid():
        values = {
            "relation": relation,
            "deadline_kind": form.cleaned_data["deadline_kind"],
            "fiscal_year": form.cleaned_data["fiscal_year"],
            "due_date": form.cleaned_data["due_date"],
        }
        if request.POST.get("confirmed") == "1":
            try:
                moved = services.grant_extension(
                    **values, reason=form.cleaned_data["reason"], user=request.user
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Extension recorded; %(count)s tasks moved.") % {"count": len(moved)},
                )
                return redirect("relations-tab", relation.public_id, "work")
        else:
            moves = services.extension_moves(**values)
    return render(
        request, "work/extension.html", {"relation": relation, "form": form, "moves": moves}
    )


@require_POST
@member_required
def digest_choice(request: MemberRequest) -> HttpResponse:
    """One's own daily e-mail on or off (a read-only member has work to hear about too)."""
    enabled = request.POST.get("enabled") == "1"
    DigestChoice.objects.update_or_create(
        practice=request.membership.practice, user=request.user, defaults={"enabled": enabled}
    )
    messages.success(
        request,
        _("You get the daily e-mail of your tasks.")
        if enabled
        else _("You no longer get the daily e-mail of your tasks."),
    )
    return redirect("work-tasks")


@require_POST
@change_required
def tasks_complete(request: MemberRequest) -> HttpResponse:
    """Bulk complete on Mijn taken: each chosen task (`pk:version`) by the same one-winner rule."""
    done, refused = 0, []
    for value in request.POST.getlist("tasks")[:TASKS_SHOWN]:
        pk, _sep, version = value.partition(":")
        if not (pk.isdigit() and version.isdigit()):
            continue
        task = (
            Task.objects.filter(practice=request.membership.practice, pk=int(pk))
            .select_related("relation")
            .first()
        )
        if task is None or task.relation.is_archived:
            continue
        try:
            services.complete(task=task, user=request.user, version=int(version))
        except ValidationError as error:
            refused.append(f"{task.title}: {' '.join(error.messages)}")
        else:
            done += 1
    if done:
        messages.success(request, _("%(count)s tasks done.") % {"count": done})
    for line in refused:
        messages.error(request, line)
    if not done and not refused:
        messages.error(request, _("Choose the tasks that are done."))
    return redirect("work-tasks")
