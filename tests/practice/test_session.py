import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from practice.middleware import SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db


def _session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_each_request_extends_the_idle_window(owner_client):
    owner_client.get(reverse("home"))
    row = _session_row(owner_client)
    row.expire_date = timezone.now() + timedelta(minutes=1)
    row.save()
    owner_client.get(reverse("home"))
    remaining = _session_row(owner_client).expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)


def test_session_idle_for_30_minutes_is_logged_out(owner_client):
    owner_client.get(reverse("home"))
    row = _session_row(owner_client)
    row.expire_date = timezone.now() - timedelta(seconds=1)
    row.save()
    response = owner_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_session_ends_12_hours_after_login_even_when_active(owner_client):
    owner_client.get(reverse("home"))
    session = owner_client.session
    session[SESSION_STARTED_KEY] = time.time() - settings.SESSION_MAX_LIFETIME - 1
    session.save()
    response = owner_client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_session_younger_than_12_hours_stays(owner_client):
    owner_client.get(reverse("home"))
    session = owner_client.session
    session[SESSION_STARTED_KEY] = time.time() - settings.SESSION_MAX_LIFETIME + 60
    session.save()
    assert owner_client.get(reverse("home")).status_code == 200
