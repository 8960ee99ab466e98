from django import forms
from django.utils.translation import gettext_lazy as _

from practice.forms import PlainTextMixin
from sync.models import LedgerConnection

# Far beyond any OAuth secret or refresh token Twinfield issues; keeps a paste accident out of the row.
SECRET_MAX_LENGTH = 4096


class LedgerConnectionForm(PlainTextMixin, forms.ModelForm):
    """Owners connect the practice to its ledger. Secrets are write-only: left empty, they stay."""

    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False),
    )
    refresh_token = forms.CharField(
        label=_("Refresh token"),
        required=False,
        max_length=SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = LedgerConnection
        fields = ("adapter", "office_code", "client_id", "login_url", "enabled")
        # The model's help text is for developers (a test points it at a fake); an office sees this.
        help_texts = {
            "login_url": _(
                "Twinfield's login address. Change it only if Twinfield gives you another."
            )
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("adapter") == LedgerConnection.Adapter.TWINFIELD:
            for name in ("office_code", "client_id"):
                if not cleaned.get(name):
                    self.add_error(name, _("Twinfield needs this."))
            for name in ("client_secret", "refresh_token"):
                if not cleaned.get(name) and not getattr(self.instance, f"{name}_encrypted"):
                    self.add_error(name, _("Twinfield needs this."))
        return cleaned

    def save(self, commit: bool = True) -> LedgerConnection:
        connection = super().save(commit=False)
        for name in ("client_secret", "refresh_token"):
            if self.cleaned_data.get(name):
                setattr(connection, name, self.cleaned_data[name])
                # A new refresh token invalidates the cached access token and cluster.
                connection.access_token = ""
                connection.access_token_expires_at = None
        if commit:
            connection.save()
        return connection
