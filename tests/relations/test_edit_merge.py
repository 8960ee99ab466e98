"""Two people edit the same relation: what each changed survives, only a field both changed is a conflict.

The forms are read from the rendered page, as a browser submits it (hidden inputs included), so a
snapshot the template forgets to render fails here as it failed in the browser.
"""

from datetime import date
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from relations.models import Relation, TimelineEvent
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

CONFLICT = "changed this relation meanwhile"


class _FormParser(HTMLParser):
    """The successful controls of the page's main form (the one posting to the page itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None
        self.select_first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("method") == "post" and "action" not in a:
            self.in_form = True
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[name] = a.get("value", "on")
            elif kind not in ("submit", "button"):
                self.data[name] = a.get("value", "")
        elif tag == "select" and name and "disabled" not in a:
            self.select, self.select_first = name, None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
                self.data.setdefault(self.select, value)
            if "selected" in a:
                self.data[self.select] = value
        elif tag == "textarea" and name and "disabled" not in a:
            self.textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += (
                data.removeprefix("\n") if not self.data[self.textarea] else data
            )


def browser_form(response) -> dict[str, str]:
    """What a browser would submit for the page's form, left as it is."""
    assert response.status_code == 200
    parser = _FormParser()
    parser.feed(response.content.decode())
    assert parser.data, "no form on the page"
    return parser.data


def edit_url(relation: Relation) -> str:
    return reverse("relations-edit", args=[relation.public_id])


def open_edit(client, relation: Relation) -> dict[str, str]:
    return browser_form(client.get(edit_url(relation)))


@pytest.fixture
def company(practice, staff):
    return RelationFactory(
        practice=practice,
        legal_name="Bakkerij De Gouden Korst B.V.",
        client_code="1000",
        phone="0201111111",
        website="https://goudenkorst.nl",
        vat_number="NL000099998B57",
        legal_form="bv",
        founded_on=date(2001, 5, 1),
        fiscal_year_end_month=12,
    )


def test_fields_only_one_person_changed_are_never_reverted(staff_client, owner_client, company):
    """The issue's journey: A changes Telefoon, B (on the page opened before) changes only Website."""
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    assert (
        owner_client.post(edit_url(company), {**tab_a, "phone": "020 222 2222"}).status_code == 302
    )

    response = staff_client.post(edit_url(company), {**tab_b, "website": "https://korst.nl"})

    assert response.status_code == 302, "a change to another field is not a conflict"
    company.refresh_from_db()
    assert (company.phone, company.website) == ("020 222 2222", "https://korst.nl")
    assert company.version == 3  # one bump per save
    assert company.ledger_version == 3
    events = company.timeline.filter(kind=TimelineEvent.Kind.CHANGED).order_by("pk")
    assert [e.fields for e in events] == [["phone"], ["website"]]
    assert events.last().actor.username == "bob"


def test_values_equal_after_normalisation_are_not_conflicts(staff_client, owner_client, company):
    """Both typed the same phone number and VAT number, written differently: no conflict, and a
    number only written differently is no change at all."""
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(edit_url(company), {**tab_a, "phone": "020 222 2222", "trade_name": "Korst"})

    response = staff_client.post(
        edit_url(company),
        {**tab_b, "phone": "020-2222222", "vat_number": "nl 0000.99998.b57"},
    )

    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.phone, company.trade_name) == ("020 222 2222", "Korst")
    assert company.vat_number == "NL000099998B57"
    # Bob's save changed nothing: both his values were equal after cleaning.
    assert list(company.timeline.filter(kind="changed").values_list("fields", flat=True)) == [
        ["phone", "trade_name"]
    ]


