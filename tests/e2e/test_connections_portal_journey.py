"""Issue 4's journey: connect a contact to a client from the contact's page, see it on the client's
page; invite the contact, open the link from the sent mail, set a password, see the portal."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import PASSWORD, created_relation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(practice, staff):
    return created_relation(practice, staff, legal_name="Bakkerij Brood B.V.")


@pytest.fixture
def jan(practice, staff):
    return created_relation(
        practice,
        staff,
        kind="contact",
        entity="private",
        legal_name="",
        first_name="Jan",
        name_prefix="de",
        last_name="Vries",
        email="jan@devries.nl",
    )


def test_connect_invite_accept_and_see_the_portal(
    live_server, page, browser, login, staff, bakery, jan
):
    login(page, "bob", PASSWORD)

    # Connect Jan to the bakery from Jan's page, as its director.
    page.goto(live_server.url + jan.get_absolute_url())
    page.get_by_role("link", name="Connections").click()
    page.get_by_role("link", name="Add connection").click()
    search = page.get_by_label("Search by name, client code, e-mail, city or KvK number")
    search.fill("brood")
    # Enter searches too, as a person does: with htmx still settling the swapped-in form (so
    # the typing was not yet seen), or without it, the picker then shows the matches.
    search.press("Enter")
    page.get_by_label(re.compile("Bakkerij Brood B.V.")).check()
    page.get_by_label(re.compile(r"^Connection:?$")).select_option(label="director of")
    page.get_by_role("button", name="Add connection").click()
    expect(
        page.get_by_role("cell", name="director of Bakkerij Brood B.V.", exact=True)
    ).to_be_visible()

    # The bakery's page shows the same connection in its own words.
    page.goto(live_server.url + bakery.get_absolute_url())
    page.get_by_role("link", name="Connections").click()
    expect(page.get_by_role("cell", name="has director Jan de Vries", exact=True)).to_be_visible()

    # Invite Jan to the portal; the link comes from the mail that was sent.
    page.goto(live_server.url + jan.get_absolute_url())
    page.get_by_role("button", name="Invite to portal").click()
    expect(page.get_by_role("button", name="Resend portal invitation")).to_be_visible()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["jan@devries.nl"]
    link = re.search(r"https?://\S+/portal/accept/\S+", mail.outbox[0].body).group(0)

    # Jan opens it in a browser of his own, sets a password and lands in the portal.
    jan_context = browser.new_context(locale="en-GB")
    jan_context.set_default_timeout(10_000)
    jan_page = jan_context.new_page()
    jan_page.goto(link)
    expect(jan_page.get_by_role("heading", level=1)).to_have_text("Set your password")
    jan_page.get_by_label("Password", exact=True).fill("Brood-en-Banket-2026")
    jan_page.get_by_label("Password again").fill("Brood-en-Banket-2026")
    jan_page.get_by_role("button", name="Set password and open the portal").click()
    expect(jan_page.get_by_role("heading", level=1)).to_have_text("Jan de Vries")
    expect(jan_page.get_by_text("Bakkerij Brood B.V.")).to_be_visible()
    # And the staff pages do not exist for him.
    response = jan_page.goto(live_server.url + "/relations/")
    assert response.status == 404
    jan_context.close()
