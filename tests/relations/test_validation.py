"""Issue 11, defect 7 and a rough edge: what the forms accept, how they normalise it, how long text shows.

Country from ISO 3166-1 (names in the user's language), postcodes by country, phone and mobile through
phonenumbers, no founding date in the future, a length limit on notes, long words that wrap, and a new
bank account that takes the default only when asked to.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from relations.models import Address, BankAccount, Relation, ServiceAgreement, TimelineEvent
from tests.factories import AddressFactory, BankAccountFactory, RelationFactory
from tests.forms import company_edit_post

pytestmark = pytest.mark.django_db

ADDRESS = {
    "type": "visiting",
    "street": "Herengracht",
    "house_number": "12",
    "postcode": "1015 CJ",
    "city": "Amsterdam",
    "country": "NL",
    "is_default": "on",
}
NL = {"HTTP_ACCEPT_LANGUAGE": "nl"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice, legal_name="Bakkerij B.V.", client_code="1000")


def address_url(relation):
    return reverse("relations-address-new", args=[relation.public_id])


def edit_url(relation):
    return reverse("relations-edit", args=[relation.public_id])


def options(page: str, name: str) -> dict[str, str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S)
    assert select, f"no <select> for {name}"
    return {
        value: label
        for value, label in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select[0])
    }


# --- country and postcode ----------------------------------------------------------------------


def test_country_is_chosen_from_iso_3166_in_the_users_language(staff_client, relation):
    dutch = staff_client.get(address_url(relation), **NL).content.decode()
    english = staff_client.get(address_url(relation), **EN).content.decode()

    in_dutch, in_english = options(dutch, "country"), options(english, "country")
    assert len(in_dutch) == len(in_english) == 249  # every ISO 3166-1 country, no blank
    assert (in_dutch["NL"], in_dutch["BE"], in_dutch["DE"]) == ("Nederland", "België", "Duitsland")
    assert (in_english["NL"], in_english["BE"], in_english["DE"]) == (
        "Netherlands",
        "Belgium",
        "Germany",
    )
    assert re.search(r'<option value="NL" selected>', dutch)  # the default for a new address
    names = list(in_dutch.values())
    assert names.index("Afghanistan") < names.index("België") < names.index("Zwitserland")


def test_the_addresses_tab_names_the_country_in_the_users_language(staff_client, relation):
    AddressFactory(relation=relation, country="BE", postcode="1000", city="Brussel")
    url = reverse("relations-tab", args=[relation.public_id, "addresses"])

    assert "<td>België</td>" in staff_client.get(url, **NL).content.decode()
    assert "<td>Belgium</td>" in staff_client.get(url, **EN).content.decode()


@pytest.mark.parametrize("country", ["XX", "ZZ", "Nederland", "NLD", "<b>", ""])
def test_unknown_country_is_refused(staff_client, relation, country):
    response = staff_client.post(
        address_url(relation), {**ADDRESS, "country": country, "postcode": "anything"}, **NL
    )

    assert response.status_code == 200
    assert "country" in response.context["form"].errors
    assert not Address.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_country_code_is_accepted_in_any_case(staff_client, relation):
    response = staff_client.post(
        address_url(relation), {**ADDRESS, "country": " be ", "postcode": "1000"}
    )

    assert response.status_code == 302
    assert relation.addresses.get().country == "BE"


def test_a_stored_country_outside_the_list_is_shown_and_must_be_corrected(staff_client, relation):
    """An address imported before the list existed keeps its code on the page and in the form."""
    address = AddressFactory(relation=relation, country="XX")
    tab = reverse("relations-tab", args=[relation.public_id, "addresses"])
    url = reverse("relations-address-edit", args=[relation.public_id, address.pk])

    assert "<td>XX</td>" in staff_client.get(tab, **NL).content.decode()
    response = staff_client.post(url, {**ADDRESS, "country": "XX"}, **NL)
    assert "country" in response.context["form"].errors
    address.refresh_from_db()
    assert address.street != "Herengracht"


@pytest.mark.parametrize("code", ["<script>", "1000; DROP", "10_00", "#1000"])
def test_a_foreign_postcode_holds_letters_digits_spaces_and_dashes_only(
    staff_client, relation, code
):
    response = staff_client.post(
        address_url(relation), {**ADDRESS, "country": "BE", "postcode": code}
    )

    assert "postcode" in response.context["form"].errors
    assert not Address.objects.exists()


# --- phone and mobile ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "typed", "stored"),
    [
        ("phone", "020 123 4567", "020 123 4567"),
        ("phone", "0201234567", "020 123 4567"),
        ("phone", "+31 20 123 4567", "020 123 4567"),
        ("phone", "0031 (0)20-1234567", "020 123 4567"),
        ("phone", "+31 (0)20 12 34 567", "020 123 4567"),
        ("phone", "+49 30 1234567", "+49 30 1234567"),  # a foreign number keeps its country
        ("phone", "+1 650 253 0000", "+1 650-253-0000"),
        ("mobile", "06 12345678", "06 12345678"),
        ("mobile", "+31612345678", "06 12345678"),
        ("mobile", "06-1234 5678", "06 12345678"),
    ],
)
def test_phone_and_mobile_are_validated_and_normalised(
    staff_client, relation, field, typed, stored
):
    response = staff_client.post(edit_url(relation), company_edit_post(relation, **{field: typed}))

    assert response.status_code == 302, response.context["form"].errors
    relation.refresh_from_db()
    assert getattr(relation, field) == stored


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("phone", "abc", "Dit is geen geldig telefoonnummer"),
        ("phone", "12", "Dit is geen geldig telefoonnummer"),
        ("phone", "020 3", "Dit is geen geldig telefoonnummer"),
        ("phone", "+99 123", "Dit is geen geldig telefoonnummer"),
        ("mobile", "12", "Dit is geen geldig telefoonnummer"),
        ("mobile", "abc", "Dit is geen geldig telefoonnummer"),
        ("mobile", "020 123 4567", "Dit is een vast nummer"),
    ],
)
def test_an_invalid_phone_or_mobile_is_refused_in_dutch_next_to_the_field(
    staff_client, relation, field, typed, message
):
    response = staff_client.post(
        edit_url(relation), company_edit_post(relation, **{field: typed}), **NL
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Relation.objects.get(pk=relation.pk).version == 1


def test_a_phone_written_differently_but_equal_is_unchanged(staff_client, relation):
    Relation.objects.filter(pk=relation.pk).update(phone="020-1234567", mobile="06 12345678")
    relation.refresh_from_db()

    response = staff_client.post(
        edit_url(relation),
        company_edit_post(relation, phone="+31201234567", mobile="0031 6 1234 5678"),
    )

    assert response.status_code == 302
    relation.refresh_from_db()
    assert (relation.phone, relation.mobile) == ("020-1234567", "06 12345678")
    assert not relation.timeline.filter(kind="changed").exists()  # nothing was changed


def test_a_stored_phone_that_does_not_pass_is_kept_until_someone_changes_it(staff_client, relation):
    """Numbers saved before the check (or imported) do not block editing another field."""
    Relation.objects.filter(pk=relation.pk).update(phone="019-1234567", mobile="12")
    relation.refresh_from_db()

    kept = staff_client.post(
        edit_url(relation),
        company_edit_post(
            relation, phone="019-1234567", mobile="12", website="https://bakkerij.nl"
        ),
    )
    assert kept.status_code == 302
    relation.refresh_from_db()
    assert (relation.phone, relation.mobile) == ("019-1234567", "12")
    assert relation.timeline.get(kind="changed").fields == ["website"]

    changed = staff_client.post(
        edit_url(relation), company_edit_post(relation, phone="019-7654321", mobile="12"), **NL
    )
    assert list(changed.context["form"].errors) == ["phone"]


def test_phone_fields_are_telephone_inputs(staff_client, relation):
    page = staff_client.get(edit_url(relation)).content.decode()

    for name in ("phone", "mobile"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)[0]
        assert 'type="tel"' in tag


# --- founding date -------------------------------------------------------------------------------


def test_founding_date_cannot_be_in_the_future(staff_client, relation):
    tomorrow = timezone.localdate() + timedelta(days=1)

    response = staff_client.post(
        edit_url(relation), company_edit_post(relation, founded_on=tomorrow.isoformat()), **NL
    )

    assert response.status_code == 200
    assert response.context["form"].errors["founded_on"] == [
        "De oprichtingsdatum kan niet in de toekomst liggen."
    ]
    assert Relation.objects.get(pk=relation.pk).founded_on is None


def test_a_founding_date_of_today_is_accepted(staff_client, relation):
    today = timezone.localdate()

    response = staff_client.post(
        edit_url(relation), company_edit_post(relation, founded_on=today.isoformat())
    )

    assert response.status_code == 302
    assert Relation.objects.get(pk=relation.pk).founded_on == today


# --- notes ---------------------------------------------------------------------------------------


def test_notes_have_a_length_limit(staff_client, relation):
    limit = Relation._meta.get_field("notes").max_length
    assert limit == 10_000

    too_long = staff_client.post(
        edit_url(relation), company_edit_post(relation, notes="x" * (limit + 1)), **NL
    )
    assert too_long.status_code == 200
    assert "notes" in too_long.context["form"].errors
    assert "10000" in too_long.context["form"].errors["notes"][0].replace(".", "")
    assert Relation.objects.get(pk=relation.pk).notes == ""

    at_limit = staff_client.post(edit_url(relation), company_edit_post(relation, notes="x" * limit))
    assert at_limit.status_code == 302
    assert len(Relation.objects.get(pk=relation.pk).notes) == limit

    page = staff_client.get(edit_url(relation)).content.decode()
    assert re.search(r'<textarea[^>]*name="notes"[^>]*maxlength="10000"', page)


def test_agreement_notes_have_the_same_length_limit(staff_client, relation):
    assert ServiceAgreement._meta.get_field("notes").max_length == 10_000
    url = reverse("relations-agreement-new", args=[relation.public_id])

    response = staff_client.post(
        url, {"service": "vat", "start_date": "2026-01-01", "notes": "x" * 10_001}
    )

    assert response.status_code == 200
    assert "notes" in response.context["form"].errors
    assert not ServiceAgreement.objects.exists()


# --- long words ----------------------------------------------------------------------------------


def test_long_words_wrap():
    """Every place user text is shown breaks a word too long for its box (the browser check of the
    page width is in tests/e2e/test_long_words.py)."""
    css = re.sub(
        r"/\*.*?\*/", "", (Path(settings.BASE_DIR) / "static/css/kring.css").read_text(), flags=re.S
    )
    rule = re.search(r"([^{}]*)\{[^}]*overflow-wrap:\s*anywhere[^}]*\}", css)
    assert rule, "no overflow-wrap: anywhere rule"
    selectors = {s.strip() for s in rule[1].split(",")}
    assert {"td", "tbody th", "dd", "h1", ".notes", ".timeline li", ".messages"} <= selectors


# --- the default bank account ----------------------------------------------------------------------


def bank_url(relation):
    return reverse("relations-bank-new", args=[relation.public_id])


def default_box(page: str) -> str:
    match = re.search(r'<input[^>]*name="is_default"[^>]*>', page)
    assert match is not None, "no is_default box on the page"
    return match[0]


def test_a_new_bank_account_does_not_silently_take_the_default(staff_client, relation):
    first = staff_client.get(bank_url(relation), **NL).content.decode()
    assert "checked" in default_box(first)  # the first account is the default anyway

    old = BankAccountFactory(relation=relation, iban="NL02RABO0123456789", is_default=True)
    second = staff_client.get(bank_url(relation), **NL).content.decode()
    assert "checked" not in default_box(second)
    assert "NL02 RABO 0123 4567 89" in second  # says whose default it would take over

    # Saved as the form was offered: the existing default stays.
    staff_client.post(bank_url(relation), {"iban": "NL91ABNA0417164300", "bic": "", "holder": ""})
    old.refresh_from_db()
    assert old.is_default
    assert not BankAccount.objects.get(iban="NL91ABNA0417164300").is_default
