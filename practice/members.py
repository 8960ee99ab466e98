"""The office's people: inviting colleagues, accepting, roles, deactivating.

The invitation link is a bearer secret, handled as the portal's (portal/models.py): 256 random bits in
the mail only, its SHA-256 in the database, 14 days, single use; a resend replaces it, a revoke voids
it. Every change locks the practice's membership rows first, so that two owners demoting each other
cannot leave the office without an owner. Each change writes an audit row (practice.audit) that names
the member by reference, never by a value typed about them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from practice import audit, extensions
from practice.http import MemberRequest
from practice.mail import PlainTextMail
from practice.models import AuditEvent, Membership, Practice, StaffInvitation

TOKEN_BYTES = 32
INVITATION_LIFETIME = timedelta(days=14)
Event = AuditEvent.Event


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationUnusable(Exception):
    """The link cannot be used; `status` says why (a StaffInvitation.Status value, or "unknown")."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _lock_members(practice: Practice) -> list[Membership]:
    return list(Membership.objects.select_for_update().filter(practice=practice).order_by("pk"))


def _existing_member(practice: Practice, email: str) -> Membership | None:
    return (
        Membership.objects.filter(practice=practice, user__email__iexact=email)
        .select_related("user")
        .first()
    )


# --- invite, resend, revoke (owner) --------------------------------------------------------------


