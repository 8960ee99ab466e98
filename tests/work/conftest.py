"""A client with a VAT agreement and a team, and the quarterly VAT template of the issue:
administratie → the client delivers → the fiscalist reviews."""

from __future__ import annotations

from datetime import date

import pytest

from relations.models import TeamAssignment
from tests.factories import RelationFactory, ServiceAgreementFactory
from work.models import DeadlineKind, ProcessTemplate, TemplateStep


@pytest.fixture
def client_relation(practice, owner, staff):
    relation = RelationFactory.create(practice=practice, legal_name="Bakkerij Brood B.V.")
    ServiceAgreementFactory.create(relation=relation, service="vat", start_date=date(2020, 1, 1))
    TeamAssignment.objects.create(
        practice=practice, relation=relation, user=staff, role=TeamAssignment.Role.ACCOUNTANT
    )
    TeamAssignment.objects.create(
        practice=practice, relation=relation, user=owner, role=TeamAssignment.Role.TAX_ADVISOR
    )
    return relation


@pytest.fixture
def vat_template(practice):
    template = ProcessTemplate.objects.create(
        practice=practice, name="Btw-aangifte per kwartaal", service="vat", period_kind="quarter"
    )
    deadline = DeadlineKind.objects.get(practice=practice, key="btw-kwartaal")
    TemplateStep.objects.create(
        template=template,
        position=1,
        title="Administratie bijwerken",
        role_key="accountant",
        due_rule="deadline",
        deadline_kind=deadline,
        days=-10,
        blocks_next=True,
    )
    TemplateStep.objects.create(
        template=template,
        position=2,
        title="Stukken aanleveren",
        assignee_kind="contact",
        due_rule="deadline",
        deadline_kind=deadline,
        days=-5,
    )
    TemplateStep.objects.create(
        template=template,
        position=3,
        title="Aangifte controleren",
        role_key="tax_advisor",
        due_rule="deadline",
        deadline_kind=deadline,
    )
    return template
