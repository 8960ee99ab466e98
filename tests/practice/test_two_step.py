"""Two-step login: set-up with a code computed from the key the page shows, the second step at login,
the office's requirement, and a wrong code counting as a failed login (django-axes)."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from practice.models import AuditEvent
from tests.factories import PASSWORD
from tests.totp import code_for, secret_of

pytestmark = pytest.mark.django_db

SECRET = re.compile(r'data-testid="two-step-secret">([A-Z2-7]+)<')


def _sign_in(username: str) -> Client:
    client = Client(headers={"accept-language": "en"})
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _set_up(client: Client) -> tuple[str, list[str]]:
    page = client.get(reverse("account-two-step")).content.decode()
    found = SECRET.search(page)
    assert found, page
    secret = found.group(1)
    response = client.post(reverse("account-two-step"), {"code": code_for(secret)})
    assert response.status_code == 302
    shown = client.get(reverse("account-two-step")).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", shown)
    assert len(codes) == 10
    return secret, codes


def test_setting_up_needs_a_right_code_and_writes_nothing_before(staff):
    client = _sign_in(staff.username)
    page = client.get(reverse("account-two-step")).content.decode()
    assert "data:image/svg+xml" in page  # the QR code, no script, no external image
    assert not TOTPDevice.objects.exists()
    wrong = client.post(reverse("account-two-step"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not TOTPDevice.objects.exists()
    secret, _codes = _set_up(client)
    device = TOTPDevice.objects.get(user=staff)
    assert device.confirmed
    assert secret_of(device) == secret
    assert AuditEvent.objects.filter(event=AuditEvent.Event.TWO_STEP_ENABLED, user=staff).exists()


def test_after_the_password_the_code_is_owed_before_anything_else(staff):
    secret, _codes = _set_up(_sign_in(staff.username))
    client = _sign_in(staff.username)
    response = client.get(reverse("relations-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two-step-verify"))
    # The step the set-up used cannot be used again: the app's next code is.
    ok = client.post(reverse("two-step-verify"), {"code": code_for(secret, offset=1)})
    assert ok.status_code == 302
    assert client.get(reverse("relations-list")).status_code == 200


def test_a_recovery_code_works_once(staff):
    _secret, codes = _set_up(_sign_in(staff.username))
    first = _sign_in(staff.username)
    assert first.post(reverse("two-step-verify"), {"code": codes[0]}).status_code == 302
    second = _sign_in(staff.username)
    assert second.post(reverse("two-step-verify"), {"code": codes[0]}).status_code == 200
    assert second.get(reverse("home")).status_code == 302


def test_a_wrong_code_counts_as_a_failed_login(staff):
    _set_up(_sign_in(staff.username))
    client = _sign_in(staff.username)
    response = client.post(reverse("two-step-verify"), {"code": "000000"})
    assert response.status_code == 200
    attempt = AccessAttempt.objects.get(username=staff.username)
    assert attempt.failures_since_start == 1
    assert AuditEvent.objects.filter(
        event=AuditEvent.Event.LOGIN_FAILED, username=staff.username
    ).exists()


def test_wrong_codes_up_to_the_limit_lock_out_and_end_the_session(staff):
    _set_up(_sign_in(staff.username))
    client = _sign_in(staff.username)
    for _i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("two-step-verify"), {"code": "000000"}).status_code == 200
    locked = client.post(reverse("two-step-verify"), {"code": "000000"})
    assert locked.status_code == 429
    assert client.get(reverse("home")).status_code == 302  # signed out
    assert reverse("login") in client.get(reverse("home")).url


def test_an_office_that_requires_it_sends_a_member_without_it_to_set_up_first(
    owner_client, staff, practice
):
    owner_client.post(reverse("office-two-step"), {"require_two_step": "on"})
    practice.refresh_from_db()
    assert practice.require_two_step
    client = _sign_in(staff.username)
    response = client.get(reverse("relations-list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account-two-step"))
    _set_up(client)
    assert client.get(reverse("relations-list")).status_code == 200
    # Now it cannot be turned off while the office requires it.
    page = client.get(reverse("account-two-step-off")).content.decode()
    assert "requires two-step login" in page


def test_turning_it_off_needs_a_code(staff):
    secret, _codes = _set_up(_sign_in(staff.username))
    client = _sign_in(staff.username)
    client.post(reverse("two-step-verify"), {"code": code_for(secret, offset=1)})
    assert client.post(reverse("account-two-step-off"), {"code": ""}).status_code == 200
    assert TOTPDevice.objects.filter(user=staff).exists()
    # A recovery code turns it off too (the app's codes of this step are used up). A wrong code is
    # not tried here first: django-otp then slows the next attempt down (its throttle), rightly.
    codes = _codes
    assert client.post(reverse("account-two-step-off"), {"code": codes[1]}).status_code == 302
    assert not TOTPDevice.objects.filter(user=staff).exists()
