"""A team change moves only open role tasks; deactivating a member puts theirs back to the role."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from practice import members
from practice.models import Membership
from relations import services as relation_services
from relations.models import TeamAssignment
from tests.factories import MembershipFactory, UserFactory
from work import dates, services
from work.models import Task, TemplateStep

pytestmark = pytest.mark.django_db

Q3 = dates.parse_period("quarter", "2026-Q3")


@pytest.fixture
def carol(practice):
    user = UserFactory.create(username="carol")
    MembershipFactory.create(practice=practice, user=user, role="staff")
    return user


def test_a_team_change_moves_only_the_open_role_tasks(
    practice, client_relation, vat_template, owner, staff, carol
):
    TemplateStep.objects.create(
        template=vat_template, position=0, title="Opdracht bevestigen", assignee_kind="starter"
    )
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    invoice, first, _contact, _review = process.tasks.order_by("position")
    done = services.start_process(
        relation=client_relation,
        template=vat_template,
        period=dates.parse_period("quarter", "2026-Q2"),
        user=owner,
    ).tasks.get(title="Administratie bijwerken")
    services.complete(task=done, user=staff, version=done.version)
    assert first.assignee == staff
    assert invoice.assignee == owner

    relation_services.remove_team_member(
        assignment=TeamAssignment.objects.get(
            relation=client_relation, user=staff, role="accountant"
        ),
        user=owner,
    )
    first.refresh_from_db()
    assert first.assignee is None  # the role's queue now
    relation_services.add_team_member(
        relation=client_relation, user=owner, member=carol, role="accountant"
    )
    first.refresh_from_db()
    invoice.refresh_from_db()
    done.refresh_from_db()
    assert first.assignee == carol
    assert invoice.assignee == owner  # named to the starter: not a role task
    assert done.assignee == staff  # done: history stays


def test_deactivating_a_member_puts_their_role_tasks_back_to_the_role(
    practice, client_relation, vat_template, owner, staff, carol
):
    TeamAssignment.objects.create(
        practice=practice, relation=client_relation, user=carol, role="accountant"
    )
    first = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    ).tasks.get(position=1)
    services.claim(task=first, user=staff)
    request = RequestFactory().post("/")
    request.user = owner
    members.deactivate(request, membership=Membership.objects.get(practice=practice, user=staff))
    first.refresh_from_db()
    assert first.assignee == carol  # the role's one active holder left
    assert Task.objects.filter(assignee=staff, status="open").count() == 0


def test_the_team_tab_warns_of_role_tasks_nobody_on_the_team_can_do(
    practice, client_relation, vat_template, owner, owner_client
):
    TeamAssignment.objects.filter(relation=client_relation, role="accountant").delete()
    services.start_process(relation=client_relation, template=vat_template, period=Q3, user=owner)
    from django.urls import reverse

    url = reverse("relations-tab", args=[client_relation.public_id, "team"])
    assert "Nobody on the team is Accountant: 1 open tasks" in owner_client.get(url).text
    relation_services.add_team_member(
        relation=client_relation, user=owner, member=owner, role="accountant"
    )
    assert "Nobody on the team is" not in owner_client.get(url).text


def test_handing_a_members_places_over_moves_their_role_tasks_too(
    practice, client_relation, vat_template, owner, staff, carol
):
    from relations import roles as team_roles

    first = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    ).tasks.get(position=1)
    assert first.assignee == staff
    team_roles.hand_over(practice=practice, user=owner, member=staff, to=carol)
    first.refresh_from_db()
    assert first.assignee == carol
