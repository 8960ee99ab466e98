"""Demo work for `seed_demo`: the VAT template of issue 16, and processes in every state with tasks
for the demo user (who is made the accountant of the clients it starts them for)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError

from relations.models import Relation, ServiceAgreement, TeamAssignment
from work import dates, services
from work.models import DeadlineKind, Process, ProcessTemplate, Task, TemplateStep

CLIENTS = 12


def _template(practice: Any) -> ProcessTemplate:
    template, created = ProcessTemplate.objects.get_or_create(
        practice=practice,
        name="Btw-aangifte per kwartaal",
        defaults={"service": ServiceAgreement.Service.VAT, "period_kind": "quarter"},
    )
    if created:
        deadline = DeadlineKind.objects.get(practice=practice, key="btw-kwartaal")
        for position, title, assignee, role, days, blocks in (
            (1, "Administratie bijwerken", "role", "accountant", -10, True),
            (2, "Stukken aanleveren", "contact", "", -5, False),
            (3, "Aangifte controleren en indienen", "role", "tax_advisor", 0, False),
        ):
            TemplateStep.objects.create(
                template=template,
                position=position,
                title=title,
                assignee_kind=assignee,
                role_key=role,
                due_rule="deadline",
                deadline_kind=deadline,
                days=days,
                blocks_next=blocks,
                checklist=["Bank afletteren", "Kas controleren"] if position == 1 else [],
            )
    return template


def seed(*, practice: Any, user: Any, stdout: Any) -> None:
    template = _template(practice)
    if Process.objects.filter(practice=practice).exists():
        stdout.write("work: processes present, nothing to add")
        return
    today = dates.today()
    clients = list(
        Relation.objects.filter(practice=practice, kind="client").active().order_by("pk")[:CLIENTS]
    )
    periods = dates.periods_around("quarter", today, before=2, after=0)
    started = 0
    for n, client in enumerate(clients):
        ServiceAgreement.objects.get_or_create(
            practice=practice,
            relation=client,
            service=ServiceAgreement.Service.VAT,
            defaults={"start_date": today - timedelta(days=400)},
        )
        TeamAssignment.objects.get_or_create(
            practice=practice, relation=client, user=user, role="accountant"
        )
        for period in periods:
            try:
                process = services.start_process(
                    relation=client, template=template, period=period, user=user
                )
            except ValidationError:
                continue
            started += 1
            # Older quarters further along: done, half done, or just started.
            if period != periods[0] or n % 3 == 0:
                for task in process.tasks.order_by("position"):
                    task.refresh_from_db()
                    if task.status != Task.Status.OPEN:
                        continue
                    if task.assignee_kind == "contact" and n % 2:
                        services.skip(
                            task=task, user=user, version=task.version, reason="Geen stukken nodig"
                        )
                    else:
                        services.complete(task=task, user=user, version=task.version)
                    if period == periods[1] and n % 2 == 0:
                        break
    stdout.write(f"work: {started} processes started")
