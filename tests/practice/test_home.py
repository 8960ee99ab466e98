"""The home page: my relations, clients without a relationship manager, ledger problems, open
invitations, in a fixed number of queries; first steps in an empty office."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from relations.models import TeamAssignment, TimelineEvent
from sync.models import SyncState
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def _fill(practice, owner, n: int, start: int) -> None:
    for i in range(n):
        relation = RelationFactory.create(practice=practice, client_code=str(start + i))
        if i % 2:
            TeamAssignment.objects.create(
                practice=practice, relation=relation, user=owner, role="manager"
            )
        TimelineEvent.record(relation, TimelineEvent.Kind.CHANGED, actor=owner)
        if i % 3 == 0:
            SyncState.objects.create(
                practice=practice, relation=relation, status=SyncState.Status.FAILED
            )


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("home")).status_code == 200
    return len(captured)


def test_the_home_page_costs_the_same_for_3_or_30_relations(owner_client, owner, practice):
    _fill(practice, owner, 3, 1000)
    few = _queries(owner_client)
    _fill(practice, owner, 27, 2000)
    many = _queries(owner_client)
    assert few == many


def test_the_home_page_shows_what_needs_doing(owner_client, owner, practice):
    unmanaged = RelationFactory(practice=practice, legal_name="Zonder Beheerder B.V.")
    failed = RelationFactory(practice=practice, legal_name="Mislukt B.V.")
    TeamAssignment.objects.create(practice=practice, relation=failed, user=owner, role="manager")
    SyncState.objects.create(practice=practice, relation=failed, status=SyncState.Status.FAILED)
    TimelineEvent.record(failed, TimelineEvent.Kind.CHANGED, actor=owner)
    owner_client.get(failed.get_absolute_url())
    page = owner_client.get(reverse("home")).content.decode()
    assert "Clients without a relationship manager" in page
    assert escape(str(unmanaged)) in page
    assert "Ledger problems" in page
    assert "Recently viewed" in page
    assert page.count(escape(str(failed))) >= 3  # viewed, changed, ledger problem


def test_another_offices_relations_never_show_on_the_home_page(
    owner_client, owner, practice, other_practice
):
    theirs = RelationFactory(practice=other_practice, legal_name="Van Elders B.V.")
    SyncState.objects.create(
        practice=other_practice, relation=theirs, status=SyncState.Status.CONFLICT
    )
    RelationFactory(practice=practice)
    page = owner_client.get(reverse("home")).content.decode()
    assert "Van Elders" not in page
