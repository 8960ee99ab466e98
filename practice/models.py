from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Practice(models.Model):
    """The accounting office: the tenant every domain row belongs to."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    client_code_next = models.PositiveIntegerField(
        _("next client code"),
        default=1000,
        help_text=_(
            "The next number handed out as a client code; codes already in use are skipped."
        ),
    )
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="nl"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("practice")
        verbose_name_plural = _("practices")

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_user(self, user) -> MembershipQuerySet:
        return self.filter(user=user).select_related("practice")


class Membership(models.Model):
    """A user working in a practice, with the role that decides what they may change."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        STAFF = "staff", _("Staff")
        READ_ONLY = "read_only", _("Read-only")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("practice")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["practice__name"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "practice"], name="practice_membership_user_practice_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.practice} ({self.get_role_display()})"

    @property
    def can_change(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.STAFF)

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER
