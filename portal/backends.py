from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from portal.models import PortalAccount

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class PortalBackend(ModelBackend):
    """Signs a contact in by the address its invitation went to; staff accounts are never candidates.

    One `authenticate(request, portal_email=…, password=…)` per attempt, known address or not, so that
    the login throttle (django-axes) counts every attempt once and alike. One address may have portal
    access at two practices: the password decides which account it is.
    """

    # Its credentials are the portal's (an address), not ModelBackend's username: hence keyword-only.
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        *,
        portal_email: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if portal_email is None or password is None:
            return None
        accounts = (
            PortalAccount.objects.active()
            .select_related("user")
            .filter(user__email__iexact=portal_email)
        )
        for account in accounts:
            user = account.user
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        if not accounts:
            # Hash anyway, so that the answer takes as long for an unknown address as for a wrong one.
            make_password(password)
        return None
