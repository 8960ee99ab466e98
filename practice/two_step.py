"""Two-step login: a code from an authenticator app (TOTP, RFC 6238) after the password.

Built on django-otp (its TOTPDevice checks a code with one step of drift either side, never accepts
the same step twice, and slows down after wrong codes; its StaticDevice holds the recovery codes,
each usable once). Kring adds the flow around it:

- Signing in with the password starts the session as usual; a user with a confirmed device then has
  "second step owed" in the session and TwoStepMiddleware sends every request to the code page until
  the code is given. A wrong code counts as a failed login for django-axes (the same throttle and
  lockout as a wrong password) and is audited as one.
- An office that requires two-step login (Practice.require_two_step) sends a member without a device
  to the set-up page first.
- Set-up keeps the new key in the session until the first code proves the app has it: a GET never
  writes a row.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in, user_login_failed
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from practice import audit
from practice.forms import PlainTextMixin
from practice.models import AuditEvent

PENDING = "two_step_pending"  # the password was right; the code is still owed
ENROLLED = "two_step_enrolled"  # the user has a confirmed device (set at login and at set-up)
SETUP_KEY = "two_step_setup_key"  # hex key being set up, until its first code is right
NEW_CODES = "two_step_new_codes"  # recovery codes to show once
RECOVERY_CODES = 10
DEVICE_NAME = "Authenticator"

# Paths a user who owes the second step (or its set-up) may still open.
ALWAYS_OPEN = ("two-step-verify", "logout", "set_language")
SETUP_OPEN = ("account-two-step",)


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def on_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    enrolled = has_device(user)
    request.session[ENROLLED] = enrolled
    if enrolled:
        request.session[PENDING] = True
    else:
        request.session.pop(PENDING, None)


def connect_signals() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="kring-two-step-login")


def is_portal_user(user) -> bool:
    return user.is_authenticated and hasattr(user, "portal_account")


class TwoStepMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        redirect_to = self._owed(request)
        if redirect_to is not None:
            return redirect(f"{reverse(redirect_to)}?next={request.get_full_path()}")
        return self.get_response(request)

    def _owed(self, request: HttpRequest) -> str | None:
        user = request.user
        if not user.is_authenticated or request.path.startswith("/static/"):
            return None
        if request.session.get(PENDING):
            return None if _resolve(request) in ALWAYS_OPEN else "two-step-verify"
        membership = getattr(request, "membership", None)
        if (
            membership is not None
            and membership.practice.require_two_step
            and not request.session.get(ENROLLED)
            and _resolve(request) not in ALWAYS_OPEN + SETUP_OPEN
        ):
            return "account-two-step"
        return None


def _resolve(request: HttpRequest) -> str:
    from django.urls import Resolver404, resolve

    try:
        return resolve(request.path_info).url_name or ""
    except Resolver404:
        return ""


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


class CodeForm(PlainTextMixin, forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split())


def _layout(request: HttpRequest) -> str:
    return "portal/layout.html" if is_portal_user(request.user) else "base.html"


def _credentials(user) -> dict[str, str]:
    # The names the login throttle counts under: the portal's address, or the username.
    if is_portal_user(user):
        return {"portal_email": (user.email or "").casefold()}
    return {"username": user.get_username()}


def _locked_out(request: HttpRequest, credentials: dict[str, str]) -> HttpResponse:
    logout(request)
    request.membership = None  # type: ignore[attr-defined]
    return audit.locked_out(request, credentials=credentials)


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
@never_cache
@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app, or one recovery code."""
    if not request.session.get(PENDING):
        return redirect(_next(request, "home"))
    user = request.user
    credentials = _credentials(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if AxesProxyHandler.is_locked(request, credentials):
            return _locked_out(request, credentials)
        if form.is_valid():
            device = match_token(user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                request.session.pop(PENDING, None)
                request.session[ENROLLED] = True
                if isinstance(device, StaticDevice):
                    messages.warning(
                        request,
                        _("You used a recovery code; it cannot be used again. %(left)s left.")
                        % {"left": device.token_set.count()},
                    )
                return redirect(_next(request, "home"))
        # A wrong code is a failed login: the same throttle and audit as a wrong password.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request, credentials)
        form.add_error(
            "code" if "code" not in form.errors else None,
            _("This code is not right. Enter the code your app shows now, or a recovery code."),
        )
    return render(
        request,
        "practice/two_step_verify.html",
        {"form": form, "layout": _layout(request), "next": request.GET.get("next", "")},
    )


# --- one's own set-up ----------------------------------------------------------------------------


def _setup_key(request: HttpRequest) -> str:
    key = request.session.get(SETUP_KEY)
    if not key:
        key = secrets.token_hex(20)
        request.session[SETUP_KEY] = key
    return key


def base32_key(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode().rstrip("=")


def _config_url(user, hex_key: str) -> str:
    device = TOTPDevice(user=user, key=hex_key, name=DEVICE_NAME)
    return device.config_url


def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def _code_is_right(hex_key: str, code: str) -> bool:
    if not code.isdigit() or len(code) != 6:
        return False
    totp = TOTP(bytes.fromhex(hex_key), step=30, digits=6)
    for drift in (-1, 0, 1):
        totp.drift = drift
        if totp.token() == int(code):
            return True
    return False


@transaction.atomic
def _enrol(request: HttpRequest, hex_key: str) -> list[str]:
    user = request.user
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, key=hex_key, name=DEVICE_NAME, confirmed=True)
    # The step the set-up code came from is used: the same code cannot sign in once more.
    device.verify_token(request.POST.get("code", ""))
    codes = _new_recovery_codes(user)
    audit.record(request, AuditEvent.Event.TWO_STEP_ENABLED)
    otp_login(request, device)
    return codes


def _new_recovery_codes(user) -> list[str]:
    static, _created = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    static.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
    return codes


def _required(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.practice.require_two_step


@sensitive_post_parameters("code")
@never_cache
def setup(request: HttpRequest, *, template_layout: str | None = None) -> HttpResponse:
    """Mijn account → Tweestapsverificatie: turn it on (scan, then one code), see it is on."""
    user = request.user
    layout = template_layout or _layout(request)
    enrolled = has_device(user)
    new_codes = request.session.pop(NEW_CODES, None)
    if enrolled:
        return render(
            request,
            "practice/two_step.html",
            {
                "layout": layout,
                "enrolled": True,
                "new_codes": new_codes,
                "codes_left": StaticToken.objects.filter(device__user=user).count(),
                "required": _required(request),
            },
        )
    hex_key = _setup_key(request)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if _code_is_right(hex_key, form.cleaned_data["code"]):
            codes = _enrol(request, hex_key)
            request.session.pop(SETUP_KEY, None)
            request.session[ENROLLED] = True
            request.session.pop(PENDING, None)
            request.session[NEW_CODES] = codes
            messages.success(request, _("Two-step login is on."))
            return redirect(request.path)
        form.add_error("code", _("This code is not right. Enter the code your app shows now."))
    return render(
        request,
        "practice/two_step.html",
        {
            "layout": layout,
            "enrolled": False,
            "form": form,
            "secret": base32_key(hex_key),
            "qr": _qr_data_uri(_config_url(user, hex_key)),
            "required": _required(request),
        },
    )


@sensitive_post_parameters("code")
@never_cache
def turn_off(request: HttpRequest, *, template_layout: str | None = None) -> HttpResponse:
    """Turning it off asks for a current code (or a recovery code); not when the office requires it."""
    user = request.user
    layout = template_layout or _layout(request)
    enrolled = has_device(user)
    refusal = ""
    if not enrolled:
        refusal = _("Two-step login is not on.")
    elif _required(request):
        refusal = _("Your office requires two-step login: it cannot be turned off.")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not refusal and form.is_valid():
        if match_token(user, form.cleaned_data["code"]) is not None:
            with transaction.atomic():
                TOTPDevice.objects.filter(user=user).delete()
                StaticDevice.objects.filter(user=user).delete()
                audit.record(request, AuditEvent.Event.TWO_STEP_DISABLED)
            request.session[ENROLLED] = False
            messages.success(request, _("Two-step login is off."))
            return redirect(request.path.replace("off/", ""))
        form.add_error("code", _("This code is not right. Enter the code your app shows now."))
    return render(
        request,
        "practice/two_step_off.html",
        {"layout": layout, "form": form, "refusal": refusal},
    )


@sensitive_post_parameters("code")
@never_cache
def new_codes(request: HttpRequest, *, template_layout: str | None = None) -> HttpResponse:
    """New recovery codes (the old ones stop working), after a current code from the app."""
    user = request.user
    layout = template_layout or _layout(request)
    refusal = "" if has_device(user) else _("Two-step login is not on.")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not refusal and form.is_valid():
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None and device.verify_token(form.cleaned_data["code"]):
            request.session[NEW_CODES] = _new_recovery_codes(user)
            messages.success(
                request, _("New recovery codes are ready; the old ones no longer work.")
            )
            return redirect(request.path.replace("codes/", ""))
        form.add_error("code", _("This code is not right. Enter the code your app shows now."))
    return render(
        request,
        "practice/two_step_codes.html",
        {"layout": layout, "form": form, "refusal": refusal},
    )
