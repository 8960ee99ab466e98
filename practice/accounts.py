"""One's own account: Mijn account (name, e-mail, language, password) and the password reset by mail.

The reset uses Django's views and token generator. Its answer is the same page whether the address
belongs to an account or not, and whether the mail was sent or held back by the throttle (a few mails
per address and per client address an hour, counted in the cache), so it tells nobody which addresses
have an account. Staff reset here; portal users on the portal's own pages (portal.accounts), each
finding only their own kind of account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from practice import audit, two_step
from practice.access import member_required
from practice.forms import PlainTextMixin
from practice.http import MemberRequest
from practice.models import AccountSettings, AuditEvent, Membership

LANGUAGE_APPLIED = "account_language"


# --- the language chosen under Mijn account ------------------------------------------------------


def preferred_language(user) -> str:
    try:
        return user.account_settings.language
    except AccountSettings.DoesNotExist:
        return ""


def on_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Remember the account's language for the session's first response (no query per request)."""
    if request is not None and hasattr(request, "session"):
        language = preferred_language(user)
        if language:
            request.session[LANGUAGE_APPLIED] = language


def connect_signals() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="kring-account-language")


class AccountLanguageMiddleware:
    """Applies the account's language once, on the first request after login, and sets the cookie.

    From then on the language cookie rules, so the menu's choice still works for the session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = ""
        session = getattr(request, "session", None)
        if session is not None and LANGUAGE_APPLIED in session:
            language = session.pop(LANGUAGE_APPLIED)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language:
            _set_language_cookie(response, language)
        return response


def _set_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,  # type: ignore[arg-type]  # 'Lax' in settings
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )


# --- Mijn account --------------------------------------------------------------------------------


class AccountForm(PlainTextMixin, forms.Form):
    verbatim_fields = ("current_password",)

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail address"))
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("As the office")), *settings.LANGUAGES],
        required=False,
    )
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        required=False,
        help_text=_("Only needed to change your e-mail address."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, user, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email.lower() == (self.user.email or "").lower():
            return email
        User = get_user_model()
        taken = (
            User.objects.filter(email__iexact=email, memberships__isnull=False)
            .exclude(pk=self.user.pk)
            .exists()
        )
        if taken:
            raise forms.ValidationError(_("Another account already has this e-mail address."))
        return email

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        email = data.get("email")
        changed = email and email.lower() != (self.user.email or "").lower()
        if changed and not self.user.check_password(data.get("current_password") or ""):
            self.add_error(
                "current_password",
                _("Enter your current password to change your e-mail address."),
            )
        return data


@require_http_methods(["GET", "POST"])
@member_required
def account(request: MemberRequest) -> HttpResponse:
    user = request.user
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "language": preferred_language(user),
    }
    form = AccountForm(user, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user.first_name, user.last_name, user.email = (
            data["first_name"],
            data["last_name"],
            data["email"],
        )
        user.save(update_fields=["first_name", "last_name", "email"])
        AccountSettings.objects.update_or_create(user=user, defaults={"language": data["language"]})
        response = redirect("account")
        if data["language"]:
            translation.activate(data["language"])
            _set_language_cookie(response, data["language"])
        messages.success(request, _("Your account has been saved."))
        return response
    return render(
        request,
        "practice/account.html",
        {"form": form, "two_step_on": two_step.has_device(user)},
    )


class KringPasswordChangeForm(PlainTextMixin, PasswordChangeForm):
    verbatim_fields = ("old_password", "new_password1", "new_password2")


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = KringPasswordChangeForm
    template_name = "practice/password_change.html"
    success_url = reverse_lazy("account")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(self.request, AuditEvent.Event.PASSWORD_CHANGED)
        messages.success(self.request, _("Your password has been changed."))
        return response


password_change = require_http_methods(["GET", "POST"])(
    member_required(PasswordChangeView.as_view())
)
account_two_step = require_http_methods(["GET", "POST"])(member_required(two_step.setup))
account_two_step_off = require_http_methods(["GET", "POST"])(member_required(two_step.turn_off))
account_two_step_codes = require_http_methods(["GET", "POST"])(member_required(two_step.new_codes))


# --- the password reset by e-mail ----------------------------------------------------------------


def _throttled(request: HttpRequest, email: str) -> bool:
    """True when this address or this client has asked for enough reset mails for an hour."""
    keys = [
        (f"pwreset:addr:{email.casefold()}", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS),
        (f"pwreset:ip:{audit.client_ip(request) or '-'}", settings.PASSWORD_RESET_LIMIT_PER_IP),
    ]
    over = False
    for key, limit in keys:
        cache.add(key, 0, timeout=60 * 60)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=60 * 60)
            count = 1
        over = over or count > limit
    return over


class ThrottledResetForm(PlainTextMixin, PasswordResetForm):
    """Django's reset form, finding only `accounts(email)`, and holding back mails over the limit."""

    request: HttpRequest | None = None

    def accounts(self, email: str) -> Iterable[Any]:
        raise NotImplementedError

    def get_users(self, email: str) -> Iterable[Any]:
        if self.request is not None and _throttled(self.request, email):
            return []
        return [u for u in self.accounts(email) if u.has_usable_password() and u.is_active]

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # The mail in the account's own language; the link in the user's portal or office.
        user = context["user"]
        language = preferred_language(user) or translation.get_language()
        with translation.override(language):
            super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


class StaffResetForm(ThrottledResetForm):
    def accounts(self, email: str) -> Iterable[Any]:
        active = Membership.objects.active().values("user_id")
        return get_user_model().objects.filter(email__iexact=email, pk__in=active)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = StaffResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")
    extra_context = {"layout": "base.html"}

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form

    def form_valid(self, form):
        # Django's view sends to every address it finds; the page after is always the same.
        form.save(
            domain_override=None,
            use_https=self.request.is_secure(),
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            request=self.request,
            html_email_template_name=None,
            extra_email_context={"confirm_url_name": self.confirm_url_name},
        )
        return redirect(self.get_success_url())

    confirm_url_name = "password-reset-confirm"


class KringSetPasswordForm(PlainTextMixin, SetPasswordForm):
    verbatim_fields = ("new_password1", "new_password2")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = KringSetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")
    extra_context = {"layout": "base.html"}

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(self.request, AuditEvent.Event.PASSWORD_RESET, user=form.user)
        return response


password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html", extra_context={"layout": "base.html"}
)
password_reset_confirm = PasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html",
    extra_context={"layout": "base.html", "login_url": reverse_lazy("login")},
)
