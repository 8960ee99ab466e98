import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_owner_logs_in_and_sees_home_in_english(live_server, page, login, owner, practice):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, "alice", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice.name}")
    expect(page.get_by_role("link", name="Relations").first).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert errors == []


def test_dutch_browser_sees_dutch_and_can_switch_to_english(
    live_server, dutch_page, login, owner, practice
):
    page = dutch_page
    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen bij Kring")
    login(page, "alice", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welkom bij {practice.name}")
    # The language and the user live in the header's menu (a <details>), opened first.
    page.locator(".topmenu summary").click()
    page.get_by_label("Taal").select_option("en")
    page.get_by_role("button", name="Wijzigen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice.name}")
    page.locator(".topmenu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Kring")
