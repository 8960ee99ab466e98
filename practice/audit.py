"""The audit trail: sign-ins, sign-outs, refused sign-ins, lockouts and refused requests.

Each event is an AuditEvent row and one line on the `kring.audit` logger. Both say who and from where,
never what was typed: no password, no form data, no query string (a search holds names), and an
attempted username that is a valid BSN is masked (people do type one into the wrong box).

django-axes throttles failed logins with the same two functions the audit uses (`client_ip` and
`attempted_username`, wired in config/settings.py), so that the throttle and the audit agree on which
name and which address an attempt came from.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from stdnum.nl import bsn

from practice.models import AuditEvent, Membership, Practice

logger = logging.getLogger("kring.audit")

MASKED = "[masked]"
# URL arguments that are secrets (the portal's invitation token): never stored as part of a path.
SECRET_URL_KWARGS = frozenset({"token"})
USERNAME_MAX_LENGTH = AuditEvent._meta.get_field("username").max_length
PATH_MAX_LENGTH = AuditEvent._meta.get_field("path").max_length
# Set on a request by practice.access when its 404 hid an object of another practice.
OTHER_PRACTICE_FLAG = "audit_other_practice"


def client_ip(request: HttpRequest) -> str | None:
    """The address the request came from.

    REMOTE_ADDR, unless TRUSTED_PROXY_COUNT reverse proxies stand in front of Kring: then the address
    the outermost of them saw, which is that many entries from the right of X-Forwarded-For. Entries
    further left are whatever the client chose to send, so they are never believed.
    """
    value = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and forwarded[-proxies]:
            value = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def safe_username(value: object) -> str:
    text = str(value or "").strip()[:USERNAME_MAX_LENGTH]
    return MASKED if bsn.is_valid(text) else text


def attempted_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The name a sign-in was attempted with: the username, or the portal's e-mail address.

    Addresses are compared case-insensitively by the portal, so they are folded here: `JAN@…` and
    `jan@…` count against the same throttle.
    """
    credentials = credentials or {}
    data = request.POST if request is not None and request.method == "POST" else {}
    email = credentials.get("portal_email")
    if email is None and "username" not in data:
        email = data.get("email")
    if email:
        return safe_username(str(email).casefold())
    return safe_username(credentials.get("username") or data.get("username", ""))


def safe_path(request: HttpRequest) -> str:
    """The request's path without its query string and with secret URL arguments replaced."""
    path = request.path
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for name, value in match.kwargs.items():
            if name in SECRET_URL_KWARGS and value:
                path = path.replace(str(value), "…")
    return path[:PATH_MAX_LENGTH]


def axes_client_str(
    username: str | None,
    ip_address: str | None,
    user_agent: str,
    path_info: str,
    request: HttpRequest | None,
) -> str:
    """How axes' own log lines name a client (AXES_CLIENT_STR_CALLABLE): the path only, made safe.

    Who and from where are in the audit's line; the raw path can hold an invitation token.
    """
    return f"path={safe_path(request) if request is not None else '-'}"


def record(
    request: HttpRequest | None,
    event: AuditEvent.Event,
    *,
    username: str = "",
    user: Any = None,
    practice: Practice | None = None,
    subject: Any = None,
    detail: str = "",
) -> AuditEvent:
    """Write one audit row and its log line; the user and practice default to the request's."""
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    if user is not None and not username:
        username = user.get_username()
    membership = getattr(request, "membership", None)
    if practice is None and membership is not None:
        practice = membership.practice
    entry = AuditEvent.objects.create(
        event=event,
        username=safe_username(username),
        user=user,
        practice=practice,
        ip_address=client_ip(request) if request is not None else None,
        path=safe_path(request) if request is not None else "",
        subject=subject,
        detail=detail,
    )
    # An office event adds whom it is about (a reference) and its code; other lines stay as they were.
    about = f" subject={entry.subject_id} detail={entry.detail}" if subject or detail else ""
    logger.info(
        "%s username=%r user=%s practice=%s ip=%s path=%s%s",
        entry.event,
        entry.username,
        entry.user_id,
        entry.practice_id,
        entry.ip_address,
        entry.path,
        about,
    )
    return entry


# --- signal receivers, connected in PracticeConfig.ready() ---------------------------------------


def on_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # The practice the session starts in (portal users have none: they are not members).
    membership = Membership.objects.default_for(user)
    practice = membership.practice if membership is not None else None
    record(request, AuditEvent.Event.LOGIN, user=user, practice=practice)


def on_logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    # Sent before the session is flushed, so request.membership still names the practice.
    if user is not None:
        record(request, AuditEvent.Event.LOGOUT, user=user)


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    record(
        request, AuditEvent.Event.LOGIN_FAILED, username=attempted_username(request, credentials)
    )


def on_locked_out(sender: Any, request: HttpRequest, username: str | None = None, **kwargs) -> None:
    record(request, AuditEvent.Event.LOCKED_OUT, username=username or "")


def connect_signals() -> None:
    from axes.signals import user_locked_out

    user_logged_in.connect(on_logged_in, dispatch_uid="kring-audit-login")
    user_logged_out.connect(on_logged_out, dispatch_uid="kring-audit-logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="kring-audit-login-failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="kring-audit-locked-out")


# --- what a locked-out client sees (AXES_LOCKOUT_CALLABLE) -----------------------------------------


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The same page for every locked-out attempt: it never says whether the account exists."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    portal = getattr(request.resolver_match, "url_name", "") == "portal-login"
    return render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": minutes, "layout": "portal/layout.html" if portal else "base.html"},
        status=429,
    )
