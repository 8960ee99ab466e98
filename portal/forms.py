from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from portal import services
from practice.forms import PlainTextMixin


class AcceptInvitationForm(PlainTextMixin, SetPasswordForm):
    """Choose a password, checked by the project's AUTH_PASSWORD_VALIDATORS; saving is the service's."""

    verbatim_fields = ("new_password1", "new_password2")

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].label = _("Password")
        self.fields["new_password2"].label = _("Password again")
        for field in self.fields.values():
            field.widget.attrs["autocomplete"] = "new-password"

    def save(self, commit: bool = True) -> User:
        raise NotImplementedError("portal.services.accept() sets the password.")


class PortalLoginForm(PlainTextMixin, forms.Form):
    verbatim_fields = ("password",)

    email = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user: User | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        self.user = services.authenticate_portal_user(
            self.request, email=data["email"], password=data["password"]
        )
        if self.user is None:
            raise forms.ValidationError(
                _(
                    "This e-mail address and password do not match a portal account. "
                    "Check both, or ask the office for a new invitation."
                )
            )
        return data
