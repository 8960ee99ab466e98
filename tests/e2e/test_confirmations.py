"""Asking before a destructive action, in the browser and in Dutch (issue 11): with JavaScript a
dialog on the page (cancel does nothing, confirm does it, inline); without JavaScript the confirm
page; and the conversion's confirmation step with the person's names."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from relations.models import Address, Relation
from tests.factories import PASSWORD, AddressFactory, created_relation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(practice, staff):
    company = created_relation(
        practice, staff, legal_name="Bakkerij De Gouden Korst B.V.", kvk_number="12345678"
    )
    AddressFactory(relation=company, street="Keizersgracht", house_number="1", city="Amsterdam")
    AddressFactory(
        relation=company, type="postal", street="Prinsengracht", house_number="2", city="Amsterdam"
    )
    return company


def dutch_login(page: Page, base: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Gebruikersnaam").fill("bob")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welkom")


def row(page: Page, street: str):
    return page.get_by_role("row").filter(has_text=street)


def test_with_javascript_the_dialog_asks_and_cancel_does_nothing(live_server, dutch_page, bakery):
    errors: list[str] = []
    dutch_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    dutch_login(dutch_page, live_server.url)
    dutch_page.goto(f"{live_server.url}/relations/{bakery.public_id}/tab/addresses/")

    row(dutch_page, "Keizersgracht").get_by_role("button", name="Verwijderen").click()
    dialog = dutch_page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Het adres Keizersgracht 1")
    dialog.get_by_role("button", name="Annuleren").click()
    expect(dialog).to_have_count(0)
    expect(row(dutch_page, "Keizersgracht")).to_be_visible()
    assert Address.objects.filter(street="Keizersgracht").exists()

    # Escape cancels too.
    row(dutch_page, "Keizersgracht").get_by_role("button", name="Verwijderen").click()
    expect(dutch_page.get_by_role("dialog")).to_be_visible()
    dutch_page.keyboard.press("Escape")
    expect(dutch_page.get_by_role("dialog")).to_have_count(0)
    assert Address.objects.filter(street="Keizersgracht").exists()

    # Confirm removes it, inline: the same page, the list swapped by htmx.
    url = dutch_page.url
    row(dutch_page, "Keizersgracht").get_by_role("button", name="Verwijderen").click()
    dutch_page.get_by_role("dialog").get_by_role("button", name="Verwijderen").click()
    expect(dutch_page.get_by_text("Adres verwijderd.")).to_be_visible()
    expect(row(dutch_page, "Keizersgracht")).to_have_count(0)
    expect(row(dutch_page, "Prinsengracht")).to_be_visible()
    assert dutch_page.url == url
    assert not Address.objects.filter(street="Keizersgracht").exists()
    assert errors == []


def test_without_javascript_the_confirm_page_asks(live_server, browser: Browser, bakery):
    context = browser.new_context(locale="nl-NL", java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    dutch_login(page, live_server.url)
    page.goto(f"{live_server.url}/relations/{bakery.public_id}/tab/addresses/")

    # Remove → the confirm page; Annuleren goes back and changes nothing.
    row(page, "Keizersgracht").get_by_role("button", name="Verwijderen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adres verwijderen")
    expect(page.get_by_text("Het adres Keizersgracht 1")).to_be_visible()
    page.get_by_role("link", name="Annuleren").click()
    expect(row(page, "Keizersgracht")).to_be_visible()
    assert Address.objects.filter(street="Keizersgracht").exists()

    # Remove → confirm page → Verwijderen removes it.
    row(page, "Keizersgracht").get_by_role("button", name="Verwijderen").click()
    page.get_by_role("button", name="Verwijderen").click()
    expect(page.get_by_text("Adres verwijderd.")).to_be_visible()
    expect(row(page, "Keizersgracht")).to_have_count(0)
    assert not Address.objects.filter(street="Keizersgracht").exists()
    context.close()


def test_the_conversion_asks_for_the_names_and_the_ledger_gets_them(
    live_server, dutch_page, bakery
):
    dutch_login(dutch_page, live_server.url)
    dutch_page.goto(live_server.url + bakery.get_absolute_url())
    dutch_page.get_by_role("link", name="Omzetten naar particulier").click()
    expect(dutch_page.get_by_role("heading", level=1)).to_have_text("Omzetten naar particulier")
    expect(dutch_page.get_by_text("12345678")).to_be_visible()  # kept, hidden while private
    expect(dutch_page.get_by_label("Achternaam")).to_have_value("")  # not the legal name

    # Without a last name: an error beside the field, nothing converted.
    dutch_page.get_by_role("button", name="Omzetten naar particulier").click()
    expect(dutch_page.locator(".has-error").get_by_label("Achternaam")).to_be_visible()
    assert Relation.objects.get(pk=bakery.pk).entity == "company"

    dutch_page.get_by_label("Voornaam").fill("Jan")
    dutch_page.get_by_label("Tussenvoegsel").fill("de")
    dutch_page.get_by_label("Achternaam").fill("Vries")
    dutch_page.get_by_role("button", name="Omzetten naar particulier").click()
    expect(dutch_page.get_by_role("heading", level=1)).to_have_text("Jan de Vries")
    converted = Relation.objects.get(pk=bakery.pk)
    assert (converted.entity, converted.display_name) == ("private", "Jan de Vries")
    assert converted.legal_name == "Bakkerij De Gouden Korst B.V."


def test_the_bulk_convert_asks_in_a_dialog(live_server, dutch_page, practice, staff):
    created_relation(
        practice,
        staff,
        kind="contact",
        entity="private",
        legal_name="",
        first_name="Sanne",
        last_name="Jansen",
        email="sanne@example.nl",
    )
    dutch_login(dutch_page, live_server.url)
    dutch_page.goto(f"{live_server.url}/relations/")
    dutch_page.get_by_label(re.compile("Sanne Jansen")).check()
    dutch_page.get_by_role("button", name="Omzetten naar klant").click()
    dialog = dutch_page.get_by_role("dialog")
    expect(dialog).to_contain_text("De geselecteerde relaties omzetten naar klant?")
    dialog.get_by_role("button", name="Annuleren").click()
    assert Relation.objects.get(last_name="Jansen").kind == "contact"

    dutch_page.get_by_role("button", name="Omzetten naar klant").click()
    dutch_page.get_by_role("dialog").get_by_role("button", name="Omzetten naar klant").click()
    expect(dutch_page.get_by_role("cell", name="Omgezet naar klant")).to_be_visible()
    assert Relation.objects.get(last_name="Jansen").kind == "client"
