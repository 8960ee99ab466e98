"""Saving an inline (htmx) edit raises no Content-Security-Policy violation in the browser."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.e2e.test_csp import ALL_RECEIVED, Watch, watched_page
from tests.factories import PASSWORD, AddressFactory, created_relation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_saving_an_inline_address_edit_has_no_csp_violation(live_server, browser, owner, practice):
    company = created_relation(practice, owner, legal_name="Bakkerij De Gouden Korst B.V.")
    AddressFactory(relation=company, street="Keizersgracht", house_number="1", is_default=True)
    watch = Watch()
    context, page = watched_page(browser, watch)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto(f"{live_server.url}{reverse('relations-tab', args=[company.public_id, 'addresses'])}")
    page.get_by_role("link", name=re.compile(r"^Edit Keizersgracht")).click()
    page.get_by_label("City").fill("Haarlem")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("cell", name="Keizersgracht 1 1015 CJ Haarlem", exact=True)
    ).to_be_visible()
    # And once more through the refreshed list, the second swap of the same fragment.
    page.get_by_role("link", name=re.compile(r"^Edit Keizersgracht")).click()
    page.get_by_label("City").fill("Leiden")
    page.get_by_role("button", name="Save").click()
    expect(
        page.get_by_role("cell", name="Keizersgracht 1 1015 CJ Leiden", exact=True)
    ).to_be_visible()
    page.wait_for_function(ALL_RECEIVED)
    context.close()

    assert watch.violations == []
    assert [e for e in watch.console_errors if "Content Security Policy" in e] == []
