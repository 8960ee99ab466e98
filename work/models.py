"""Werkprocessen: the office's recurring work per client (issue 16).

A template (office-editable, versioned) has steps; starting it for a client and a period makes a
process whose tasks are a frozen copy of the steps, so editing the template never changes work that
is running. A task is assigned to a team role (resolved to its holders on the client's team when it
opens: work.roles), to the client's contact, or to whoever started the process.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation, ServiceAgreement
from work import dates


class PeriodKind(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")
    ONCE = "once", _("Once")


class DeadlineKind(models.Model):
    """A legal or office deadline as data: an anchor, an offset, and the roll to a working day."""

    class Anchor(models.TextChoices):
        PERIOD_END = "period_end", _("End of the period")
        FIXED = "fixed", _("A fixed date in a later year")
        FISCAL_YEAR_END = "fiscal_year_end", _("The client's fiscal year end")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    key = models.SlugField(_("key"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    anchor = models.CharField(_("anchor"), max_length=16, choices=Anchor.choices)
    # PERIOD_END and FISCAL_YEAR_END: that many months later; FIXED: that many years later.
    offset_months = models.SmallIntegerField(_("months after the anchor"), default=0)
    offset_years = models.SmallIntegerField(_("years after the period"), default=0)
    fixed_month = models.PositiveSmallIntegerField(_("month"), null=True, blank=True)
    # 0: the last day of the month reached.
    day = models.PositiveSmallIntegerField(_("day of the month (0: the last)"), default=0)
    roll_to_working_day = models.BooleanField(_("moves to the next working day"), default=True)

    class Meta:
        verbose_name = _("deadline kind")
        verbose_name_plural = _("deadline kinds")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "key"], name="work_deadlinekind_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def due_for(self, period: dates.Period, relation: Relation | None = None) -> date:
        """The deadline of `period` (for `relation`'s fiscal year end, when anchored on it)."""
        if self.anchor == self.Anchor.FIXED:
            year, month = period.end.year + self.offset_years, self.fixed_month or 12
        else:
            base = period.end
            if self.anchor == self.Anchor.FISCAL_YEAR_END:
                fye = (relation.fiscal_year_end_month if relation else None) or 12
                base = dates.end_of_month(period.end.year, fye)
            year, month = dates.add_months(base, self.offset_months)
        last = dates.end_of_month(year, month)
        due = last if self.day == 0 else last.replace(day=min(self.day, last.day))
        return dates.roll(due) if self.roll_to_working_day else due


class ProcessTemplateQuerySet(models.QuerySet["ProcessTemplate"]):
    def active(self) -> ProcessTemplateQuerySet:
        return self.filter(archived_at__isnull=True)


class ProcessTemplate(models.Model):
    """The office's recipe for a piece of recurring work. Archived, never deleted; every edit of it or
    of its steps bumps `version`, which a process keeps (its tasks are copies, never re-read)."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    service = models.CharField(
        _("service agreement"), max_length=20, choices=ServiceAgreement.Service.choices
    )
    period_kind = models.CharField(
        _("period"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.QUARTER
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ProcessTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("process template")
        verbose_name_plural = _("process templates")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class TemplateStep(models.Model):
    class Assignee(models.TextChoices):
        ROLE = "role", _("A team role")
        CONTACT = "contact", _("The client's contact")
        STARTER = "starter", _("Whoever started the process")

    class DueRule(models.TextChoices):
        DEADLINE = "deadline", _("Days from the deadline")
        AFTER_PREVIOUS = "after_previous", _("Days after the previous step")

    template = models.ForeignKey(ProcessTemplate, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    title = models.CharField(_("title"), max_length=160)
    instructions = models.TextField(_("instructions"), max_length=4000, blank=True, default="")
    assignee_kind = models.CharField(
        _("assigned to"), max_length=8, choices=Assignee.choices, default=Assignee.ROLE
    )
    role_key = models.CharField(_("team role"), max_length=32, blank=True, default="")
    due_rule = models.CharField(
        _("due"), max_length=16, choices=DueRule.choices, default=DueRule.AFTER_PREVIOUS
    )
    deadline_kind = models.ForeignKey(
        DeadlineKind,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deadline"),
    )
    days = models.SmallIntegerField(_("days"), default=0)
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    blocks_next = models.BooleanField(_("the next step waits for this one"), default=False)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["template", "position", "pk"]

    def __str__(self) -> str:
        return self.title


class Process(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("In progress")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="processes", verbose_name=_("client")
    )
    template = models.ForeignKey(
        ProcessTemplate, on_delete=models.PROTECT, related_name="processes"
    )
    template_version = models.PositiveIntegerField(editable=False)
    name = models.CharField(_("name"), max_length=120)  # the template's, when it was started
    period_kind = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    period_key = models.CharField(_("period"), max_length=8)
    period_label = models.CharField(_("period"), max_length=40)
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("process")
        verbose_name_plural = _("processes")
        ordering = ["-period_start", "name", "pk"]
        constraints = [
            # One "Btw Q3 2026" per client: a second start (two tabs, a repeated bulk start) is refused
            # by the database, whatever the checks before it saw.
            models.UniqueConstraint(
                fields=["relation", "template", "period_key"],
                condition=~Q(status="cancelled"),
                name="work_process_one_per_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.period_label}"


class TaskQuerySet(models.QuerySet["Task"]):
    def unfinished(self) -> TaskQuerySet:
        return self.filter(status__in=[Task.Status.OPEN, Task.Status.BLOCKED])


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        BLOCKED = "blocked", _("Waiting for an earlier step")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="tasks")
    relation = models.ForeignKey(Relation, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    # The step, frozen when the process started.
    title = models.CharField(_("title"), max_length=160)
    instructions = models.TextField(_("instructions"), blank=True, default="")
    checklist = models.JSONField(_("checklist"), default=list, blank=True)
    blocks_next = models.BooleanField(default=False)
    assignee_kind = models.CharField(max_length=8, choices=TemplateStep.Assignee.choices)
    role_key = models.CharField(_("team role"), max_length=32, blank=True, default="")
    # A named member: the role's one holder, whoever claimed it, or the starter. None for a role task
    # with several holders (claimable) or none (the role's queue), and for a contact's task.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    due_date = models.DateField(_("due"))
    # Where the due date came from, so that an uitstel can move it again: the deadline and the
    # step's days from it (None for a step due after the previous one).
    deadline_kind = models.ForeignKey(
        DeadlineKind, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deadline_days = models.SmallIntegerField(default=0)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    skip_reason = models.CharField(_("reason"), max_length=300, blank=True, default="")
    version = models.PositiveIntegerField(default=1)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["process", "position", "pk"]
        indexes = [
            # Mijn taken: a member's unfinished tasks by due date.
            models.Index(fields=["assignee", "status", "due_date"], name="work_task_mine"),
            # Mijn taken: the unclaimed tasks of the roles one holds, per client.
            models.Index(fields=["relation", "status", "role_key"], name="work_task_role_queue"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unfinished(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.BLOCKED)

    def bucket(self, on: date) -> str:
        """Mijn taken's group: overdue, today, this week (to Sunday), later."""
        if self.due_date < on:
            return "overdue"
        if self.due_date == on:
            return "today"
        if self.due_date <= on + timedelta(days=6 - on.weekday()):
            return "week"
        return "later"


class DeadlineExtension(models.Model):
    """Uitstel: for one client, one deadline kind and one fiscal year, another deadline (with the
    reason). Applying it moves the due dates of that client's unfinished tasks of that kind."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="+", verbose_name=_("client")
    )
    deadline_kind = models.ForeignKey(
        DeadlineKind, on_delete=models.PROTECT, related_name="+", verbose_name=_("deadline")
    )
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    due_date = models.DateField(_("new deadline"))
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["-fiscal_year", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relation", "deadline_kind", "fiscal_year"],
                name="work_deadlineextension_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deadline_kind} {self.fiscal_year}"


class DigestChoice(models.Model):
    """A member's choice about the daily e-mail of their work (on unless they turned it off)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("daily e-mail"), default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="work_digestchoice_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.enabled}"


class DigestSent(models.Model):
    """One row per member and day, claimed before the mail goes: a second beat, a retried task or
    two workers never send the same day's digest twice."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "user", "day"], name="work_digestsent_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.day}"
