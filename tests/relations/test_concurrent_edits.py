"""Two people edit one relation from forms opened at the same version (defect 1 of issue 11).

The rule: a field only one person changed is never a conflict and never reverted; a field both
changed to different values is the only conflict; values are compared as the form cleans them.
"""

import pytest
from django.urls import reverse

from relations.models import Relation
from tests.factories import RelationFactory
from tests.forms import as_browser_submits

CONFLICT = "changed this relation meanwhile"


@pytest.fixture
def company(practice, staff):
    return RelationFactory(
        practice=practice,
        legal_name="Bakkerij B.V.",
        client_code="1000",
        phone="020 111 1111",
        website="https://bakkerij.nl",
        vat_number="NL000099998B57",
        legal_form="bv",
    )


def _open(client, relation) -> dict[str, str]:
    url = reverse("relations-edit", args=[relation.public_id])
    return as_browser_submits(client.get(url).context["form"])


def _save(client, relation, data):
    return client.post(reverse("relations-edit", args=[relation.public_id]), data)


def test_fields_only_one_person_changed_are_never_reverted(staff_client, owner_client, company):
    alice, bob = _open(owner_client, company), _open(staff_client, company)
    assert _save(owner_client, company, {**alice, "phone": "020 222 2222"}).status_code == 302

    response = _save(staff_client, company, {**bob, "website": "https://bob.example.nl"})

    assert response.status_code == 302, "a change to another field is no conflict"
    company.refresh_from_db()
    assert company.phone == "020 222 2222"
    assert company.website == "https://bob.example.nl"
    assert company.version == 3
    assert company.timeline.filter(kind="changed").latest("pk").fields == ["website"]


@pytest.mark.parametrize(
    ("field", "alice_value", "bob_value"),
    [
        ("legal_name", "Bakkerij Alice B.V.", "Bakkerij Bob B.V."),
        ("phone", "020 222 2222", "020 333 3333"),
        ("founded_on", "2001-02-03", "2004-05-06"),
        ("legal_form", "nv", "vof"),
        ("fiscal_year_end_month", "6", "9"),
    ],
)
def test_only_a_field_both_people_changed_is_a_conflict(
    staff_client, owner_client, company, field, alice_value, bob_value
):
    alice, bob = _open(owner_client, company), _open(staff_client, company)
    _save(owner_client, company, {**alice, field: alice_value, "trade_name": "Alice"})

    response = _save(staff_client, company, {**bob, field: bob_value, "email": "bob@bakkerij.nl"})

    assert response.status_code == 200
    assert CONFLICT in response.content.decode()
    shown = response.context["form"]
    assert [str(label) for label, _value in shown.conflicting] == [str(shown[field].label)]
    assert str(shown[field].value()) == bob_value  # this person's value, to check
    assert shown["trade_name"].value() == "Alice"  # the other person's, not reverted
    assert shown["email"].value() == "bob@bakkerij.nl"
    company.refresh_from_db()
    assert company.email != "bob@bakkerij.nl", "nothing is saved while there is a conflict"

    # Saving the form as shown keeps both people's work.
    assert _save(staff_client, company, as_browser_submits(shown)).status_code == 302
    company.refresh_from_db()
    assert (company.trade_name, company.email) == ("Alice", "bob@bakkerij.nl")
    assert str(getattr(company, field)) == bob_value


def test_values_equal_after_normalisation_are_not_conflicts(staff_client, owner_client, company):
    alice, bob = _open(owner_client, company), _open(staff_client, company)
    _save(
        owner_client, company, {**alice, "vat_number": "NL000099998B57", "kvk_number": "12345678"}
    )

    # Bob writes the same btw-id and KvK number differently, and changes the website.
    response = _save(
        staff_client,
        company,
        {
            **bob,
            "vat_number": "nl 0000.99998.b57",
            "kvk_number": "1234 5678",
            "website": "https://bob.example.nl",
        },
    )

    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.vat_number, company.kvk_number) == ("NL000099998B57", "12345678")
    assert company.website == "https://bob.example.nl"


def test_a_same_value_written_by_both_is_no_conflict(staff_client, owner_client, company):
    alice, bob = _open(owner_client, company), _open(staff_client, company)
    _save(owner_client, company, {**alice, "kvk_number": "12345678"})
    response = _save(staff_client, company, {**bob, "kvk_number": "1234 5678", "notes": "Bob"})
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.kvk_number, company.notes) == ("12345678", "Bob")


def test_after_a_conflict_the_form_shows_the_other_persons_saved_values(
    staff_client, owner_client, company
):
    alice, bob = _open(owner_client, company), _open(staff_client, company)
    _save(
        owner_client,
        company,
        {**alice, "phone": "020 222 2222", "founded_on": "1999-12-31", "legal_form": "nv"},
    )
    response = _save(staff_client, company, {**bob, "phone": "020 999 9999"})
    shown = response.context["form"]
    assert shown["phone"].value() == "020 999 9999"
    assert str(shown["founded_on"].value()) == "1999-12-31"
    assert shown["legal_form"].value() == "nv"
    assert "020 222 2222" in response.content.decode()  # what Alice saved, to compare with


def test_a_private_person_merges_the_same_way(staff_client, owner_client, practice):
    person = RelationFactory(
        practice=practice,
        entity=Relation.Entity.PRIVATE,
        legal_name="",
        first_name="Jan",
        last_name="Vries",
        client_code="1001",
    )
    alice, bob = _open(owner_client, person), _open(staff_client, person)
    assert _save(owner_client, person, {**alice, "date_of_birth": "1980-01-02"}).status_code == 302
    assert _save(staff_client, person, {**bob, "name_prefix": "de"}).status_code == 302
    person.refresh_from_db()
    assert (str(person.date_of_birth), person.name_prefix) == ("1980-01-02", "de")
    assert person.display_name.endswith("de Vries")
