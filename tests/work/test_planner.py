"""The planner: template by period, the clients with their process status; bulk start row by row."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from relations.models import TeamAssignment
from tests.factories import RelationFactory, ServiceAgreementFactory
from work import dates, services
from work.models import Process

pytestmark = pytest.mark.django_db

Q3 = dates.parse_period("quarter", "2026-Q3")


def test_a_bulk_start_reports_row_by_row_and_a_repeat_is_a_no_op_that_says_so(
    practice, client_relation, vat_template, owner
):
    no_tax_advisor = RelationFactory.create(practice=practice, legal_name="Zonder Fiscalist B.V.")
    ServiceAgreementFactory.create(
        relation=no_tax_advisor, service="vat", start_date=date(2020, 1, 1)
    )
    TeamAssignment.objects.create(
        practice=practice, relation=no_tax_advisor, user=owner, role="accountant"
    )
    no_vat = RelationFactory.create(practice=practice, legal_name="Alleen Loon B.V.")
    services.start_process(relation=client_relation, template=vat_template, period=Q3, user=owner)
    chosen = [client_relation, no_tax_advisor, no_vat]
    rows = services.bulk_start(relations=chosen, template=vat_template, period=Q3, user=owner)
    assert [(r.relation, r.outcome, r.missing_roles) for r in rows] == [
        (client_relation, "exists", ()),
        (no_tax_advisor, "started", ("tax_advisor",)),
        (no_vat, "no_agreement", ()),
    ]
    again = services.bulk_start(relations=chosen, template=vat_template, period=Q3, user=owner)
    assert [r.outcome for r in again] == ["exists", "exists", "no_agreement"]
    assert Process.objects.count() == 2


def test_the_planner_shows_each_client_with_its_status_and_starts_the_missing_ones(
    practice, client_relation, vat_template, owner, staff, staff_client
):
    other = RelationFactory.create(practice=practice, legal_name="Tweede Klant B.V.")
    ServiceAgreementFactory.create(relation=other, service="vat", start_date=date(2020, 1, 1))
    services.start_process(relation=client_relation, template=vat_template, period=Q3, user=owner)
    url = reverse("work-planner")
    page = staff_client.get(url, {"template": vat_template.pk, "period": "2026-Q3"})
    assert "In progress" in page.text
    assert "Not started" in page.text
    mine = staff_client.get(
        url, {"template": vat_template.pk, "period": "2026-Q3", "member": staff.pk}
    )
    assert "Tweede Klant" not in mine.text  # not on its team
    assert "Bakkerij Brood" in mine.text
    result = staff_client.post(
        reverse("work-planner-start"),
        {
            "template": vat_template.pk,
            "period": "2026-Q3",
            "ids": [str(client_relation.public_id), str(other.public_id)],
        },
    )
    assert result.status_code == 200
    assert "Already exists" in result.text
    assert "1 process started." in result.text
    assert Process.objects.filter(relation=other, period_key="2026-Q3").exists()


def test_the_planner_runs_the_same_queries_for_5_and_50_clients(
    practice, vat_template, owner_client
):
    def add(n):
        for i in range(n):
            relation = RelationFactory.create(practice=practice, legal_name=f"Klant {i} {n} B.V.")
            ServiceAgreementFactory.create(
                relation=relation, service="vat", start_date=date(2020, 1, 1)
            )

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = owner_client.get(reverse("work-planner"), {"template": vat_template.pk})
            assert response.status_code == 200
        return len(ctx.captured_queries)

    add(5)
    at_5 = count()
    add(45)
    assert count() == at_5
