"""What an office has configured for the public registers, and what the registers answered."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from lookups import crypto
from practice.models import Practice


class LookupSettings(models.Model):
    """One office's providers. No row, or an empty provider: that look-up is off, and its buttons
    are absent (the demo and `make run` need nothing outside)."""

    class AddressProvider(models.TextChoices):
        OFF = "", _("Off")
        PDOK = "pdok", _("PDOK Locatieserver")

    class VatProvider(models.TextChoices):
        OFF = "", _("Off")
        VIES = "vies", _("VIES (European Commission)")

    practice = models.OneToOneField(
        Practice, on_delete=models.CASCADE, related_name="lookup_settings"
    )
    address_provider = models.CharField(
        _("address look-up"), max_length=8, choices=AddressProvider.choices, blank=True, default=""
    )
    address_url = models.URLField(
        _("address service URL"), blank=True, default="", help_text=_("Empty: the provider's own.")
    )
    vat_provider = models.CharField(
        _("VAT number check"), max_length=8, choices=VatProvider.choices, blank=True, default=""
    )
    vat_url = models.URLField(
        _("VAT service URL"), blank=True, default="", help_text=_("Empty: the provider's own.")
    )
    kvk_url = models.URLField(
        _("KvK API URL"), blank=True, default="", help_text=_("Empty: the provider's own.")
    )
    # The KvK API key (the look-up is on when one is set); stored encrypted, as the ledger's are.
    kvk_api_key_encrypted = models.TextField(blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("look-up settings")
        verbose_name_plural = _("look-up settings")

    def __str__(self) -> str:
        return str(self.practice)

    @property
    def kvk_api_key(self) -> str:
        return crypto.decrypt(self.kvk_api_key_encrypted)

    @kvk_api_key.setter
    def kvk_api_key(self, value: str) -> None:
        self.kvk_api_key_encrypted = crypto.encrypt(value)


class LookupResult(models.Model):
    """A register's answer to one question of one office, with its date: the cache of look-ups
    and the record of a VAT check."""

    class Kind(models.TextChoices):
        ADDRESS = "address", _("Address")
        VAT = "vat", _("VAT number")
        KVK = "kvk", _("KvK number")

    class Status(models.TextChoices):
        FOUND = "found", _("Found")
        NOT_FOUND = "not_found", _("Not found")
        UNAVAILABLE = "unavailable", _("Not available")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=64)  # the question, normalised: "1015CJ|123|A", "NL…B01"
    provider = models.CharField(max_length=8)
    status = models.CharField(max_length=12, choices=Status.choices)
    data = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "kind", "key"], name="lookups_result_one_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: {self.status}"


class OfficeLink(models.Model):
    """A link the office defines once (Kantoor → Koppelingen), filled in per relation from
    allow-listed placeholders (lookups.links): "Open in the tax portal", "Uw administratie"."""

    class Audience(models.TextChoices):
        STAFF = "staff", _("Staff")
        CLIENT = "client", _("Client")
        BOTH = "both", _("Staff and client")

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    url_template = models.CharField(_("URL template"), max_length=500)
    audience = models.CharField(
        _("audience"), max_length=8, choices=Audience.choices, default=Audience.STAFF
    )
    on_by_default = models.BooleanField(_("on for every relation"), default=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("link")
        verbose_name_plural = _("links")

    def __str__(self) -> str:
        return self.name


class RelationLink(models.Model):
    """One relation's choice about an office link: off (or on, when it is off by default), or
    another URL template."""

    link = models.ForeignKey(OfficeLink, on_delete=models.CASCADE, related_name="overrides")
    relation = models.ForeignKey("relations.Relation", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(_("shown"), default=True)
    url_template = models.CharField(_("other URL"), max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["link", "relation"], name="lookups_one_override")
        ]

    def __str__(self) -> str:
        return f"{self.link} for {self.relation_id}"
