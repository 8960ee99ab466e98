"""Issue 12: a client imported from Twinfield with a legacy btw-id is flagged "Controleren", and
renaming it in the browser saves (with a warning naming the field it left alone)."""

import pytest
from playwright.sync_api import Page, expect

from relations.models import Relation
from sync.importer import run_import
from tests.factories import PASSWORD
from tests.fakes.twinfield import FakeTwinfield, connect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_renaming_an_imported_client_with_a_legacy_btw_id_saves(
    live_server, dutch_page: Page, login, staff, owner, practice
):
    with FakeTwinfield() as fake:
        fake.seed_customers(5)
        connect(practice, fake)
        run_import(practice=practice, user=owner)
    flagged = Relation.objects.filter(practice=practice, needs_review=True).order_by("pk").first()
    assert flagged is not None
    page = dutch_page
    login(page, "bob", PASSWORD)

    page.goto(f"{live_server.url}/relations/?review=needed")
    row = page.get_by_role("row").filter(has_text=flagged.display_name)
    expect(row.get_by_text("Controleren")).to_be_visible()
    row.get_by_role("link", name=flagged.display_name).click()
    page.get_by_role("link", name="Wijzigen").click()
    page.get_by_label("Statutaire naam").fill("Hernoemd Na Import B.V.")
    page.get_by_role("button", name="Opslaan").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Hernoemd Na Import B.V.")
    expect(page.get_by_text("Btw-nummer is gelaten zoals het was")).to_be_visible()
    flagged.refresh_from_db()
    assert flagged.legal_name == "Hernoemd Na Import B.V."
