"""Uitstel: a client's deadline moved for a fiscal year moves only its unfinished tasks of that kind."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from tests.factories import ServiceAgreementFactory
from work import dates, services
from work.models import DeadlineExtension, DeadlineKind, ProcessTemplate, Task, TemplateStep

pytestmark = pytest.mark.django_db

Y2025 = dates.parse_period("year", "2025")
Q3 = dates.parse_period("quarter", "2025-Q3")


@pytest.fixture
def ib_template(practice):
    template = ProcessTemplate.objects.create(
        practice=practice, name="Aangifte IB", service="income_tax", period_kind="year"
    )
    ib = DeadlineKind.objects.get(practice=practice, key="ib")
    for position, title, days in ((1, "Gegevens opvragen", -30), (2, "Aangifte indienen", 0)):
        TemplateStep.objects.create(
            template=template,
            position=position,
            title=title,
            assignee_kind="starter",
            due_rule="deadline",
            deadline_kind=ib,
            days=days,
        )
    return template


def test_an_extension_moves_only_the_open_tasks_of_that_kind(
    practice, client_relation, vat_template, ib_template, owner, staff
):
    ServiceAgreementFactory.create(
        relation=client_relation, service="income_tax", start_date=date(2020, 1, 1)
    )
    ib_process = services.start_process(
        relation=client_relation, template=ib_template, period=Y2025, user=owner
    )
    vat_process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    gather, file = ib_process.tasks.order_by("position")
    assert file.due_date == date(2026, 5, 1)
    services.complete(task=gather, user=owner, version=gather.version)
    vat_before = list(vat_process.tasks.values_list("due_date", flat=True))
    ib = DeadlineKind.objects.get(practice=practice, key="ib")

    preview = services.extension_moves(
        relation=client_relation, deadline_kind=ib, fiscal_year=2025, due_date=date(2027, 5, 3)
    )
    assert [(t.title, new) for t, new in preview] == [("Aangifte indienen", date(2027, 5, 3))]
    file.refresh_from_db()
    assert file.due_date == date(2026, 5, 1)  # the preview moved nothing

    services.grant_extension(
        relation=client_relation,
        deadline_kind=ib,
        fiscal_year=2025,
        due_date=date(2027, 5, 3),
        reason="Uitstelregeling",
        user=owner,
    )
    gather.refresh_from_db()
    file.refresh_from_db()
    assert file.due_date == date(2027, 5, 3)
    assert gather.due_date == date(2026, 4, 1)  # done: keeps its date (1 May minus 30 days)
    assert list(vat_process.tasks.values_list("due_date", flat=True)) == vat_before


def test_a_process_started_after_the_extension_uses_it(
    practice, client_relation, ib_template, owner
):
    ServiceAgreementFactory.create(
        relation=client_relation, service="income_tax", start_date=date(2020, 1, 1)
    )
    DeadlineExtension.objects.create(
        practice=practice,
        relation=client_relation,
        deadline_kind=DeadlineKind.objects.get(practice=practice, key="ib"),
        fiscal_year=2025,
        due_date=date(2027, 5, 3),
        reason="Uitstelregeling",
        created_by=owner,
    )
    process = services.start_process(
        relation=client_relation, template=ib_template, period=Y2025, user=owner
    )
    assert process.tasks.get(position=2).due_date == date(2027, 5, 3)


def test_the_page_previews_then_records(
    practice, client_relation, ib_template, owner, owner_client
):
    ServiceAgreementFactory.create(
        relation=client_relation, service="income_tax", start_date=date(2020, 1, 1)
    )
    process = services.start_process(
        relation=client_relation, template=ib_template, period=Y2025, user=owner
    )
    url = reverse("work-extension", args=[client_relation.public_id])
    data = {
        "deadline_kind": DeadlineKind.objects.get(practice=practice, key="ib").pk,
        "fiscal_year": 2025,
        "due_date": "2027-05-03",
        "reason": "Uitstelregeling",
    }
    preview = owner_client.post(url, data)
    assert preview.status_code == 200
    assert "Aangifte indienen" in preview.text
    assert not DeadlineExtension.objects.exists()
    done = owner_client.post(url, {**data, "confirmed": "1"})
    assert done.status_code == 302
    assert process.tasks.get(position=2).due_date == date(2027, 5, 3)
    assert Task.objects.filter(due_date=date(2027, 5, 3)).count() == 1
