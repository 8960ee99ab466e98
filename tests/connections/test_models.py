"""One row per pair, read in the right words from either side; the database holds the invariants."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from connections.models import Connection
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def row(practice, a, b, **kwargs):
    return Connection(practice=practice, a=a, b=b, type=kwargs.pop("type", "director"), **kwargs)


# --- reading from both sides ---------------------------------------------------------------------


def test_jan_reads_director_of_and_the_company_reads_has_director(connect, company, jan):
    connection = connect(jan, company, Connection.Type.DIRECTOR, subject=True)

    assert Connection.objects.count() == 1
    assert connection.describe_for(jan) == "Jan de Vries — director of Bakkerij B.V."
    assert connection.describe_for(company) == "Bakkerij B.V. — has director Jan de Vries"
    assert connection.other(jan) == company
    assert connection.other(company) == jan


def test_the_pair_is_stored_lower_id_first_whichever_side_added_it(connect, company, jan):
    """Jan (the subject) has the higher id: the row flips the pair and remembers who is subject."""
    assert company.pk < jan.pk

    connection = connect(jan, company, Connection.Type.DIRECTOR, subject=True)

    assert (connection.a, connection.b, connection.a_is_subject) == (company, jan, False)
    assert connection.subject == jan
    assert str(connection) == "Jan de Vries — director of Bakkerij B.V."


def test_adding_from_the_companys_side_reads_the_same(connect, company, jan):
    connection = connect(company, jan, Connection.Type.DIRECTOR, subject=False)

    assert (connection.a, connection.b, connection.a_is_subject) == (company, jan, False)
    assert connection.describe_for(jan) == "Jan de Vries — director of Bakkerij B.V."
    assert connection.describe_for(company) == "Bakkerij B.V. — has director Jan de Vries"


def test_subject_with_the_lower_id(connect, practice, company):
    holding = RelationFactory(practice=practice, legal_name="Holding B.V.")
    connection = connect(company, holding, Connection.Type.PARENT_COMPANY, subject=False)

    assert connection.a_is_subject is False
    assert connection.describe_for(company) == "Bakkerij B.V. — subsidiary of Holding B.V."
    assert connection.describe_for(holding) == "Holding B.V. — parent company of Bakkerij B.V."


@pytest.mark.parametrize(
    ("type", "subject_words", "object_words"),
    [
        ("contact_person", "contact person at", "has contact person"),
        ("director", "director of", "has director"),
        ("fiscal_partner", "fiscal partner of", "fiscal partner of"),
        ("shareholder", "shareholder of", "has shareholder"),
        ("parent_company", "parent company of", "subsidiary of"),
        ("other", "connected to", "connected to"),
    ],
)
def test_each_type_has_a_label_for_each_direction(
    connect, company, jan, type, subject_words, object_words
):
    connection = connect(jan, company, type, subject=True, description="Buurman")

    assert connection.label_for(jan) == subject_words
    assert connection.label_for(company) == object_words


def test_symmetric_types_store_one_direction(connect, company, jan):
    connection = connect(jan, company, Connection.Type.FISCAL_PARTNER, subject=False)

    assert connection.a_is_subject is True


def test_a_relation_outside_the_pair_has_no_words(connect, practice, company, jan):
    connection = connect(jan, company)
    stranger = RelationFactory(practice=practice)

    with pytest.raises(ValueError, match="does not involve"):
        connection.label_for(stranger)
    with pytest.raises(ValueError, match="does not involve"):
        connection.other(stranger)


def test_involving_finds_the_row_from_both_sides(connect, practice, company, jan):
    connection = connect(jan, company)
    RelationFactory(practice=practice)

    assert list(Connection.objects.involving(jan)) == [connection]
    assert list(Connection.objects.involving(company)) == [connection]


def test_is_active_until_the_end_date(connect, company, jan):
    connection = connect(jan, company)
    today = timezone.localdate()

    assert connection.is_active
    connection.end_date = today + timedelta(days=1)
    assert connection.is_active
    connection.end_date = today
    assert not connection.is_active
    connection.save()
    assert not Connection.objects.active().exists()
    assert list(Connection.objects.ended()) == [connection]


def test_clean_requires_a_description_for_other_and_an_end_after_the_start(company, jan):
    connection = row(
        company.practice,
        company,
        jan,
        type="other",
        start_date=timezone.localdate(),
        end_date=timezone.localdate() - timedelta(days=1),
    )

    with pytest.raises(ValidationError) as caught:
        connection.clean()
    assert set(caught.value.message_dict) == {"description", "end_date"}


# --- the database's constraints ------------------------------------------------------------------


def test_database_refuses_a_pair_in_the_wrong_order(practice, company, jan):
    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, jan, company).save()


def test_database_refuses_a_self_link(practice, company):
    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, company, company).save()


def test_database_refuses_the_same_pair_and_type_twice(practice, company, jan):
    row(practice, company, jan, a_is_subject=False).save()

    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, company, jan, a_is_subject=True).save()
    row(practice, company, jan, type="shareholder").save()  # another type is another row
    assert Connection.objects.count() == 2


def test_database_refuses_other_without_a_description(practice, company, jan):
    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, company, jan, type="other").save()


def test_database_refuses_an_end_before_the_start(practice, company, jan):
    today = timezone.localdate()
    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, company, jan, start_date=today, end_date=today - timedelta(days=1)).save()


def test_database_refuses_an_unknown_type(practice, company, jan):
    with pytest.raises(IntegrityError), transaction.atomic():
        row(practice, company, jan, type="lover").save()
