"""Adding and ending: refusals a person can act on, and an event on both relations' timelines."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from connections import services
from connections.models import Connection
from relations.models import TimelineEvent
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

Event = TimelineEvent.Kind


def events(relation):
    return list(relation.timeline.values_list("kind", "other_relation", "actor"))


# --- adding --------------------------------------------------------------------------------------


def test_adding_writes_one_row_and_an_event_on_both_sides(connect, staff, company, jan):
    connection = connect(
        jan, company, Connection.Type.DIRECTOR, start_date=date(2020, 1, 1), description="Statutair"
    )

    assert list(Connection.objects.all()) == [connection]
    assert connection.practice == jan.practice
    assert connection.start_date == date(2020, 1, 1)
    assert connection.description == "Statutair"
    assert connection.created_by == staff
    assert connection.end_date is None
    assert events(jan) == [(Event.CONNECTION_ADDED, company.pk, staff.pk)]
    assert events(company) == [(Event.CONNECTION_ADDED, jan.pk, staff.pk)]


def test_a_relation_cannot_be_connected_to_itself(connect, company):
    with pytest.raises(ValidationError) as caught:
        connect(company, company)

    assert caught.value.message_dict == {"other": ["A relation cannot be connected to itself."]}
    assert not Connection.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_relation_of_another_practice_is_refused(connect, other_practice, company):
    elsewhere = RelationFactory(practice=other_practice)

    with pytest.raises(ValidationError) as caught:
        connect(company, elsewhere)

    assert caught.value.message_dict == {"other": ["Choose a relation of this practice."]}
    assert not Connection.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_the_practice_passed_in_must_be_the_relations(staff, other_practice, company, jan):
    with pytest.raises(ValidationError):
        services.add_connection(
            practice=other_practice,
            user=staff,
            relation=company,
            other=jan,
            type="director",
            subject_is_relation=False,
        )
    assert not Connection.objects.exists()


def test_an_archived_other_is_refused_with_its_name(connect, company, jan):
    jan.archived_at = timezone.now()
    jan.save()

    with pytest.raises(ValidationError) as caught:
        connect(company, jan, subject=False)

    assert caught.value.message_dict == {
        "other": ["Jan de Vries is archived. Restore it before connecting it."]
    }
    assert not Connection.objects.exists()


def test_an_archived_relation_cannot_get_connections(connect, company, jan):
    company.archived_at = timezone.now()
    company.save()

    with pytest.raises(ValidationError):
        connect(company, jan, subject=False)
    assert not Connection.objects.exists()


def test_the_same_pair_and_type_twice_is_refused_from_either_side(connect, company, jan):
    connect(jan, company, Connection.Type.DIRECTOR, subject=True)

    with pytest.raises(ValidationError) as caught:
        connect(company, jan, Connection.Type.DIRECTOR, subject=False)

    assert caught.value.messages == [
        "This connection exists already: Bakkerij B.V. — has director Jan de Vries."
    ]
    assert Connection.objects.count() == 1
    assert TimelineEvent.objects.count() == 2  # only the first add's


def test_an_ended_connection_of_the_same_type_is_explained(connect, staff, company, jan):
    connection = connect(jan, company, start_date=date(2020, 1, 1))
    services.end_connection(connection=connection, user=staff, on=date(2024, 3, 1))

    with pytest.raises(ValidationError) as caught:
        connect(jan, company)

    [message] = caught.value.messages
    assert "had this connection until 01/03/2024" in message  # day/month/year in English too
    assert Connection.objects.count() == 1


def test_another_type_between_the_same_pair_is_a_second_row(connect, company, jan):
    connect(jan, company, Connection.Type.DIRECTOR)
    connect(jan, company, Connection.Type.SHAREHOLDER)

    assert Connection.objects.involving(jan).count() == 2


def test_other_needs_a_description(connect, company, jan):
    with pytest.raises(ValidationError) as caught:
        connect(jan, company, Connection.Type.OTHER, description="  ")

    assert caught.value.message_dict == {"description": ["Describe how the two are connected."]}


def test_an_unknown_type_is_refused(connect, company, jan):
    with pytest.raises(ValidationError):
        connect(jan, company, "lover")


# --- ending --------------------------------------------------------------------------------------


def test_ending_sets_the_end_date_keeps_the_row_and_writes_on_both_sides(
    connect, owner, company, jan
):
    connection = connect(jan, company)

    services.end_connection(connection=connection, user=owner)

    connection.refresh_from_db()
    assert connection.end_date == timezone.localdate()
    assert not connection.is_active
    assert Connection.objects.count() == 1
    assert jan.timeline.filter(kind=Event.CONNECTION_ENDED).get().other_relation == company
    assert company.timeline.filter(kind=Event.CONNECTION_ENDED).get().other_relation == jan
    assert set(
        TimelineEvent.objects.filter(kind=Event.CONNECTION_ENDED).values_list("actor", flat=True)
    ) == {owner.pk}


def test_ending_on_a_given_day(connect, staff, company, jan):
    connection = connect(jan, company, start_date=date(2020, 1, 1))

    services.end_connection(connection=connection, user=staff, on=date(2023, 6, 30))

    connection.refresh_from_db()
    assert connection.end_date == date(2023, 6, 30)


def test_ending_twice_is_refused(connect, staff, company, jan):
    connection = connect(jan, company)
    services.end_connection(connection=connection, user=staff)

    with pytest.raises(ValidationError) as caught:
        services.end_connection(connection=connection, user=staff)

    assert caught.value.messages == ["This connection has ended already."]
    assert TimelineEvent.objects.filter(kind=Event.CONNECTION_ENDED).count() == 2


def test_a_connection_ending_in_the_future_can_be_ended_today(connect, staff, company, jan):
    connection = connect(jan, company)
    Connection.objects.filter(pk=connection.pk).update(
        end_date=timezone.localdate() + timedelta(days=30)
    )

    services.end_connection(connection=connection, user=staff)

    connection.refresh_from_db()
    assert connection.end_date == timezone.localdate()


def test_ending_before_the_start_is_refused(connect, staff, company, jan):
    connection = connect(jan, company, start_date=date(2020, 1, 1))

    with pytest.raises(ValidationError) as caught:
        services.end_connection(connection=connection, user=staff, on=date(2019, 12, 31))

    assert "cannot be before the start date" in caught.value.messages[0]
    connection.refresh_from_db()
    assert connection.end_date is None
    assert not TimelineEvent.objects.filter(kind=Event.CONNECTION_ENDED).exists()
