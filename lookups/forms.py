from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from lookups import links
from lookups.models import LookupSettings, OfficeLink, RelationLink
from practice.forms import PlainTextMixin


class LookupSettingsForm(PlainTextMixin, forms.ModelForm):
    verbatim_fields = ("kvk_api_key",)
    kvk_api_key = forms.CharField(
        label=_("KvK API key"),
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("With a key, the company form can fetch from the KvK. Leave empty to keep it."),
    )

    class Meta:
        model = LookupSettings
        fields = ("address_provider", "address_url", "vat_provider", "vat_url", "kvk_url")

    def save(self, commit: bool = True) -> LookupSettings:
        settings = super().save(commit=False)
        if self.cleaned_data.get("kvk_api_key"):
            settings.kvk_api_key = self.cleaned_data["kvk_api_key"]
        if commit:
            settings.save()
        return settings


class OfficeLinkForm(PlainTextMixin, forms.ModelForm):
    class Meta:
        model = OfficeLink
        fields = ("name", "url_template", "audience", "on_by_default")
        help_texts = {
            "url_template": _(
                "https:, mailto: or tel:; placeholders {client_code}, {kvk}, {btw} and "
                "{office_code}. A link whose placeholder has no value is not shown."
            )
        }

    def clean_url_template(self) -> str:
        template = self.cleaned_data["url_template"].strip()
        links.check_template(template)
        return template


class RelationLinkForm(PlainTextMixin, forms.ModelForm):
    class Meta:
        model = RelationLink
        fields = ("enabled", "url_template")

    def clean_url_template(self) -> str:
        template = self.cleaned_data["url_template"].strip()
        if template:
            links.check_template(template)
        return template
