"""Two colleagues edit the same client at once, each in a browser of their own, in Dutch (issue 11).

For every type of field on the forms — text, phone, date, choice, checkbox — two things hold: a
change to a field only one of them made is never reverted by the other's save, and when both changed
the same field the later one is told about that field alone, with the other's saved values filled in
everywhere else, and saving again keeps both people's work.
"""

import os
import re
from datetime import date
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.factories import PASSWORD, AddressFactory, RelationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def screenshot_dir(tmp_path) -> Path:
    """Where the conflict screenshots go: SCREENSHOT_DIR to keep them, else the test's tmp dir."""
    path = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def bakery(practice):
    relation = RelationFactory(
        practice=practice,
        legal_name="Bakkerij De Gouden Korst B.V.",
        client_code="1000",
        phone="020 111 1111",
        website="https://goudenkorst.nl",
        legal_form="bv",
        founded_on=date(2001, 5, 1),
    )
    AddressFactory(relation=relation, type="postal", street="Postbus", is_default=True)
    return relation


@pytest.fixture
def two_browsers(browser: Browser, live_server, login, owner, staff):
    """Alice (owner) and Bob (staff) of the same office, each logged in in a Dutch browser."""
    contexts = [browser.new_context(locale="nl-NL") for _ in range(2)]
    pages = []
    for context, username in zip(contexts, ("alice", "bob"), strict=True):
        context.set_default_timeout(10_000)
        page = context.new_page()
        login(page, username, PASSWORD)
        expect(page).not_to_have_url(re.compile("/login/"))
        pages.append(page)
    yield pages
    for context in contexts:
        context.close()


def save(page: Page) -> None:
    page.get_by_role("button", name="Opslaan").click()


def expect_saved(page: Page) -> None:
    expect(
        page.get_by_text("is opgeslagen").or_(page.get_by_text("Adres opgeslagen"))
    ).to_be_visible()


def conflict_fields(page: Page) -> list[str]:
    """The fields the conflict names, as listed under the message."""
    return page.locator(".form-errors dl.details dt").all_inner_texts()


def _fill(label):
    return lambda page, value: page.get_by_label(label, exact=True).fill(value)


def _choose(label):
    return lambda page, value: page.get_by_label(label, exact=True).select_option(value)


# (field, label, how to set it, three distinct values, the stored form of a value)
COMPANY_FIELDS = [
    ("trade_name", "Handelsnaam", _fill("Handelsnaam"), ("Korst A", "Korst B", "Korst C"), str),
    (
        "phone",
        "Telefoon",
        _fill("Telefoon"),
        ("020 222 2222", "020 333 3333", "020 444 4444"),
        str,
    ),
    (
        "founded_on",
        "Opgericht op",
        _fill("Opgericht op"),
        ("1999-01-02", "1998-03-04", "1997-05-06"),
        date.fromisoformat,
    ),
    ("legal_form", "Rechtsvorm", _choose("Rechtsvorm"), ("nv", "vof", "cv"), str),
]


def test_two_editors_never_revert_each_other_for_every_field_type(
    live_server, two_browsers, bakery, screenshot_dir
):
    alice, bob = two_browsers
    edit = live_server.url + reverse("relations-edit", args=[bakery.public_id])

    # The journey, exactly: A changes Telefoon, B only Website; nothing is a conflict.
    alice.goto(edit)
    bob.goto(edit)
    alice.get_by_label("Telefoon", exact=True).fill("020 222 2222")
    save(alice)
    expect_saved(alice)
    bob.get_by_label("Website", exact=True).fill("https://korst.nl")
    save(bob)
    expect_saved(bob)
    bakery.refresh_from_db()
    assert (bakery.phone, bakery.website) == ("020 222 2222", "https://korst.nl")

    for name, label, set_value, (first, hers, his), stored in COMPANY_FIELDS:
        # Disjoint: Alice changes this field, Bob (on the page opened before her save) the notes.
        alice.goto(edit)
        bob.goto(edit)
        set_value(alice, first)
        save(alice)
        expect_saved(alice)
        bob.get_by_label("Notities", exact=True).fill(f"Bob over {name}")
        save(bob)
        expect_saved(bob)
        bakery.refresh_from_db()
        assert getattr(bakery, name) == stored(first), name
        assert bakery.notes == f"Bob over {name}"

        # The same field: Bob is told about this field alone and sees Alice's other change.
        alice.goto(edit)
        bob.goto(edit)
        set_value(alice, hers)
        alice.get_by_label("E-mail", exact=True).fill(f"alice.{name}@korst.nl")
        save(alice)
        expect_saved(alice)
        set_value(bob, his)
        save(bob)
        expect(bob.get_by_text("heeft deze relatie intussen gewijzigd")).to_be_visible()
        assert conflict_fields(bob) == [label], name
        expect(bob.get_by_label("E-mail", exact=True)).to_have_value(f"alice.{name}@korst.nl")
        if name == "phone":
            bob.screenshot(path=str(screenshot_dir / "two-editors-conflict.png"), full_page=True)
        bakery.refresh_from_db()
        assert getattr(bakery, name) == stored(hers), "nothing of Bob's is saved yet"
        save(bob)
        expect_saved(bob)
        bakery.refresh_from_db()
        assert getattr(bakery, name) == stored(his), name
        assert bakery.email == f"alice.{name}@korst.nl", "Alice's other change is kept"

    # The checkbox, on an address: Alice ticks "standaard", Bob changes the city.
    other = AddressFactory(relation=bakery, type="postal", street="Damrak", is_default=False)
    address = live_server.url + reverse("relations-address-edit", args=[bakery.public_id, other.pk])
    alice.goto(address)
    bob.goto(address)
    alice.get_by_label("Standaard voor dit type").check()
    save(alice)
    expect_saved(alice)
    bob.get_by_label("Plaats").fill("Haarlem")
    save(bob)
    expect_saved(bob)
    other.refresh_from_db()
    assert (other.is_default, other.city) == (True, "Haarlem")

    # Both change the checkbox: it has two values, so both chose the same one: no conflict.
    alice.goto(address)
    bob.goto(address)
    alice.get_by_label("Standaard voor dit type").uncheck()
    alice.get_by_label("Straat").fill("Rokin")
    save(alice)
    expect_saved(alice)
    bob.get_by_label("Standaard voor dit type").uncheck()
    bob.get_by_label("Plaats").fill("Leiden")
    save(bob)
    expect_saved(bob)
    other.refresh_from_db()
    assert (other.street, other.city) == ("Rokin", "Leiden")

    # A field of the address both changed: the conflict names that field alone.
    alice.goto(address)
    bob.goto(address)
    alice.get_by_label("Straat").fill("Spui")
    alice.get_by_label("Standaard voor dit type").check()
    save(alice)
    expect_saved(alice)
    bob.get_by_label("Straat").fill("Kalverstraat")
    save(bob)
    expect(bob.get_by_text("heeft dit adres intussen gewijzigd")).to_be_visible()
    assert conflict_fields(bob) == ["Straat"]
    expect(bob.get_by_label("Standaard voor dit type")).to_be_checked()  # Alice's tick
    bob.screenshot(path=str(screenshot_dir / "two-editors-address-conflict.png"), full_page=True)
    save(bob)
    expect_saved(bob)
    other.refresh_from_db()
    assert (other.street, other.is_default) == ("Kalverstraat", True)
