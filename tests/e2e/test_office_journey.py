"""The owner invites a colleague, who accepts from the link in the mail, sets up two-step login and
signs in with it; then the owner deactivates them and their session ends."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from practice.models import Membership
from tests.factories import PASSWORD
from tests.totp import code_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "herfst-bladeren-wind-31"
JOIN = re.compile(r"http://[^/\s]+(/office/join/[A-Za-z0-9_\-]+/)")


def test_invite_accept_two_step_login_then_deactivate(
    live_server, browser, page, login, owner, practice
):
    mail.outbox.clear()
    login(page, "alice", PASSWORD)
    page.get_by_role("link", name="Members").first.click()
    page.get_by_role("link", name="Invite a colleague").click()
    page.get_by_label("E-mail address").fill("nina@example.nl")
    page.get_by_label("Role").select_option("staff")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("cell", name="nina@example.nl")).to_be_visible()
    assert len(mail.outbox) == 1
    path = JOIN.search(mail.outbox[0].body).group(1)

    # The colleague, in a browser of their own.
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    nina = context.new_page()
    nina.goto(live_server.url + path)
    nina.get_by_label("First name").fill("Nina")
    nina.get_by_label("Last name").fill("Nieuw")
    nina.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    nina.get_by_label("Password again").fill(NEW_PASSWORD)
    nina.get_by_role("button", name="Create my account").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice.name}")

    # Two-step login: the key the page shows goes into the "app" (computed here).
    nina.goto(live_server.url + "/account/two-step/")
    secret = nina.get_by_test_id("two-step-secret").inner_text()
    nina.get_by_label("Code").fill(code_for(secret))
    nina.get_by_role("button", name="Turn on two-step login").click()
    expect(nina.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    nina.locator(".topmenu summary").click()
    nina.get_by_role("button", name="Log out").click()

    login(nina, "nina@example.nl", NEW_PASSWORD)
    expect(nina.get_by_role("heading", level=1)).to_have_text("Enter your code")
    nina.get_by_label("Code").fill(code_for(secret, offset=1))
    nina.get_by_role("button", name="Log in").click()
    expect(nina.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice.name}")

    # The owner deactivates her (the dialog asks first).
    page.goto(live_server.url + "/office/members/")
    page.get_by_role("link", name="Nina Nieuw").click()
    page.get_by_role("button", name="Deactivate").click()
    page.get_by_role("dialog").get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages")).to_contain_text("Nina Nieuw has been deactivated.")
    membership = Membership.objects.get(user__email="nina@example.nl")
    assert membership.deactivated_at is not None

    nina.reload()
    expect(nina.get_by_role("heading", level=1)).to_have_text("Log in to Kring")
    context.close()
