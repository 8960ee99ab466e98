from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
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

    def default_for(self, user) -> Membership | None:
        """The practice a session starts in: the user's first by name."""
        return self.for_user(user).order_by("practice__name", "pk").first()


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


class AuditEvent(models.Model):
    """One security-relevant event: a sign-in, a sign-out, a refused sign-in or a refused request.

    Written by practice.audit only. It holds who and where, never what was typed: no password, no form
    data, no query string (searches hold names), and a username that is a valid BSN is masked.
    """

    class Event(models.TextChoices):
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        LOGIN_FAILED = "login_failed", _("Login failed")
        # Written when too many failures lock a username and IP out, and for each attempt refused
        # during the cool-off.
        LOCKED_OUT = "locked_out", _("Locked out")
        PERMISSION_DENIED = "permission_denied", _("Permission denied")
        # Another practice's object asked for by id: the user saw a 404, the audit knows better.
        OTHER_PRACTICE = "other_practice", _("Other practice's object")

    at = models.DateTimeField(_("time"), default=timezone.now)
    event = models.CharField(_("event"), max_length=32, choices=Event.choices)
    username = models.CharField(_("username attempted"), max_length=150, blank=True)
    # Kept when an account is removed: the username above still says who it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    practice = models.ForeignKey(
        Practice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("practice"),
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            # The admin's changelist: newest first, filtered by event.
            models.Index(fields=["-at"], name="practice_auditevent_at_idx"),
            models.Index(fields=["event", "-at"], name="practice_auditevent_event_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} · {self.username or '-'} · {self.at:%Y-%m-%d %H:%M:%S}"
