"""Dutch, English and the small words: what an office sees on every page, in its own language."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from relations.models import TimelineEvent
from tests.factories import AddressFactory, RelationFactory


def _client(user, language: str) -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.fixture
def dutch(staff) -> Client:
    return _client(staff, "nl")


@pytest.fixture
def english(staff) -> Client:
    return _client(staff, "en")


def test_empty_select_label_is_dutch(dutch):
    page = dutch.get(reverse("relations-new") + "?kind=client&entity=company").content.decode()
    assert "Select an option" not in page
    assert "- Maak een keuze -" in page


def test_403_page_has_the_app_layout(practice, readonly):
    relation = RelationFactory(practice=practice)
    response = _client(readonly, "nl").post(reverse("relations-archive", args=[relation.public_id]))
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="topbar"' in page
    assert "css/kring.css" in page
    assert "Geen toegang" in page
    assert "Forbidden" not in page


def test_a_csrf_failure_has_the_app_layout_and_says_what_to_do(practice, staff):
    relation = RelationFactory(practice=practice)
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "nl"})
    client.force_login(staff)
    response = client.post(reverse("relations-archive", args=[relation.public_id]))
    assert response.status_code == 403
    page = response.content.decode()
    assert 'class="topbar"' in page
    assert "Laad de pagina opnieuw" in page
    assert "Forbidden" not in page
    assert "CSRF verification failed" not in page


def test_an_unknown_page_has_the_app_layout(dutch):
    response = dutch.get("/bestaat-niet/")
    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="topbar"' in page
    assert "Pagina niet gevonden" in page


def test_timeline_names_fields_in_the_users_language(practice, staff, dutch, english):
    relation = RelationFactory(practice=practice)
    TimelineEvent.record(
        relation, "address_changed", actor=staff, fields=["country", "house_number"]
    )
    TimelineEvent.record(relation, "bank_changed", actor=staff, fields=["holder", "iban"])
    url = reverse("relations-tab", args=[relation.public_id, "timeline"])
    dutch_page = dutch.get(url).content.decode()
    assert "land, huisnummer" in dutch_page
    assert "rekeninghouder, IBAN" in dutch_page
    assert "house_number" not in dutch_page
    assert "country, house number" in english.get(url).content.decode()


def test_english_dates_are_day_month_year(practice, dutch, english):
    relation = RelationFactory(practice=practice, founded_on=datetime(2026, 3, 1).date())
    relation.created_at = datetime(2026, 3, 12, 13, 17, tzinfo=ZoneInfo("Europe/Amsterdam"))
    relation.save(update_fields=["created_at"])
    overview = english.get(relation.get_absolute_url()).content.decode()
    assert "12/03/2026 13:17" in overview
    assert "03/12/2026" not in overview
    assert "p.m." not in overview
    company = english.get(reverse("relations-tab", args=[relation.public_id, "company"]))
    assert "01/03/2026" in company.content.decode()
    assert "12-3-2026 13:17" in dutch.get(relation.get_absolute_url()).content.decode()


def test_the_language_switcher_still_offers_english_and_dutch(dutch):
    page = dutch.get(reverse("relations-list")).content.decode()
    assert 'value="en"' in page
    assert 'value="nl"' in page
    response = dutch.post(reverse("set_language"), {"language": "en", "next": "/relations/"})
    assert response.status_code == 302
    assert "Relations" in dutch.get(reverse("relations-list")).content.decode()


def test_salutation_is_not_a_title_and_initials_do_not_precede_the_first_name(practice, dutch):
    jan = RelationFactory(
        practice=practice,
        private=True,
        salutation="mr",
        initials="J.P.",
        first_name="Jan",
        name_prefix="de",
        last_name="Vries",
    )
    ruben = RelationFactory(
        practice=practice,
        private=True,
        salutation="neutral",
        initials="R.",
        first_name="Ruben",
        name_prefix="de",
        last_name="Groot",
    )
    only_initials = RelationFactory(
        practice=practice, private=True, initials="A.B.", first_name="", last_name="Smit"
    )
    assert (jan.display_name, ruben.display_name) == ("Jan de Vries", "Ruben de Groot")
    assert only_initials.display_name == "A.B. Smit"
    page = dutch.get(jan.get_absolute_url()).content.decode()
    assert "Dhr. J.P. Jan" not in page
    assert "J.P. Jan" not in page
    assert "<dd>Jan de Vries</dd>" in page
    assert "<dd>J.P.</dd>" in page  # initials shown as themselves
    assert "Geachte heer De Vries" in page  # the salutation belongs in a letter
    assert "Neutraal R. Ruben" not in dutch.get(ruben.get_absolute_url()).content.decode()

    from django.utils import translation

    with translation.override("nl"):
        assert jan.letter_salutation == "Geachte heer De Vries"
        assert ruben.letter_salutation == "Geachte Ruben de Groot"
        company = RelationFactory.build(entity="company", legal_name="Bakkerij B.V.")
        assert company.letter_salutation == "Geachte heer, mevrouw"
    with translation.override("en"):
        assert jan.letter_salutation == "Dear Mr De Vries"


def test_fiscal_year_end_shows_the_month_name(practice, dutch, english):
    relation = RelationFactory(practice=practice, fiscal_year_end_month=12)
    url = reverse("relations-tab", args=[relation.public_id, "company"])
    page = dutch.get(url).content.decode()
    assert "<dd>december</dd>" in page
    assert "December" in english.get(url).content.decode()
    form = dutch.get(reverse("relations-edit", args=[relation.public_id])).content.decode()
    assert '<option value="12" selected>december</option>' in form


def test_each_error_is_shown_once_with_a_summary(dutch):
    url = reverse("relations-new")
    company = dutch.post(url, {"kind": "client", "entity": "company", "language": "nl"})
    assert company.context["form"].errors["legal_name"] == [
        "Een bedrijf heeft een statutaire naam of een handelsnaam nodig."
    ]
    page = company.content.decode()
    assert page.count("Een bedrijf heeft een statutaire naam of een handelsnaam nodig.") == 2
    assert 'class="error-summary"' in page
    assert '<a href="#id_legal_name">' in page

    contact = dutch.post(url, {"kind": "contact", "entity": "private", "language": "nl"})
    errors = contact.context["form"].errors
    assert len(errors["email"]) == 1
    assert len(errors["last_name"]) == 1
    page = _without_templates(contact.content.decode())
    # The first invalid field in the form's order gets the focus, without any script.
    assert page.count("autofocus") == 1
    focused = re.search(r"<(?:input|select|textarea)[^>]*autofocus[^>]*>", page)
    assert focused
    assert 'name="last_name"' in focused.group(0)


def _without_templates(page: str) -> str:
    """The page as shown: the confirm dialog's <template> (focused only when it opens) left out."""
    return re.sub(r"<template\b.*?</template>", "", page, flags=re.S)


def test_a_part_form_error_is_shown_once_with_a_summary(practice, dutch):
    relation = RelationFactory(practice=practice)
    AddressFactory(relation=relation)
    response = dutch.post(reverse("relations-address-new", args=[relation.public_id]), {})
    page = _without_templates(response.content.decode())
    assert 'class="error-summary"' in page
    assert page.count("autofocus") == 1


def test_ledger_settings_carry_no_developer_hint(owner, practice):
    page = _client(owner, "nl").get(reverse("sync-settings")).content.decode()
    assert "Aan te passen voor tests" not in page
    assert "Overridable for tests" not in page
