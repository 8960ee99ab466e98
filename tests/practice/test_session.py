import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from practice.middleware import SESSION_STARTED_KEY
from tests.factories import RelationFactory

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


# --- no write on a read: the idle window is renewed at most once a minute ----------------------

WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return [
        q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)
    ]


def _age(client, seconds: float) -> None:
    """As if the session had last been saved `seconds` earlier (its expiry that much sooner)."""
    row = _session_row(client)
    row.expire_date = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - seconds)
    row.save()


def test_a_list_get_and_a_detail_get_write_nothing(staff_client, practice):
    relation = RelationFactory(practice=practice)
    for url in (reverse("relations-list"), relation.get_absolute_url()):
        staff_client.get(url)  # the session's first request records when it started
        assert _writes(staff_client, url) == []
        assert _writes(staff_client, url + "?page=2") == []


def test_a_request_within_the_minute_leaves_the_expiry_alone(owner_client):
    owner_client.get(reverse("home"))
    _age(owner_client, settings.SESSION_REFRESH_SECONDS - 5)
    expires = _session_row(owner_client).expire_date

    assert _writes(owner_client, reverse("home")) == []
    assert _session_row(owner_client).expire_date == expires


def test_a_request_after_the_minute_renews_the_idle_window(owner_client):
    owner_client.get(reverse("home"))
    _age(owner_client, settings.SESSION_REFRESH_SECONDS + 5)

    response = owner_client.get(reverse("home"))

    remaining = _session_row(owner_client).expire_date - timezone.now()
    assert timedelta(minutes=29) < remaining <= timedelta(minutes=30)
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_a_session_idle_for_31_minutes_is_logged_out(owner_client):
    owner_client.get(reverse("home"))
    _age(owner_client, 31 * 60)

    response = owner_client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_session_active_every_few_minutes_stays_signed_in(owner_client):
    owner_client.get(reverse("home"))
    # An hour of work, a request every 4 minutes: each one finds the session 4 minutes older.
    for _ in range(15):
        _age(owner_client, 4 * 60)
        assert owner_client.get(reverse("home")).status_code == 200
    remaining = _session_row(owner_client).expire_date - timezone.now()
    assert remaining > timedelta(minutes=29)
