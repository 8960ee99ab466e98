"""The contact's own account: a password reset by e-mail, and two-step login if they want it.

The same views as the office's (practice.accounts, practice.two_step), in the portal's frame, finding
only portal accounts with access (a staff account with the same address is never sent a portal link).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from portal import services
from portal.models import PortalAccount
from practice import accounts, two_step

LAYOUT = "portal/layout.html"


class PortalResetForm(accounts.ThrottledResetForm):
    def accounts(self, email: str) -> Iterable[Any]:
        active = PortalAccount.objects.active().values("user_id")
        return get_user_model().objects.filter(email__iexact=email, pk__in=active)


class PortalPasswordResetView(accounts.PasswordResetView):
    form_class = PortalResetForm  # type: ignore[assignment]  # the portal's own kind of account
    success_url = reverse_lazy("portal-password-reset-done")
    confirm_url_name = "portal-password-reset-confirm"
    extra_context = {"layout": LAYOUT}


class PortalPasswordResetConfirmView(accounts.PasswordResetConfirmView):
    success_url = reverse_lazy("portal-password-reset-complete")
    extra_context = {"layout": LAYOUT}


password_reset = PortalPasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html", extra_context={"layout": LAYOUT}
)
password_reset_confirm = PortalPasswordResetConfirmView.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html",
    extra_context={"layout": LAYOUT, "login_url": reverse_lazy("portal-login")},
)


def _portal_only(view):
    """A portal user with access; anyone else (staff too) gets 404, as on the portal's home."""

    @login_required(login_url="portal-login")
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        account = services.active_account(request.user)
        if account is None:
            raise Http404("No active portal account.")
        request.portal_account = account  # type: ignore[attr-defined]
        return view(request, *args, template_layout=LAYOUT, **kwargs)

    return wrapper


two_step_setup = require_http_methods(["GET", "POST"])(_portal_only(two_step.setup))
two_step_off = require_http_methods(["GET", "POST"])(_portal_only(two_step.turn_off))
two_step_codes = require_http_methods(["GET", "POST"])(_portal_only(two_step.new_codes))
