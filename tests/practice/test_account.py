"""Mijn account: name, e-mail (with the current password), language (applied at the next login);
and two-step login that a portal user turns on for themselves."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import services
from tests.factories import PASSWORD, RelationFactory
from tests.totp import code_for

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="two-step-secret">([A-Z2-7]+)<')


def test_name_and_language_are_saved_and_the_language_applies_at_the_next_login(
    staff_client, staff
):
    response = staff_client.post(
        reverse("account"),
        {"first_name": "Bob", "last_name": "Bouwer", "email": staff.email, "language": "en"},
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    assert staff.get_full_name() == "Bob Bouwer"
    client = Client(headers={"accept-language": "nl"})
    client.post(reverse("login"), {"username": staff.username, "password": PASSWORD})
    home = client.get(reverse("home"))
    assert home.content.decode().startswith("<!doctype html>")
    assert '<html lang="en">' in home.content.decode()


def test_changing_the_e_mail_needs_the_current_password(staff_client, staff):
    data = {"first_name": "B", "last_name": "B", "email": "ander@example.nl", "language": ""}
    refused = staff_client.post(reverse("account"), data)
    assert refused.status_code == 200
    staff.refresh_from_db()
    assert staff.email != "ander@example.nl"
    staff_client.post(reverse("account"), {**data, "current_password": PASSWORD})
    staff.refresh_from_db()
    assert staff.email == "ander@example.nl"


def test_a_portal_user_turns_two_step_login_on_and_then_needs_a_code(
    staff, practice, mailoutbox, django_capture_on_commit_callbacks
):
    contact = RelationFactory(practice=practice, contact=True, private=True, email="jan@example.nl")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite(relation=contact, user=staff, base_url="http://testserver")
    token = re.search(r"/portal/accept/([^/]+)/", mailoutbox[-1].body).group(1)
    services.accept(token=token, password="tulpen-bollen-veld-42")
    client = Client(headers={"accept-language": "en"})
    login = {"email": "jan@example.nl", "password": "tulpen-bollen-veld-42"}
    client.post(reverse("portal-login"), login)
    page = client.get(reverse("portal-two-step")).content.decode()
    assert "Client portal" in page  # the portal's frame, not the office's
    secret = SECRET.search(page).group(1)
    assert client.post(reverse("portal-two-step"), {"code": code_for(secret)}).status_code == 302
    assert TOTPDevice.objects.filter(user__email="jan@example.nl").exists()
    again = Client(headers={"accept-language": "en"})
    again.post(reverse("portal-login"), login)
    response = again.get(reverse("portal-home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two-step-verify"))
    assert (
        again.post(reverse("two-step-verify"), {"code": code_for(secret, offset=1)}).status_code
        == 302
    )
    assert again.get(reverse("portal-home")).status_code == 200
    # Staff accounts never reach the portal's two-step pages.
    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get(reverse("portal-two-step")).status_code == 404