def test_a_number_only_reformatted_by_the_other_person_is_not_their_change(
    staff_client, owner_client, company
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(edit_url(company), {**tab_a, "phone": "020 111 1111"})  # the same number

    response = staff_client.post(edit_url(company), {**tab_b, "phone": "020 333 3333"})

    assert response.status_code == 302
    company.refresh_from_db()
    assert company.phone == "020 333 3333"


def test_after_a_conflict_the_form_shows_the_other_persons_saved_values(
    staff_client, owner_client, company
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(
        edit_url(company),
        {
            **tab_a,
            "phone": "020 222 2222",
            "website": "https://alice.nl",
            "founded_on": "1999-01-02",
            "legal_form": "nv",
        },
    )

    response = staff_client.post(
        edit_url(company), {**tab_b, "phone": "020 444 4444", "notes": "Bob was hier"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert CONFLICT in page
    form = response.context["form"]
    assert [str(label) for label, _value in form.conflicting] == [str(form["phone"].label)]
    assert "020 222 2222" in page  # what Alice saved, to compare with
    shown = browser_form(response)
    assert shown["phone"] == "020 444 4444"  # Bob's own changes are kept
    assert shown["notes"] == "Bob was hier"
    assert shown["website"] == "https://alice.nl"  # Alice's, not Bob's stale values
    assert shown["founded_on"] == "1999-01-02"
    assert shown["legal_form"] == "nv"
    company.refresh_from_db()
    assert (company.phone, company.notes) == ("020 222 2222", "")  # nothing of Bob's saved yet

    # Saving the form as shown goes through and reverts nothing of Alice's.
    assert staff_client.post(edit_url(company), shown).status_code == 302
    company.refresh_from_db()
    assert (company.phone, company.notes) == ("020 444 4444", "Bob was hier")
    assert (company.website, company.founded_on, company.legal_form) == (
        "https://alice.nl",
        date(1999, 1, 2),
        "nv",
    )
    assert company.timeline.filter(kind="changed").order_by("pk").last().fields == [
        "notes",
        "phone",
    ]


def test_a_field_both_changed_to_the_same_value_is_not_a_conflict(
    staff_client, owner_client, company
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(edit_url(company), {**tab_a, "legal_form": "nv", "founded_on": "1999-01-02"})
    response = staff_client.post(
        edit_url(company), {**tab_b, "legal_form": "nv", "founded_on": "1999-01-02"}
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.version == 2  # Bob's save had nothing left to change


# Each field type of the company form: (field, Alice's value, Bob's value, as stored).
FIELD_TYPES = [
    ("trade_name", "Korst Alice", "Korst Bob", lambda v: v),  # text
    ("phone", "020 222 2222", "020 333 3333", lambda v: v),  # phone
    ("founded_on", "1999-01-02", "1998-03-04", date.fromisoformat),  # date
    ("legal_form", "nv", "vof", lambda v: v),  # choice
    ("fiscal_year_end_month", "3", "6", int),  # choice of a number
    ("language", "en", "en", lambda v: v),  # choice, both chose the same
]


@pytest.mark.parametrize(("name", "alice", "bob", "stored"), FIELD_TYPES, ids=lambda v: str(v))
def test_a_change_to_one_field_survives_a_change_to_another_whatever_its_type(
    staff_client, owner_client, company, name, alice, bob, stored
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    assert owner_client.post(edit_url(company), {**tab_a, name: alice}).status_code == 302
    response = staff_client.post(edit_url(company), {**tab_b, "email": "bob@korst.nl"})
    assert response.status_code == 302
    company.refresh_from_db()
    assert getattr(company, name) == stored(alice)
    assert company.email == "bob@korst.nl"


@pytest.mark.parametrize(("name", "alice", "bob", "stored"), FIELD_TYPES, ids=lambda v: str(v))
def test_the_same_field_changed_by_both_is_the_only_conflict_whatever_its_type(
    staff_client, owner_client, company, name, alice, bob, stored
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(edit_url(company), {**tab_a, name: alice, "website": "https://a.nl"})
    response = staff_client.post(edit_url(company), {**tab_b, name: bob, "email": "b@korst.nl"})
    company.refresh_from_db()
    if alice == bob:
        assert response.status_code == 302
        assert company.email == "b@korst.nl"
        return
    assert response.status_code == 200
    form = response.context["form"]
    assert [str(label) for label, _v in form.conflicting] == [str(form[name].label)]
    shown = browser_form(response)
    assert (shown[name], shown["email"], shown["website"]) == (bob, "b@korst.nl", "https://a.nl")
    assert getattr(company, name) == stored(alice)
    assert staff_client.post(edit_url(company), shown).status_code == 302
    company.refresh_from_db()
    assert getattr(company, name) == stored(bob)
    assert (company.email, company.website) == ("b@korst.nl", "https://a.nl")


def test_a_private_persons_form_merges_the_same_way(staff_client, owner_client, practice):
    person = RelationFactory(
        practice=practice,
        private=True,
        first_name="Jan",
        last_name="Vries",
        salutation="mr",
        bsn="111222333",
        date_of_birth=date(1970, 1, 1),
    )
    tab_a = open_edit(owner_client, person)
    tab_b = open_edit(staff_client, person)
    assert "111222333" not in tab_a["loaded"]  # the BSN is never written into the snapshot
    owner_client.post(
        edit_url(person), {**tab_a, "salutation": "mrs", "date_of_birth": "1971-02-03"}
    )
    response = staff_client.post(edit_url(person), {**tab_b, "first_name": "Johan"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.salutation, person.date_of_birth, person.first_name) == (
        "mrs",
        date(1971, 2, 3),
        "Johan",
    )
    assert person.display_name.startswith("Johan")
    assert person.bsn == "111222333"

    # The BSN changed by both, differently: a conflict on the BSN alone.
    tab_a = open_edit(owner_client, person)
    tab_b = open_edit(staff_client, person)
    owner_client.post(edit_url(person), {**tab_a, "bsn": "123456782"})
    response = staff_client.post(
        edit_url(person), {**tab_b, "bsn": "1112.22.333", "initials": "J."}
    )
    assert response.status_code == 302, "Bob's BSN is the loaded one written differently"
    person.refresh_from_db()
    assert (person.bsn, person.initials) == ("123456782", "J.")


def test_a_name_part_changed_by_the_other_person_stays_in_the_display_name(
    staff_client, owner_client, company
):
    tab_a = open_edit(owner_client, company)
    tab_b = open_edit(staff_client, company)
    owner_client.post(edit_url(company), {**tab_a, "legal_name": "Korst Holding B.V."})
    staff_client.post(edit_url(company), {**tab_b, "phone": "020 555 5555"})
    company.refresh_from_db()
    assert company.display_name == "Korst Holding B.V."
    assert company.phone == "020 555 5555"


# --- the address form: a checkbox, a postcode -----------------------------------------------------


def _address_form(client, url) -> dict[str, str]:
    # The address form's own page (without JavaScript); it posts to its own URL.
    response = client.get(url)
    assert response.status_code == 200
    return _address_form_from(response)


class _AnyPostFormParser(_FormParser):
    """The page's plain POST form whatever its action: one without an action posts to the page."""

    def handle_starttag(self, tag, attrs):
        if tag == "form" and dict(attrs).get("method") == "post" and "hx-post" not in dict(attrs):
            attrs = [(k, v) for k, v in attrs if k != "action"]
        super().handle_starttag(tag, attrs)


@pytest.fixture
def two_addresses(company):
    from tests.factories import AddressFactory

    postal = AddressFactory(relation=company, type="postal", street="Postbus", is_default=True)
    other = AddressFactory(relation=company, type="postal", street="Damrak", is_default=False)
    return postal, other


def test_an_address_checkbox_and_a_text_field_changed_by_two_people_both_survive(
    staff_client, owner_client, company, two_addresses
):
    _postal, other = two_addresses
    url = reverse("relations-address-edit", args=[company.public_id, other.pk])
    tab_a, tab_b = _address_form(owner_client, url), _address_form(staff_client, url)
    assert "loaded" in tab_a
    assert owner_client.post(url, {**tab_a, "is_default": "on"}).status_code == 302
    response = staff_client.post(url, {**tab_b, "city": "Haarlem", "postcode": "1015cj"})
    assert response.status_code == 302, "a postcode written differently is not a change"
    other.refresh_from_db()
    assert (other.is_default, other.city, other.postcode) == (True, "Haarlem", "1015 CJ")
    event = company.timeline.filter(kind="address_changed").order_by("pk").last()
    assert event.fields == ["city"]


def test_a_checkbox_ticked_by_both_is_not_a_conflict(
    staff_client, owner_client, company, two_addresses
):
    """A checkbox has two values: if both changed it, both chose the same one."""
    _postal, other = two_addresses
    url = reverse("relations-address-edit", args=[company.public_id, other.pk])
    tab_a, tab_b = _address_form(owner_client, url), _address_form(staff_client, url)
    owner_client.post(url, {**tab_a, "is_default": "on", "street": "Rokin"})
    response = staff_client.post(url, {**tab_b, "is_default": "on", "city": "Haarlem"})
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.is_default, other.street, other.city) == (True, "Rokin", "Haarlem")


def test_an_address_field_both_changed_is_the_only_conflict(
    staff_client, owner_client, company, two_addresses
):
    _postal, other = two_addresses
    url = reverse("relations-address-edit", args=[company.public_id, other.pk])
    tab_a, tab_b = _address_form(owner_client, url), _address_form(staff_client, url)
    owner_client.post(url, {**tab_a, "postcode": "1012 AB", "street": "Rokin", "is_default": "on"})
    response = staff_client.post(url, {**tab_b, "postcode": "2011ab", "city": "Haarlem"})
    assert response.status_code == 200
    assert "changed this address meanwhile" in response.content.decode()
    form = response.context["form"]
    assert [str(label) for label, _v in form.conflicting] == [str(form["postcode"].label)]
    shown = _address_form_from(response)
    assert (shown["postcode"], shown["city"]) == ("2011ab", "Haarlem")  # Bob's
    assert (shown["street"], shown.get("is_default")) == ("Rokin", "on")  # Alice's
    assert staff_client.post(url, shown).status_code == 302
    other.refresh_from_db()
    assert (other.postcode, other.city, other.street, other.is_default) == (
        "2011 AB",
        "Haarlem",
        "Rokin",
        True,
    )


def _address_form_from(response) -> dict[str, str]:
    parser = _AnyPostFormParser()
    parser.feed(response.content.decode())
    return parser.data
