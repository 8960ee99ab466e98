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
    require_two_step = models.BooleanField(
        _("two-step login required"),
        default=False,
        help_text=_("Every member must sign in with a code from an authenticator app as well."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("practice")
        verbose_name_plural = _("practices")

    def __str__(self) -> str:
        return self.name


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        """Members who may work in the practice; a deactivated one stays only for the history."""
        return self.filter(deactivated_at__isnull=True)

    def for_user(self, user) -> MembershipQuerySet:
        """The practices the user may work in now (deactivated memberships are not among them)."""
        return self.active().filter(user=user).select_related("practice")

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
    # Never deleted: history, timeline and audit keep pointing at the user. A deactivated member is
    # no longer offered anywhere and cannot work in the practice (practice.members.deactivate).
    deactivated_at = models.DateTimeField(_("deactivated at"), null=True, blank=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deactivated by"),
    )

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

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


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
        # The office's people (practice.members): `subject` is the member it is about.
        MEMBER_INVITED = "member_invited", _("Colleague invited")
        INVITATION_RESENT = "member_invitation_resent", _("Colleague invitation resent")
        INVITATION_REVOKED = "member_invitation_revoked", _("Colleague invitation withdrawn")
        MEMBER_JOINED = "member_joined", _("Colleague joined")
        ROLE_CHANGED = "member_role_changed", _("Role changed")
        MEMBER_DEACTIVATED = "member_deactivated", _("Member deactivated")
        MEMBER_REACTIVATED = "member_reactivated", _("Member reactivated")
        TWO_STEP_REQUIRED = "two_step_required", _("Two-step login required for the office")
        TWO_STEP_OPTIONAL = "two_step_optional", _("Two-step login made optional")
        # One's own account (practice.accounts).
        TWO_STEP_ENABLED = "two_step_enabled", _("Two-step login turned on")
        TWO_STEP_DISABLED = "two_step_disabled", _("Two-step login turned off")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset by e-mail")

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
    # Who an office event is about (the member whose role changed…); never their data as text.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("about"),
    )
    # Codes only (a role such as "read_only"), never a personal value.
    detail = models.CharField(_("detail"), max_length=64, blank=True)

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


class StaffInvitationQuerySet(models.QuerySet["StaffInvitation"]):
    def open(self) -> StaffInvitationQuerySet:
        """Neither accepted, revoked nor replaced by a resend; an open invitation may have expired."""
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, superseded_at__isnull=True
        )


class StaffInvitation(models.Model):
    """A colleague asked to join the practice. As with the portal's invitations, the link is a bearer
    secret of 256 random bits: only its SHA-256 is stored (practice.members.hash_token)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        EXPIRED = "expired", _("Expired")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Withdrawn")
        SUPERSEDED = "superseded", _("Replaced by a newer invitation")

    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    email = models.EmailField(_("e-mail address"))  # stored folded to lower case
    role = models.CharField(_("role"), max_length=16, choices=Membership.Role.choices)
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
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("accepted by"),
    )
    revoked_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withdrawn by"),
    )
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    objects = StaffInvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("colleague invitation")
        verbose_name_plural = _("colleague invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="practice_staffinv_token_unique"),
            # One open link per address and practice: a resend replaces it.
            models.UniqueConstraint(
                fields=["practice", "email"],
                condition=models.Q(
                    accepted_at__isnull=True, revoked_at__isnull=True, superseded_at__isnull=True
                ),
                name="practice_staffinv_one_open_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")),
                name="practice_staffinv_expires_after_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"

    def status_at(self, now) -> str:
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


class AccountSettings(models.Model):
    """What a person chooses for their own account (Mijn account): for now, the language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="account_settings",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("account settings")
        verbose_name_plural = _("account settings")

    def __str__(self) -> str:
        return str(self.user)
