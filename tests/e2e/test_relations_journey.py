"""The relations journey of issue 3, walked by labels and roles the way a person does it."""

import re

import pytest
from playwright.sync_api import Page, expect

from relations.models import Relation
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def go_to_relations(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Relations").click()


def open_new_relation(page: Page, choice: str) -> None:
    go_to_relations(page)
    page.get_by_role("link", name="New relation").click()
    page.get_by_label(choice).check()
    page.get_by_role("button", name="Next").click()


def test_create_convert_refuse_archive_restore(live_server, page, login, staff, practice):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, "bob", PASSWORD)

    # A client company with KvK, VAT, an address and an IBAN.
    open_new_relation(page, "Client — company")
    page.get_by_label("Legal name").fill("Bakkerij De Gouden Korst B.V.")
    page.get_by_label("KvK number").fill("12345678")
    page.get_by_label("VAT number").fill("NL000099998B57")
    page.get_by_label("E-mail").fill("info@goudenkorst.nl")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bakkerij De Gouden Korst B.V.")
    expect(page.get_by_text("has been created")).to_be_visible()

    page.get_by_role("link", name="Addresses").click()
    page.get_by_role("link", name="Add address").click()
    page.get_by_label("Street").fill("Keizersgracht")
    page.get_by_label("House number").fill("123")
    page.get_by_label("Postcode").fill("1015cj")
    page.get_by_label("City").fill("Amsterdam")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name=re.compile("Keizersgracht 123")).first).to_be_visible()

    page.get_by_role("link", name="Bank accounts").click()
    page.get_by_role("link", name="Add bank account").click()
    page.get_by_label("IBAN").fill("NL91 ABNA 0417 1643 00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="NL91 ABNA 0417 1643 00", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="ABN AMRO BANK N.V.")).to_be_visible()

    page.get_by_role("link", name="Agreements").click()
    page.get_by_role("link", name="Add agreement").click()
    page.get_by_label("Service").select_option(label="Bookkeeping")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Bookkeeping", exact=True)).to_be_visible()
    company_url = page.url

    # A private contact, converted to a client from the list (bulk).
    open_new_relation(page, "Contact — private person")
    page.get_by_label("First name").fill("Jan")
    page.get_by_label("Prefix").fill("de")
    page.get_by_label("Last name").fill("Vries")
    page.get_by_label("E-mail").fill("jan@devries.nl")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jan de Vries")

    go_to_relations(page)
    page.get_by_label("Search").fill("de vries")
    page.get_by_role("button", name="Apply filters").click()
    # Jan is on the unfiltered list too: wait for the filtered page before ticking his box, or the
    # tick lands on the page being replaced and the bulk POST carries no ids.
    expect(page.get_by_text("1 relation", exact=True)).to_be_visible()
    page.get_by_label("Select Jan de Vries").check()
    page.get_by_role("button", name="Convert to client").click()
    # It asks first (issue 11): the dialog's own button converts.
    page.get_by_role("dialog").get_by_role("button", name="Convert to client").click()
    expect(page.get_by_role("heading", name=re.compile("Result"))).to_be_visible()
    expect(page.get_by_text("1 converted to client", exact=False)).to_be_visible()
    jan = Relation.objects.get(last_name="Vries")
    assert jan.kind == "client"
    assert jan.client_code

    # The company has an active agreement: it cannot become a private person.
    # Its confirmation step says so before asking for any names (issue 11).
    page.goto(company_url)
    page.get_by_role("link", name="Convert to private person").click()
    expect(
        page.get_by_text(re.compile("cannot become a private person.*Bookkeeping"))
    ).to_be_visible()
    assert Relation.objects.get(kvk_number="12345678").entity == "company"
    page.get_by_role("link", name="Back").click()

    # Archive it: the dialog names the running agreement it ends (without JavaScript the confirm
    # page does, tests/e2e/test_agreement_confirm.py); find it under Archived, restore it.
    page.get_by_role("button", name="Archive").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Ends today: Bookkeeping.")
    dialog.get_by_role("button", name="Archive").click()
    expect(page.get_by_text("has been archived. Ended: Bookkeeping.")).to_be_visible()
    go_to_relations(page)
    expect(page.get_by_role("link", name="Bakkerij De Gouden Korst B.V.")).to_have_count(0)
    page.get_by_label("Status").select_option(label="Archived")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_role("link", name="Bakkerij De Gouden Korst B.V.").click()
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("has been restored")).to_be_visible()
    assert Relation.objects.get(kvk_number="12345678").archived_at is None
    assert errors == []
