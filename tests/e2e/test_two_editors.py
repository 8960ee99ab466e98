"""Two colleagues edit one client at once, each in a browser of their own, in Dutch (issue 11, 1).

For every field type of the relation form (text, phone, date, choice): a change only one of them
made survives the other's save, and only a field both changed is a conflict, with the colleague's
saved value shown and every other field filled in with what was saved meanwhile.
"""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from relations.models import Relation
from tests.factories import PASSWORD, RelationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAVED = re.compile("is opgeslagen")
CONFLICT = re.compile("heeft deze relatie intussen gewijzigd")

# (label, Alice's first value, Alice's second value, Bob's value, how the field is filled in)
FIELDS = [
    ("Handelsnaam", "Gouden Korst", "Gouden Korst Twee", "Korst & Co", "fill"),
    ("Telefoon", "020 222 2222", "020 444 4444", "020 333 3333", "fill"),
    ("Opgericht op", "2001-02-03", "2002-03-04", "2004-05-06", "fill"),
    ("Rechtsvorm", "nv", "bv", "vof", "select"),
]
STORED = {"Handelsnaam": "trade_name", "Telefoon": "phone", "Opgericht op": "founded_on"}


@pytest.fixture
def two(browser: Browser, live_server, login, staff, owner):
    pages = []
    for username in ("alice", "bob"):
        context = browser.new_context(locale="nl-NL")
        context.set_default_timeout(10_000)
        page = context.new_page()
        login(page, username, PASSWORD)
        pages.append(page)
    yield pages
    for page in pages:
        page.context.close()


@pytest.fixture
def bakkerij(practice):
    return RelationFactory(
        practice=practice,
        legal_name="Bakkerij De Gouden Korst B.V.",
        client_code="1000",
        website="https://goudenkorst.nl",
    )


def _edit(page: Page, live_server, relation: Relation) -> None:
    page.goto(f"{live_server.url}/relations/{relation.public_id}/edit/")


def _set(page: Page, label: str, value: str, how: str) -> None:
    field = page.get_by_label(label, exact=True)
    if how == "select":
        field.select_option(value)
    else:
        field.fill(value)


def _save(page: Page) -> None:
    page.get_by_role("button", name="Opslaan").click()


@pytest.mark.parametrize(("label", "alice_value", "alice_again", "bob_value", "how"), FIELDS)
def test_two_editors_keep_each_others_changes_for_every_field_type(
    two, live_server, bakkerij, tmp_path, label, alice_value, alice_again, bob_value, how
):
    alice, bob = two
    _edit(alice, live_server, bakkerij)
    _edit(bob, live_server, bakkerij)

    # Different fields: both saved, neither asked anything.
    _set(alice, label, alice_value, how)
    _save(alice)
    expect(alice.get_by_text(SAVED)).to_be_visible()
    bob.get_by_label("Website", exact=True).fill("https://bob.goudenkorst.nl")
    _save(bob)
    expect(bob.get_by_text(SAVED)).to_be_visible()
    bakkerij.refresh_from_db()
    assert bakkerij.website == "https://bob.goudenkorst.nl"
    field = STORED.get(label, "legal_form")
    assert str(getattr(bakkerij, field)) == alice_value

    # The same field: a conflict on that field only, with Alice's value shown to compare.
    _edit(alice, live_server, bakkerij)
    _edit(bob, live_server, bakkerij)
    alice.get_by_label("E-mail", exact=True).fill("alice@goudenkorst.nl")
    _set(alice, label, alice_again, how)
    _save(alice)
    expect(alice.get_by_text(SAVED)).to_be_visible()
    _set(bob, label, bob_value, how)
    _save(bob)
    expect(bob.get_by_text(CONFLICT)).to_be_visible()
    conflict = bob.locator(".conflict")
    expect(conflict).to_contain_text(re.compile(label, re.IGNORECASE))
    expect(conflict).not_to_contain_text(re.compile("Website|E-mail"))
    # The field Bob did not touch shows what Alice saved; his own change is kept.
    expect(bob.get_by_label("E-mail", exact=True)).to_have_value("alice@goudenkorst.nl")
    expect(bob.get_by_label(label, exact=True)).to_have_value(bob_value)
    bob.screenshot(path=tmp_path / f"two-editors-{field}.png", full_page=True)

    _save(bob)
    expect(bob.get_by_text(SAVED)).to_be_visible()
    bakkerij.refresh_from_db()
    assert bakkerij.email == "alice@goudenkorst.nl"
    assert str(getattr(bakkerij, field)) == bob_value
