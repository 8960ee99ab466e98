"""The list's bulk "Convert to client" is set-based: a fixed number of queries for any selection,
and still, per converted relation, its own code, outbox bump, search text, timeline event and manager.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from relations import services
from relations.models import Relation, TeamAssignment, TimelineEvent
from relations.signals import ledger_changed
from tests.factories import AddressFactory, RelationFactory

pytestmark = pytest.mark.django_db


def contacts(practice, n: int, start: int = 0) -> list[Relation]:
    made = []
    for i in range(start, start + n):
        relation = RelationFactory.create(
            practice=practice, contact=True, legal_name=f"Contact {i}"
        )
        AddressFactory.create(relation=relation, type="visiting", city=f"Stad {i}")
        AddressFactory.create(relation=relation, type="postal", city=f"Post {i}")
        made.append(relation)
    return made


def test_converting_more_contacts_takes_no_more_queries(practice, staff):
    counts = []
    for start, n in ((0, 2), (2, 25)):
        chosen = contacts(practice, n, start)
        with CaptureQueriesContext(connection) as captured:
            result = services.convert_to_client(practice=practice, user=staff, relations=chosen)
        assert len(result.done) == n
        counts.append(len(captured.captured_queries))

    # Savepoint, lock the practice, lock the rows, codes in use, advance the sequence, addresses,
    # one UPDATE, read back, events, managers present, managers added and their events, release.
    assert counts == [13, 13]


def test_each_converted_relation_is_complete(practice, staff, owner):
    practice.client_code_next = 3000
    practice.save()
    chosen = contacts(practice, 3)
    RelationFactory.create(practice=practice, client_code="3001")  # taken: skipped by the sequence
    already_managed = chosen[2]
    TeamAssignment.objects.create(
        practice=practice, relation=already_managed, user=owner, role="manager"
    )
    before = {
        r.pk: (r.version, r.ledger_version)
        for r in Relation.objects.filter(pk__in=[c.pk for c in chosen])
    }
    nudged = []

    def receiver(sender, relation, **kwargs):
        nudged.append((relation.pk, relation.ledger_version))

    ledger_changed.connect(receiver)
    try:
        result = services.convert_to_client(practice=practice, user=staff, relations=chosen)
    finally:
        ledger_changed.disconnect(receiver)

    assert [r.client_code for r in result.done] == ["3000", "3002", "3003"]
    for relation in result.done:
        stored = Relation.objects.get(pk=relation.pk)
        cities = list(stored.addresses.values_list("city", flat=True))
        assert stored.kind == relation.kind == "client"
        assert stored.client_code == relation.client_code
        assert (stored.version, stored.ledger_version) == tuple(v + 1 for v in before[stored.pk])
        assert (relation.version, relation.ledger_version) == (
            stored.version,
            stored.ledger_version,
        )
        assert stored.updated_by == staff
        assert stored.search_text == stored.compose_search_text(cities=cities)
        assert stored.client_code in stored.search_text
        [event] = stored.timeline.filter(kind="converted_to_client")
        assert (event.actor, event.fields) == (staff, ["client_code", "kind"])
        managers = stored.team.filter(role="manager")
        if stored.pk == already_managed.pk:
            assert [m.user for m in managers] == [owner]
            assert not stored.timeline.filter(kind="team_added").exists()
        else:
            assert [m.user for m in managers] == [staff]
            [added] = stored.timeline.filter(kind="team_added")
            assert (added.actor, added.member, added.fields) == (staff, staff, ["manager"])
    # The outbox: one nudge per converted client, each already seeing its bumped version.
    assert nudged == [(r.pk, r.ledger_version) for r in result.done]
    assert TimelineEvent.objects.filter(kind="converted_to_client").count() == 3
