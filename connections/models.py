"""How two relations hang together: one row per pair and type, read in the right words from either side.

A row stores the pair ordered by id (`a` < `b`) so that "Jan ↔ Bakkerij" and "Bakkerij ↔ Jan" cannot both
exist, and `a_is_subject` says which of the two the forward label ("director of") is about; the other
side reads the reverse label ("has director").
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def involving(self, relation: Relation) -> ConnectionQuerySet:
        """The connections on either side of `relation`: what its Connections tab shows."""
        return self.filter(Q(a=relation) | Q(b=relation))

    def active(self, on: date | None = None) -> ConnectionQuerySet:
        """Not ended: the end date is the first day without the connection (ending today ends it)."""
        on = on or timezone.localdate()
        return self.filter(Q(end_date__isnull=True) | Q(end_date__gt=on))

    def ended(self, on: date | None = None) -> ConnectionQuerySet:
        on = on or timezone.localdate()
        return self.filter(end_date__lte=on)


class Connection(models.Model):
    class Type(models.TextChoices):
        CONTACT_PERSON = "contact_person", _("Contact person")
        DIRECTOR = "director", _("Director")
        FISCAL_PARTNER = "fiscal_partner", _("Fiscal partner")
        SHAREHOLDER = "shareholder", _("Shareholder")
        PARENT_COMPANY = "parent_company", _("Parent company")
        OTHER = "other", _("Other")

    # (forward, reverse): "<subject> <forward> <object>" and "<object> <reverse> <subject>".
    LABELS: dict[str, tuple[Promise, Promise]] = {
        Type.CONTACT_PERSON: (_("contact person at"), _("has contact person")),
        Type.DIRECTOR: (_("director of"), _("has director")),
        Type.FISCAL_PARTNER: (_("fiscal partner of"), _("fiscal partner of")),
        Type.SHAREHOLDER: (_("shareholder of"), _("has shareholder")),
        Type.PARENT_COMPANY: (_("parent company of"), _("subsidiary of")),
        Type.OTHER: (_("connected to"), _("connected to")),
    }
    # Read the same both ways: the direction carries no meaning and is stored as a_is_subject=True.
    SYMMETRIC = frozenset({Type.FISCAL_PARTNER, Type.OTHER})

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    # No index of its own: the unique (a, b, type) index leads with `a`.
    a = models.ForeignKey(
        Relation,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("relation (lower id)"),
    )
    b = models.ForeignKey(
        Relation,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("relation (higher id)"),
    )
    type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    a_is_subject = models.BooleanField(
        _("forward label reads from a"),
        default=True,
        help_text=_("Whether the first relation is the one the forward label is about."),
    )
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True, default="")
    # Whether the contact on this connection may see the client's threads and shared documents in
    # the portal (collab.visibility): off until the office switches it on, per connection.
    portal_access = models.BooleanField(
        _("portal access for this client"),
        default=False,
        help_text=_("The contact sees this client's messages and shared documents in the portal."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(a__lt=F("b")), name="connections_connection_ordered"
            ),
            models.UniqueConstraint(
                fields=["a", "b", "type"], name="connections_connection_unique_pair_type"
            ),
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "contact_person",
                        "director",
                        "fiscal_partner",
                        "shareholder",
                        "parent_company",
                        "other",
                    ]
                ),
                name="connections_connection_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(type="other") | ~Q(description=""),
                name="connections_connection_other_described",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="connections_connection_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.describe_for(self.subject)

    # --- reading one row from either side ---------------------------------------------------------

    @property
    def subject(self) -> Relation:
        return self.a if self.a_is_subject else self.b

    def involves(self, relation: Relation) -> bool:
        return relation.pk in (self.a_id, self.b_id)

    def other(self, relation: Relation) -> Relation:
        """The relation at the far end as seen from `relation` (one of the two)."""
        if relation.pk == self.a_id:
            return self.b
        if relation.pk == self.b_id:
            return self.a
        raise ValueError("This connection does not involve that relation.")

    def label_for(self, relation: Relation) -> Promise:
        """The wording from `relation`'s side: "director of" for the director, else "has director"."""
        if not self.involves(relation):
            raise ValueError("This connection does not involve that relation.")
        forward, reverse = self.LABELS[self.type]
        is_subject = (relation.pk == self.a_id) == self.a_is_subject
        return forward if is_subject else reverse

    def describe_for(self, relation: Relation) -> str:
        """'Jan de Vries — director of Bakkerij B.V.' on Jan's side."""
        return gettext("%(relation)s — %(label)s %(other)s") % {
            "relation": relation,
            "label": self.label_for(relation),
            "other": self.other(relation),
        }

    @property
    def is_active(self) -> bool:
        return self.end_date is None or self.end_date > timezone.localdate()

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.type == self.Type.OTHER and not self.description.strip():
            errors["description"] = gettext("Describe how the two are connected.")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            errors["end_date"] = gettext("The end date cannot be before the start date.")
        if errors:
            raise ValidationError(errors)
