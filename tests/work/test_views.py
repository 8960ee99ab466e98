"""The pages: Mijn taken, the Werkprocessen tab, Proces starten and the owner's templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from relations.models import TeamAssignment
from tests.factories import RelationFactory, ServiceAgreementFactory
from work import dates, services
from work.models import Process, ProcessTemplate, Task, TemplateStep

pytestmark = pytest.mark.django_db

Q3 = dates.parse_period("quarter", "2026-Q3")


def test_mijn_taken_groups_my_tasks_and_a_post_completes_one(
    client_relation, vat_template, owner, staff_client
):
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    first = process.tasks.get(position=1)
    Task.objects.filter(pk=first.pk).update(due_date=dates.today() - timedelta(days=1))
    page = staff_client.get(reverse("work-tasks"))
    assert page.status_code == 200
    assert "Overdue" in page.text
    assert "Administratie bijwerken" in page.text
    assert "Aangifte controleren" not in page.text  # the tax advisor's, and blocked
    response = staff_client.post(
        reverse("work-task-complete", args=[first.pk]), {"version": first.version}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Task.Status.DONE


def test_a_stale_completion_is_told_it_was_already_done(
    client_relation, vat_template, owner, staff, owner_client
):
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    first = process.tasks.get(position=1)
    services.complete(task=first, user=staff, version=first.version)
    response = owner_client.post(
        reverse("work-task-complete", args=[first.pk]), {"version": first.version}, follow=True
    )
    assert "already done by" in response.text


def _many_tasks(practice, owner, staff, template, n):
    for i in range(n):
        relation = RelationFactory.create(practice=practice, legal_name=f"Klant {i} B.V.")
        ServiceAgreementFactory.create(
            relation=relation, service="vat", start_date=dates.today() - timedelta(days=400)
        )
        TeamAssignment.objects.create(
            practice=practice, relation=relation, user=staff, role="accountant"
        )
        services.start_process(relation=relation, template=template, period=Q3, user=owner)


def _count_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("work-tasks")).status_code == 200
        assert client.get(reverse("home")).status_code == 200
    return len(ctx.captured_queries)


def test_mijn_taken_runs_the_same_queries_at_20_and_200_tasks(
    practice, owner, staff, staff_client, vat_template
):
    _many_tasks(practice, owner, staff, vat_template, 20)
    at_20 = _count_queries(staff_client)
    _many_tasks(practice, owner, staff, vat_template, 180)
    assert Task.objects.filter(assignee=staff, status="open").count() == 200
    at_200 = _count_queries(staff_client)
    assert at_20 == at_200


def test_the_tab_lists_the_processes_and_start_offers_only_templates_with_an_agreement(
    practice, client_relation, vat_template, owner_client
):
    ProcessTemplate.objects.create(
        practice=practice, name="Loonadministratie", service="payroll", period_kind="month"
    )
    start_url = reverse("work-start", args=[client_relation.public_id])
    page = owner_client.get(start_url)
    assert "No running agreement for Payroll." in page.text
    preview = owner_client.get(start_url, {"template": vat_template.pk, "period": "2026-Q3"})
    assert "Administratie bijwerken" in preview.text
    assert "2026-10-23" in preview.text
    assert not Process.objects.exists()  # the preview writes nothing
    response = owner_client.post(start_url, {"template": vat_template.pk, "period": "2026-Q3"})
    assert response.status_code == 302
    assert Process.objects.get().period_label == "Q3 2026"
    again = owner_client.post(
        start_url, {"template": vat_template.pk, "period": "2026-Q3"}, follow=True
    )
    assert "already has" in again.text
    tab = owner_client.get(reverse("relations-tab", args=[client_relation.public_id, "work"]))
    assert "Btw-aangifte per kwartaal Q3 2026" in tab.text


def test_skip_asks_for_a_reason(client_relation, vat_template, owner, staff_client):
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    task = process.tasks.get(position=2)
    url = reverse("work-task-skip", args=[task.pk])
    assert staff_client.get(url).status_code == 200
    assert staff_client.post(url, {"version": task.version, "reason": ""}).status_code == 200
    assert (
        staff_client.post(url, {"version": task.version, "reason": "Niet nodig"}).status_code == 302
    )
    task.refresh_from_db()
    assert (task.status, task.skip_reason) == (Task.Status.SKIPPED, "Niet nodig")


def test_an_owner_builds_a_template_and_an_edit_bumps_its_version(practice, owner_client):
    response = owner_client.post(
        reverse("work-template-new"),
        {"name": "Jaarwerk", "service": "annual_accounts", "period_kind": "year"},
    )
    template = ProcessTemplate.objects.get(name="Jaarwerk")
    assert response.url == reverse("work-template", args=[template.pk])
    response = owner_client.post(
        reverse("work-step-new", args=[template.pk]),
        {
            "position": 1,
            "title": "Jaarrekening opstellen",
            "assignee_kind": "role",
            "role_key": "accountant",
            "due_rule": "after_previous",
            "days": 14,
            "checklist_text": "Balans\n\nResultaat\n",
        },
    )
    assert response.status_code == 302
    step = TemplateStep.objects.get(template=template)
    assert step.checklist == ["Balans", "Resultaat"]
    template.refresh_from_db()
    assert template.version == 2
    refused = owner_client.post(
        reverse("work-step-new", args=[template.pk]),
        {
            "position": 2,
            "title": "Zonder rol",
            "assignee_kind": "role",
            "due_rule": "deadline",
            "days": 0,
        },
    )
    assert refused.status_code == 200
    assert "Choose the team role" in refused.text
    owner_client.post(reverse("work-template-archive", args=[template.pk]))
    template.refresh_from_db()
    assert template.archived_at is not None


def test_staff_may_not_edit_templates_and_read_only_members_may_not_complete(
    client_relation, vat_template, owner, staff_client, readonly_client, outsider_client
):
    assert staff_client.get(reverse("work-templates")).status_code == 403
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    task = process.tasks.get(position=1)
    url = reverse("work-task-complete", args=[task.pk])
    assert readonly_client.post(url, {"version": task.version}).status_code == 403
    assert outsider_client.post(url, {"version": task.version}).status_code == 404
    assert readonly_client.get(reverse("work-tasks")).status_code == 200
    assert staff_client.get(url).status_code == 405


def test_bulk_complete_completes_the_chosen_and_reports_a_stale_one(
    practice, client_relation, vat_template, owner, staff, staff_client
):
    first = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    ).tasks.get(position=1)
    other = services.start_process(
        relation=client_relation,
        template=vat_template,
        period=dates.parse_period("quarter", "2026-Q2"),
        user=owner,
    ).tasks.get(position=1)
    stale = other.version
    services.complete(task=other, user=owner, version=other.version)
    response = staff_client.post(
        reverse("work-tasks-complete"),
        {"tasks": [f"{first.pk}:{first.version}", f"{other.pk}:{stale}", "x:y"]},
        follow=True,
    )
    assert "1 tasks done." in response.text
    assert "already done by" in response.text
    first.refresh_from_db()
    assert (first.status, first.done_by) == (Task.Status.DONE, staff)
    page = staff_client.get(reverse("work-tasks"))
    assert "js/tasks.js" in page.text
