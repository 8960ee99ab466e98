"""Issue 11, defects 2 and 4, in the browser with JavaScript off and in Dutch: ending an agreement,
cancelling one that has not started, archiving a client and bulk archiving, each through its confirm
page. Set SHOTS_DIR to keep a screenshot of every confirm page."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from relations.models import ServiceAgreement
from tests.factories import PASSWORD, RelationFactory, ServiceAgreementFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="nl-NL", java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    if folder := os.environ.get("SHOTS_DIR"):
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_confirm_pages_in_the_browser_without_javascript(live_server, page, login, staff, practice):
    today = timezone.localdate()
    client = RelationFactory(practice=practice, legal_name="Bakkerij De Gouden Korst B.V.")
    payroll = ServiceAgreementFactory(
        relation=client, service="payroll", start_date=today - timedelta(days=40)
    )
    vat = ServiceAgreementFactory(
        relation=client, service="vat", start_date=today + timedelta(days=20)
    )
    bookkeeping = ServiceAgreementFactory(
        relation=client, service="bookkeeping", start_date=today - timedelta(days=400)
    )
    other = RelationFactory(practice=practice, legal_name="Fietsenmaker Snel B.V.")
    ServiceAgreementFactory(
        relation=other, service="annual_accounts", start_date=today - timedelta(days=9)
    )
    login(page, "bob", PASSWORD)

    # End a running agreement: the tab's link leads to a page that says what happens.
    page.goto(f"{live_server.url}{client.get_absolute_url()}")
    page.get_by_role("link", name="Overeenkomsten").click()
    page.get_by_role("button", name="Vandaag beëindigen Salarisadministratie").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overeenkomst beëindigen")
    shot(page, "1-end-confirm")
    page.get_by_role("button", name="Vandaag beëindigen").click()
    expect(page.get_by_text("Overeenkomst beëindigd.")).to_be_visible()
    payroll.refresh_from_db()
    assert payroll.end_date == today

    # Cancel one that has not started: kept, and shown under Beëindigd as Geannuleerd.
    page.get_by_role("button", name="Overeenkomst annuleren Btw-aangiften").click()
    shot(page, "2-cancel-confirm")
    page.get_by_role("button", name="Overeenkomst annuleren").click()
    expect(page.get_by_text("Overeenkomst geannuleerd.")).to_be_visible()
    expect(page.get_by_role("cell", name="Geannuleerd")).to_be_visible()
    shot(page, "3-tab-after")
    vat.refresh_from_db()
    assert vat.status() == ServiceAgreement.Status.CANCELLED

    # Archive: the page lists the running agreement it ends.
    page.get_by_role("button", name="Archiveren").click()
    expect(page.get_by_role("listitem").filter(has_text="Boekhouding")).to_be_visible()
    shot(page, "4-archive-confirm")
    page.get_by_role("button", name="Archiveren en deze overeenkomsten stoppen").click()
    expect(page.get_by_text("is gearchiveerd. Beëindigd: Boekhouding.")).to_be_visible()
    bookkeeping.refresh_from_db()
    assert bookkeeping.end_date == today

    # Bulk archive from the list: shown row by row first, reported row by row after.
    page.goto(f"{live_server.url}/relations/")
    page.get_by_label("Fietsenmaker Snel B.V. selecteren").check()
    page.get_by_role("button", name="Archiveren").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("1 relatie archiveren?")
    shot(page, "5-bulk-confirm")
    page.get_by_role("button", name="Archiveren").click()
    expect(page.get_by_role("cell", name="1 overeenkomst beëindigd (Jaarrekening)")).to_be_visible()
    shot(page, "6-bulk-report")
    other.refresh_from_db()
    assert other.archived_at is not None