def _issue(
    request: MemberRequest, *, practice: Practice, email: str, role: str, event: str
) -> StaffInvitation:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    invitation = StaffInvitation.objects.create(
        practice=practice,
        email=email,
        role=role,
        token_hash=hash_token(token),
        created_by=request.user,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    audit.record(request, Event(event), practice=practice, detail=role)
    link = request.build_absolute_uri(reverse("office-join", args=[token]))
    transaction.on_commit(partial(_send_invitation, invitation.pk, link))
    return invitation


@transaction.atomic
def invite(request: MemberRequest, *, practice: Practice, email: str, role: str) -> StaffInvitation:
    email = email.strip().lower()
    _lock_members(practice)
    member = _existing_member(practice, email)
    if member is not None:
        if member.is_active:
            raise ValidationError({"email": _("This address already belongs to a member.")})
        raise ValidationError(
            {"email": _("This address belongs to a deactivated member: reactivate them instead.")}
        )
    if StaffInvitation.objects.open().filter(practice=practice, email=email).exists():
        raise ValidationError(
            {"email": _("This address has already been invited. Resend that invitation instead.")}
        )
    return _issue(request, practice=practice, email=email, role=role, event=Event.MEMBER_INVITED)


@transaction.atomic
def resend(request: MemberRequest, *, invitation: StaffInvitation) -> StaffInvitation:
    """A new link and 14 new days; the previous link stops working. An expired one may be resent."""
    current = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if current.status not in (StaffInvitation.Status.PENDING, StaffInvitation.Status.EXPIRED):
        raise ValidationError(_("This invitation is no longer open; invite the address again."))
    current.superseded_at = timezone.now()
    current.save(update_fields=["superseded_at"])
    return _issue(
        request,
        practice=current.practice,
        email=current.email,
        role=current.role,
        event=Event.INVITATION_RESENT,
    )


@transaction.atomic
def revoke(request: MemberRequest, *, invitation: StaffInvitation) -> None:
    current = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if current.status not in (StaffInvitation.Status.PENDING, StaffInvitation.Status.EXPIRED):
        raise ValidationError(_("This invitation is no longer open."))
    current.revoked_at = timezone.now()
    current.revoked_by = request.user
    current.save(update_fields=["revoked_at", "revoked_by"])
    audit.record(request, Event.INVITATION_REVOKED, practice=current.practice)


def _send_invitation(invitation_id: int, link: str) -> None:
    invitation = StaffInvitation.objects.select_related("practice", "created_by").get(
        pk=invitation_id
    )
    practice = invitation.practice
    with translation.override(practice.default_language):
        context = {
            "practice": practice,
            "link": link,
            "expires_at": invitation.expires_at,
            "inviter": invitation.created_by,
            "role": invitation.get_role_display(),
        }
        subject = _("You are invited to join %(practice)s in Kring") % {"practice": practice}
        body = render_to_string("practice/email/invitation.txt", context)
    PlainTextMail(" ".join(subject.split()), body, to=[invitation.email]).send()


# --- accepting (the colleague) -------------------------------------------------------------------


def check_invitation(token: str) -> StaffInvitation:
    invitation = (
        StaffInvitation.objects.select_related("practice")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    if invitation.status != StaffInvitation.Status.PENDING:
        raise InvitationUnusable(invitation.status)
    return invitation


def existing_account(invitation: StaffInvitation) -> User | None:
    """A staff account that already has the invited address (a colleague from another office)."""
    return (
        get_user_model()
        .objects.filter(email__iexact=invitation.email, memberships__isnull=False)
        .distinct()
        .first()
    )


def new_user(invitation: StaffInvitation, *, first_name: str = "", last_name: str = ""):
    """The (unsaved) account an acceptance creates; its username is the invited address."""
    return get_user_model()(
        username=invitation.email,
        email=invitation.email,
        first_name=first_name,
        last_name=last_name,
    )


def _join(request: HttpRequest, invitation: StaffInvitation, user) -> Membership:
    _lock_members(invitation.practice)
    if Membership.objects.filter(practice=invitation.practice, user=user).exists():
        raise ValidationError(
            _("You are already a member of %(practice)s.") % {"practice": invitation.practice}
        )
    membership = Membership.objects.create(
        user=user, practice=invitation.practice, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        request,
        Event.MEMBER_JOINED,
        user=user,
        practice=invitation.practice,
        subject=user,
        detail=invitation.role,
    )
    return membership


def _relock(token: str) -> StaffInvitation:
    invitation = (
        StaffInvitation.objects.select_for_update()
        .select_related("practice")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    if invitation.status != StaffInvitation.Status.PENDING:
        raise InvitationUnusable(invitation.status)
    return invitation


@transaction.atomic
def accept(
    request: HttpRequest, *, token: str, first_name: str, last_name: str, password: str
) -> User:
    """Use the link once: a new account with the chosen name and password, member in the role."""
    invitation = _relock(token)
    if existing_account(invitation) is not None:
        raise ValidationError(_("This address already has an account: sign in to accept."))
    User = get_user_model()
    if User.objects.filter(username__iexact=invitation.email).exists():
        raise ValidationError(_("This address already has an account: sign in to accept."))
    user = new_user(invitation, first_name=first_name, last_name=last_name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    _join(request, invitation, user)
    return user


@transaction.atomic
def accept_as(request: HttpRequest, *, token: str, user) -> Membership:
    """A signed-in colleague (with the invited address) joins one more office."""
    invitation = _relock(token)
    if (user.email or "").lower() != invitation.email:
        raise ValidationError(_("This invitation was sent to another address."))
    return _join(request, invitation, user)


# --- roles and deactivation (owner) --------------------------------------------------------------


def _refuse_without_an_owner(members: list[Membership], changed: Membership) -> None:
    owners = [m for m in members if m.is_owner and m.is_active and m.pk != changed.pk]
    if not owners:
        raise ValidationError(
            _("The office keeps at least one active owner: make someone else owner first.")
        )


@transaction.atomic
def change_role(request: MemberRequest, *, membership: Membership, role: str) -> Membership:
    members = _lock_members(membership.practice)
    current = next(m for m in members if m.pk == membership.pk)
    if not current.is_active:
        raise ValidationError(_("Reactivate this member before changing their role."))
    if current.role == role:
        return current
    if current.is_owner and role != Membership.Role.OWNER:
        _refuse_without_an_owner(members, current)
    old = current.role
    current.role = role
    current.save(update_fields=["role"])
    audit.record(
        request,
        Event.ROLE_CHANGED,
        practice=current.practice,
        subject=current.user,
        detail=f"{old}>{role}",
    )
    return current


def _sync_login(user) -> None:
    """An account that is no longer an active member anywhere (nor a portal user) cannot log in."""
    active = Membership.objects.active().filter(user=user).exists()
    portal = hasattr(user, "portal_account")
    should = active or portal or user.is_superuser
    if user.is_active != should:
        user.is_active = should
        user.save(update_fields=["is_active"])


@transaction.atomic
def deactivate(request: MemberRequest, *, membership: Membership) -> Membership:
    """Never a delete: the member stays on history, timeline and audit, and can no longer work here."""
    members = _lock_members(membership.practice)
    current = next(m for m in members if m.pk == membership.pk)
    if not current.is_active:
        raise ValidationError(_("This member has already been deactivated."))
    if current.is_owner:
        _refuse_without_an_owner(members, current)
    current.deactivated_at = timezone.now()
    current.deactivated_by = request.user
    current.save(update_fields=["deactivated_at", "deactivated_by"])
    extensions.member_deactivated(current)
    _sync_login(current.user)
    audit.record(request, Event.MEMBER_DEACTIVATED, practice=current.practice, subject=current.user)
    return current


@transaction.atomic
def reactivate(request: MemberRequest, *, membership: Membership) -> Membership:
    members = _lock_members(membership.practice)
    current = next(m for m in members if m.pk == membership.pk)
    if current.is_active:
        raise ValidationError(_("This member is active."))
    current.deactivated_at = None
    current.deactivated_by = None
    current.save(update_fields=["deactivated_at", "deactivated_by"])
    _sync_login(current.user)
    audit.record(request, Event.MEMBER_REACTIVATED, practice=current.practice, subject=current.user)
    return current


@transaction.atomic
def set_two_step_required(request: MemberRequest, *, practice: Practice, required: bool) -> None:
    locked = Practice.objects.select_for_update().get(pk=practice.pk)
    if locked.require_two_step == required:
        return
    locked.require_two_step = required
    locked.save(update_fields=["require_two_step"])
    practice.require_two_step = required
    audit.record(
        request,
        Event.TWO_STEP_REQUIRED if required else Event.TWO_STEP_OPTIONAL,
        practice=practice,
    )
