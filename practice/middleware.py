from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse

from practice import audit
from practice.http import KringRequest
from practice.models import AuditEvent, Membership

SESSION_PRACTICE_KEY = "practice_id"
SESSION_STARTED_KEY = "session_started_at"


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
