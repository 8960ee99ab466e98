"""Company ↔ private person: a confirmation step that asks for the names and says what will happen.

Issue 11, defect 3: the conversion ran on one click and made the legal name the person's last name
("Bakkerij De Gouden Korst B.V."), which then went to the ledger.
"""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from relations.models import Relation
from tests.factories import RelationFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff):
    """In Dutch, the language the office works in: these pages are read, not only their msgids."""
    client = Client(headers={"accept-language": "nl"})
    client.force_login(staff)
    return client


TO_PRIVATE = "relations-convert-to-private"
TO_COMPANY = "relations-convert-to-company"


def url(name, relation):
    return reverse(name, args=[relation.public_id])


@pytest.fixture
def bakery(practice):
    return RelationFactory(
        practice=practice,
        legal_name="Bakkerij De Gouden Korst B.V.",
        kvk_number="12345678",
        vat_number="NL000099998B57",
    )


def test_conversion_needs_confirmation_with_the_names(staff_client, bakery):
    page = staff_client.get(url(TO_PRIVATE, bakery))
    assert page.status_code == 200
    html = page.content.decode()
    for name in ("first_name", "name_prefix", "last_name"):
        assert f'name="{name}"' in html
    assert 'name="confirmed" value="1"' in html
    # A POST that was not confirmed on that page changes nothing.
    staff_client.post(url(TO_PRIVATE, bakery))
    bakery.refresh_from_db()
    assert (bakery.entity, bakery.version) == ("company", 1)
    assert not bakery.timeline.filter(kind="converted_to_private").exists()


def test_converting_a_company_does_not_make_the_legal_name_a_last_name(staff_client, bakery):
    form = staff_client.get(url(TO_PRIVATE, bakery)).context["form"]
    assert form["last_name"].value() in ("", None)

    response = staff_client.post(
        url(TO_PRIVATE, bakery),
        {"confirmed": "1", "first_name": "Jan", "name_prefix": "de", "last_name": "Vries"},
    )
    assert response.status_code == 302
    bakery.refresh_from_db()
    assert bakery.entity == "private"
    assert (bakery.first_name, bakery.name_prefix, bakery.last_name) == ("Jan", "de", "Vries")
    assert bakery.display_name == "Jan de Vries"  # the name the ledger gets
    assert bakery.ledger_version == 2
    assert bakery.legal_name == "Bakkerij De Gouden Korst B.V."  # kept, hidden while private
    event = bakery.timeline.get(kind="converted_to_private")
    assert {"legal_name", "kvk_number", "vat_number"} <= set(event.fields)


def test_a_private_person_needs_a_last_name_before_the_conversion(staff_client, bakery):
    response = staff_client.post(
        url(TO_PRIVATE, bakery), {"confirmed": "1", "first_name": "Jan", "last_name": "  "}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["last_name"]
    bakery.refresh_from_db()
    assert (bakery.entity, bakery.version, bakery.last_name) == ("company", 1, "")


def test_the_conversion_page_says_what_is_kept_and_which_name_the_ledger_gets(staff_client, bakery):
    html = staff_client.post(
        url(TO_PRIVATE, bakery),
        {"confirmed": "1", "first_name": "Jan", "name_prefix": "de", "last_name": ""},
    ).content.decode()
    # In Dutch: the company fields that stay on the timeline, and the ledger's name.
    assert "KvK-nummer" in html
    assert "12345678" in html
    assert "tijdlijn" in html
    assert "boekhouding" in html
    page = staff_client.get(url(TO_PRIVATE, bakery)).content.decode()
    assert "Bakkerij De Gouden Korst B.V." in page


def test_a_company_that_was_a_person_gets_its_names_back_as_the_proposal(staff_client, practice):
    company = RelationFactory(
        practice=practice,
        legal_name="Jansen Advies",
        first_name="Piet",
        last_name="Jansen",
    )
    form = staff_client.get(url(TO_PRIVATE, company)).context["form"]
    assert (form["first_name"].value(), form["last_name"].value()) == ("Piet", "Jansen")


def test_the_sole_director_is_proposed_as_the_person(staff_client, practice, bakery):
    director = RelationFactory(
        practice=practice,
        contact=True,
        private=True,
        first_name="Anna",
        name_prefix="van",
        last_name="Dijk",
    )
    a, b = sorted([bakery, director], key=lambda r: r.pk)
    Connection.objects.create(
        practice=practice, a=a, b=b, type="director", a_is_subject=a == director
    )
    form = staff_client.get(url(TO_PRIVATE, bakery)).context["form"]
    assert [form[n].value() for n in ("first_name", "name_prefix", "last_name")] == [
        "Anna",
        "van",
        "Dijk",
    ]


def test_a_company_with_an_active_agreement_is_refused_on_the_confirmation_page(
    staff_client, bakery
):
    ServiceAgreementFactory(relation=bakery, service="payroll", start_date=date(2020, 1, 1))
    page = staff_client.get(url(TO_PRIVATE, bakery))
    html = page.content.decode()
    assert "kan geen particulier worden" in html
    assert 'name="confirmed"' not in html
    response = staff_client.post(
        url(TO_PRIVATE, bakery), {"confirmed": "1", "last_name": "Vries"}, follow=True
    )
    assert "kan geen particulier worden" in response.content.decode()
    bakery.refresh_from_db()
    assert bakery.entity == "company"


def test_converting_a_person_to_a_company_asks_for_the_legal_name(staff_client, practice):
    person = RelationFactory(practice=practice, private=True, first_name="Piet", last_name="Bakker")
    page = staff_client.get(url(TO_COMPANY, person))
    assert page.status_code == 200
    assert page.context["form"]["legal_name"].value() == "Piet Bakker"  # the proposal
    staff_client.post(url(TO_COMPANY, person))  # not confirmed
    person.refresh_from_db()
    assert person.entity == "private"

    empty = staff_client.post(url(TO_COMPANY, person), {"confirmed": "1", "legal_name": ""})
    assert empty.context["form"].errors["legal_name"]
    person.refresh_from_db()
    assert person.entity == "private"

    staff_client.post(url(TO_COMPANY, person), {"confirmed": "1", "legal_name": "Bakker Bouw B.V."})
    person.refresh_from_db()
    assert (person.entity, person.legal_name, person.display_name) == (
        "company",
        "Bakker Bouw B.V.",
        "Bakker Bouw B.V.",
    )
    assert person.last_name == "Bakker"  # kept, hidden while a company
    event = person.timeline.get(kind="converted_to_company")
    assert {"first_name", "last_name"} <= set(event.fields)


def test_a_contact_is_told_that_nothing_goes_to_the_ledger(staff_client, practice):
    contact = RelationFactory(practice=practice, contact=True, legal_name="Zzp Jansen")
    html = staff_client.get(url(TO_PRIVATE, contact)).content.decode()
    assert "niet in de boekhouding" in html
    staff_client.post(url(TO_PRIVATE, contact), {"confirmed": "1", "last_name": "Jansen"})
    contact.refresh_from_db()
    assert (contact.entity, contact.last_name, contact.ledger_version) == ("private", "Jansen", 1)


def test_a_read_only_member_cannot_open_the_conversion_page(readonly_client, bakery):
    assert readonly_client.get(url(TO_PRIVATE, bakery)).status_code == 403
    assert Relation.objects.get(pk=bakery.pk).entity == "company"
