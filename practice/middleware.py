from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from practice import audit
from practice.http import KringRequest
from practice.models import AuditEvent, Membership

SESSION_PRACTICE_KEY = "practice_id"
SESSION_STARTED_KEY = "session_started_at"


def start_session_clock(sender, request: HttpRequest | None, user, **kwargs) -> None:
    """At login (user_logged_in): the start the 12-hour limit counts from, saved with the login's
    own session write, so that the first page after it has nothing to write."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = time.time()


class SessionLifetimeMiddleware:
    """Ends a session 12 hours after login however active it is (the idle limit is the cookie age)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(SESSION_STARTED_KEY)
            if started is None:
                request.session[SESSION_STARTED_KEY] = now
            elif now - started > settings.SESSION_MAX_LIFETIME:
                logout(request)
        return self.get_response(request)


class SessionIdleMiddleware:
    """Renews a signed-in session's idle window (SESSION_COOKIE_AGE) at most once a minute.

    Renewing means saving the session, which writes its row and resends the cookie; doing that on
    every request (SESSION_SAVE_EVERY_REQUEST) made every page view a write. Here a request marks
    the session for saving only when its expiry, as read from the database
    (practice.sessions.SessionStore), was set more than SESSION_REFRESH_SECONDS ago: a session then
    ends between 29 and 30 minutes after its last request, and a GET within the minute writes nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expires = getattr(request.session, "loaded_expire_date", None)
            renew_before = timezone.now() + timedelta(
                seconds=settings.SESSION_COOKIE_AGE - settings.SESSION_REFRESH_SECONDS
            )
            if expires is None or expires <= renew_before:
                request.session.modified = True  # SessionMiddleware saves it: a fresh expiry
        return self.get_response(request)


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the practice chosen in the session, else the user's first one."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.for_user(user)
    chosen = request.session.get(SESSION_PRACTICE_KEY)
    if chosen is not None:
        membership = memberships.filter(practice_id=chosen).first()
        if membership is not None:
            return membership
    return default_membership(user)


def default_membership(user: User) -> Membership | None:
    """The practice a session starts in: the user's first by name."""
    return Membership.objects.default_for(user)


class CurrentPracticeMiddleware:
    """Sets `request.membership` (None for anonymous users and non-members) for the scoping helpers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: KringRequest) -> HttpResponse:
        request.membership = current_membership(request)
        return self.get_response(request)


class AuditMiddleware:
    """Writes every refused request to the audit: each 403 (a read-only member's change, a CSRF
    failure, a staff account at a contact's link) and each 404 that hid another practice's object.

    It sits outside the views' transactions, so a rolled-back view never takes its audit row with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 403:
            audit.record(request, AuditEvent.Event.PERMISSION_DENIED)
        elif response.status_code == 404 and getattr(request, audit.OTHER_PRACTICE_FLAG, False):
            audit.record(request, AuditEvent.Event.OTHER_PRACTICE)
        return response
