"""The list's bulk bar in a browser, and every relation page on a 390 px wide phone."""

import os
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Browser, FloatRect, Locator, Page, ViewportSize, expect

from relations.models import Relation
from relations.views.pages import tabs_for
from tests.factories import (
    PASSWORD,
    AddressFactory,
    BankAccountFactory,
    RelationFactory,
    ServiceAgreementFactory,
    created_relation,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def bulk_buttons(page: Page):
    bar = page.get_by_role("group", name="With the selected relations")
    return [bar.get_by_role("button", name=name) for name in ("Convert to client", "Archive")]


def test_bulk_buttons_are_disabled_until_something_is_selected(live_server, page, staff, practice):
    contacts = [
        RelationFactory(practice=practice, contact=True, legal_name=f"Bakkerij {n}")
        for n in range(3)
    ]
    RelationFactory(practice=practice, contact=True, legal_name="Slagerij")
    log_in(page, live_server.url, "bob")
    page.goto(f"{live_server.url}{reverse('relations-list')}?q=bakkerij")

    for button in bulk_buttons(page):
        expect(button).to_be_disabled()
    page.get_by_label("Select Bakkerij 1").check()
    for button in bulk_buttons(page):
        expect(button).to_be_enabled()
    expect(page.get_by_text("1 relation selected")).to_be_visible()
    page.get_by_label("Select Bakkerij 1").uncheck()
    for button in bulk_buttons(page):
        expect(button).to_be_disabled()

    # Select all on this page, and none again.
    select_page = page.get_by_label("Select all on this page")
    select_page.check()
    for contact in contacts:
        expect(page.get_by_label(f"Select {contact.display_name}")).to_be_checked()
    expect(page.get_by_text("3 relations selected")).to_be_visible()
    select_page.uncheck()
    expect(page.get_by_label("Select Bakkerij 0")).not_to_be_checked()
    for button in bulk_buttons(page):
        expect(button).to_be_disabled()

    # A search through htmx swaps the rows in: the new bar starts disabled too.
    page.get_by_label("Search").fill("bakkerij 2")
    expect(page.get_by_text("1 relation", exact=True)).to_be_visible()
    for button in bulk_buttons(page):
        expect(button).to_be_disabled()
    page.get_by_label("Search").fill("bakkerij")
    expect(page.get_by_text("3 relations", exact=True)).to_be_visible()

    # All matching: every row of the filters, not only those ticked.
    page.get_by_label("Select all 3 matching relations").check()
    for button in bulk_buttons(page):
        expect(button).to_be_enabled()
    bulk_buttons(page)[1].click()
    page.get_by_role("dialog").get_by_role("button", name="Archive").click()
    expect(page.get_by_text("3 archived, 0 skipped.")).to_be_visible()
    assert Relation.objects.filter(archived_at__isnull=False).count() == 3
    assert Relation.objects.get(legal_name="Slagerij").archived_at is None


@pytest.fixture
def one_of_each(practice, owner):
    """A relation of every kind, with long words and every tab filled."""
    long_email = "administratie.en.boekhouding.afdeling@bakkerij-de-gouden-korst-amsterdam.nl"
    company = created_relation(
        practice,
        owner,
        legal_name="Bakkerij De Gouden Korst Amsterdam-Noord B.V.",
        email=long_email,
        kvk_number="12345678",
        website="https://www.bakkerij-de-gouden-korst-amsterdam-noord.example.nl/contact",
        notes="Belt liever dan dat hij mailt. " + "x" * 120,
    )
    person = created_relation(
        practice,
        owner,
        entity="private",
        legal_name="",
        first_name="Maximiliaan",
        last_name="van Oldenbarnevelt-Zuidhorn",
        email="maximiliaan.vanoldenbarnevelt@example.nl",
    )
    contact = created_relation(
        practice,
        owner,
        kind="contact",
        entity="private",
        legal_name="",
        first_name="Jan",
        last_name="de Vries",
    )
    zzp = created_relation(practice, owner, kind="contact", legal_name="Klussenbedrijf Jansen")
    for relation in (company, person, contact, zzp):
        AddressFactory(relation=relation, street="Burgemeester van Haarenlaan", is_default=True)
        BankAccountFactory(relation=relation)
    ServiceAgreementFactory(relation=company, notes="Maandelijkse aangifte en jaarrekening")
    return [company, person, contact, zzp]


def screenshot_dir(tmp_path: Path) -> Path:
    path = Path(os.environ.get("KRING_SCREENSHOTS", tmp_path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def box(locator: Locator) -> FloatRect:
    """The element's box on the page; it must be shown to have one."""
    rect = locator.bounding_box()
    assert rect is not None, f"{locator} is not visible"
    return rect


def assert_fits(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways: {sizes}"


def test_no_sideways_scroll_at_390px(live_server, browser: Browser, owner, one_of_each, tmp_path):
    shots = screenshot_dir(tmp_path)
    context = browser.new_context(locale="en-GB", viewport=PHONE)
    context.set_default_timeout(10_000)
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "alice")

    page.goto(f"{base}{reverse('relations-list')}")
    assert_fits(page, shots, "list")
    # The header is one line: the list's heading is on the first screen, well above the fold.
    assert box(page.get_by_role("heading", level=1))["y"] < 120
    page.locator(".topmenu summary").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert_fits(page, shots, "list-menu")
    page.locator(".topmenu summary").click()

    for relation in one_of_each:
        with translation.override("en"):
            tabs = [slug for slug, _label in tabs_for(relation)]
        for slug in tabs:
            page.goto(f"{base}{reverse('relations-tab', args=[relation.public_id, slug])}")
            expect(page.get_by_role("heading", level=1)).to_have_text(relation.display_name)
            assert_fits(page, shots, f"{relation.kind}-{relation.entity}-{slug}")
        # The tabs scroll on one line instead of filling the screen, the current one in view.
        tabs_box = box(page.get_by_role("navigation", name="Relation sections"))
        assert tabs_box["height"] < 60
        assert tabs_box["width"] <= PHONE["width"]
        current = box(page.locator('.tabs [aria-current="page"]'))
        assert current["x"] >= 0
        assert current["x"] + current["width"] <= PHONE["width"]
    # An inline form swapped into a tab fits too.
    company = one_of_each[0]
    page.goto(f"{base}{reverse('relations-tab', args=[company.public_id, 'addresses'])}")
    page.get_by_role("link", name=re.compile(r"^Edit Burgemeester")).click()
    expect(page.get_by_label("Street")).to_be_visible()
    assert_fits(page, shots, "address-edit")
    context.close()
