"""Issue 17's chat journey in two browsers: staff write a message and an internal note on the
client's Chat tab; the contact, signed in to the portal, sees the message and not the note, and
replies; staff see the reply. Once with JavaScript and once without."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from connections import services as connection_services
from connections.models import Connection
from portal import services as portal_services
from tests.factories import PASSWORD, created_relation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONTACT_PASSWORD = "Brood-en-Banket-2026"
NOTE = "Interne notitie: betaalt altijd laat"


@pytest.fixture
def bakery(practice, staff):
    return created_relation(practice, staff, legal_name="Bakkerij Brood B.V.")


@pytest.fixture
def jan(practice, staff, bakery):
    jan = created_relation(
        practice,
        staff,
        kind="contact",
        entity="private",
        legal_name="",
        first_name="Jan",
        last_name="Vries",
        email="jan@devries.nl",
    )
    connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=jan,
        other=bakery,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
        portal_access=True,
    )
    portal_services.invite(relation=jan, user=staff, base_url="http://testserver")
    token = re.search(r"/portal/accept/([A-Za-z0-9_\-]+)/", mail.outbox[-1].body).group(1)
    portal_services.accept(token=token, password=CONTACT_PASSWORD)
    return jan


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_staff_and_contact_talk_and_the_note_stays_inside(
    live_server, browser, login, staff, bakery, jan, javascript
):
    office = browser.new_context(locale="en-GB", java_script_enabled=javascript)
    office.set_default_timeout(10_000)
    page = office.new_page()
    login(page, "bob", PASSWORD)
    page.goto(live_server.url + bakery.get_absolute_url())
    page.get_by_role("link", name="Chat").click()
    page.get_by_label("Subject").fill("Jaarrekening 2025")
    page.get_by_label(re.compile(r"^Message:?$")).fill("Wilt u de jaaropgaaf sturen?")
    page.get_by_label("Visible to the client").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jaarrekening 2025")
    page.get_by_label(re.compile(r"^Message:?$")).fill(NOTE)
    page.get_by_label("Internal note").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".chat-message.internal")).to_contain_text(NOTE)

    contact = browser.new_context(locale="en-GB", java_script_enabled=javascript)
    contact.set_default_timeout(10_000)
    jan_page = contact.new_page()
    jan_page.goto(live_server.url + "/portal/login/")
    jan_page.get_by_label("E-mail address").fill("jan@devries.nl")
    jan_page.get_by_label("Password").fill(CONTACT_PASSWORD)
    jan_page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    jan_page.get_by_role("link", name="Go to your messages").click()
    jan_page.get_by_role("link", name="Jaarrekening 2025").click()
    expect(jan_page.get_by_text("Wilt u de jaaropgaaf sturen?")).to_be_visible()
    assert NOTE not in jan_page.content()
    jan_page.get_by_label(re.compile(r"^Message:?$")).fill("Hierbij, zie bijlage volgende week.")
    jan_page.get_by_role("button", name="Send").click()
    expect(jan_page.get_by_text("Hierbij, zie bijlage volgende week.")).to_be_visible()
    assert NOTE not in jan_page.content()

    page.reload()
    expect(page.locator(".chat-message.from-contact")).to_contain_text("Hierbij")
    office.close()
    contact.close()
