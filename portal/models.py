"""Invitations to the client portal and the accounts they open.

The link in an invitation is a bearer secret: only its SHA-256 is stored, so a copy of the database (a
backup, a support dump) cannot be used to sign in as a contact. A 256-bit random token needs no salt or
slow hash: nobody can guess one, so there is nothing to brute-force from the hash.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation

TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits
INVITATION_LIFETIME = timedelta(days=14)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        """Neither accepted, revoked nor replaced by a resend; an open invitation may have expired."""
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, superseded_at__isnull=True
        )


class Invitation(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        EXPIRED = "expired", _("Expired")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")
        SUPERSEDED = "superseded", _("Replaced by a newer invitation")

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    relation = models.ForeignKey(
        Relation,
        on_delete=models.PROTECT,
        related_name="portal_invitations",
        verbose_name=_("contact"),
    )
    # The address the link went to: if the contact's address changes, this link no longer opens.
    email = models.EmailField(_("sent to"))
    token_hash = models.CharField(_("token hash"), max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("portal invitation")
        verbose_name_plural = _("portal invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Accepting looks the invitation up by this hash.
            models.UniqueConstraint(fields=["token_hash"], name="portal_invitation_token_unique"),
            # Two open links for one contact would let a voided (resent) one live on.
            models.UniqueConstraint(
                fields=["relation"],
                condition=Q(
                    accepted_at__isnull=True, revoked_at__isnull=True, superseded_at__isnull=True
                ),
                name="portal_invitation_one_open_per_relation",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="portal_invitation_expires_after_sent",
            ),
            # An invitation ends one way only: accepted, revoked or replaced.
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True)
                | Q(accepted_at__isnull=True, superseded_at__isnull=True)
                | Q(revoked_at__isnull=True, superseded_at__isnull=True),
                name="portal_invitation_single_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relation} ({self.get_status_display()})"

    def status_at(self, now: datetime) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        if self.revoked_at:
            return self.Status.REVOKED
        if self.superseded_at:
            return self.Status.SUPERSEDED
        if self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status(self) -> str:
        return self.status_at(timezone.now())

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)


class PortalAccountQuerySet(models.QuerySet["PortalAccount"]):
    def active(self) -> PortalAccountQuerySet:
        """Accounts that may use the portal: not revoked, and the contact not archived."""
        return self.filter(revoked_at__isnull=True, relation__archived_at__isnull=True)


class PortalAccount(models.Model):
    """A contact's own login to the portal: always a user created for it, never a staff user."""

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    relation = models.OneToOneField(
        Relation,
        on_delete=models.PROTECT,
        related_name="portal_account",
        verbose_name=_("contact"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="portal_account",
        verbose_name=_("user"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = PortalAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("portal account")
        verbose_name_plural = _("portal accounts")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return str(self.relation)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.relation.is_archived
