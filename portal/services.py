"""Inviting contacts to the portal, and what follows: resend, revoke, accept, sign in.

Every change locks the relation row first (then its invitations), so that an invite, a resend, an
accept and an archive of the same contact run one after another; each writes its timeline event and
keeps `Relation.portal_state` / `portal_invited_until` (what the list shows) right in the same
transaction. The token itself only ever lives in the e-mail: it is never stored, returned or logged.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from functools import partial
from typing import cast

from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connections.models import Connection
from connections.services import set_portal_access
from portal.models import (
    INVITATION_LIFETIME,
    TOKEN_BYTES,
    Invitation,
    PortalAccount,
    hash_token,
)
from practice.mail import PlainTextMail
from relations.models import PortalState, Relation, TimelineEvent

logger = logging.getLogger(__name__)
Event = TimelineEvent.Kind


class InvitationUnusable(Exception):
    """The link cannot be used; `status` says why (an Invitation.Status value, or "unknown")."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


# --- state ---------------------------------------------------------------------------------------


def _lock(relation: Relation) -> Relation:
    return Relation.objects.select_for_update().get(pk=relation.pk)


def _sync_state(relation: Relation) -> None:
    """Derive the list's portal columns from the invitations and the account (the truth)."""
    until = None
    if PortalAccount.objects.filter(relation=relation, revoked_at__isnull=True).exists():
        state = PortalState.ACCEPTED
    elif (current := Invitation.objects.open().filter(relation=relation).first()) is not None:
        state, until = PortalState.PENDING, current.expires_at
    elif Invitation.objects.filter(relation=relation).exists():
        state = PortalState.REVOKED
    else:
        state = PortalState.NONE
    # No version bump: the portal columns are not part of the edit form's optimistic lock.
    Relation.objects.filter(pk=relation.pk).update(portal_state=state, portal_invited_until=until)
    relation.portal_state, relation.portal_invited_until = state, until


def _refuse_unless_invitable(relation: Relation) -> None:
    name = {"name": relation}
    if relation.kind != Relation.Kind.CONTACT:
        raise ValidationError(
            _("Only contacts can be invited to the portal; %(name)s is a client.") % name
        )
    if relation.is_archived:
        raise ValidationError(
            _("%(name)s is archived; restore it before inviting it to the portal.") % name
        )
    if not relation.email:
        raise ValidationError(
            _("%(name)s has no e-mail address. Add one first: the invitation is sent there.") % name
        )


# --- invite, resend, revoke (staff) --------------------------------------------------------------


def _issue(*, relation: Relation, user: User, base_url: str) -> Invitation:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    invitation = Invitation.objects.create(
        practice_id=relation.practice_id,
        relation=relation,
        email=relation.email,
        token_hash=hash_token(token),
        created_by=user,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    TimelineEvent.record(relation, Event.INVITATION_SENT, actor=user)
    _sync_state(relation)
    link = base_url.rstrip("/") + reverse("portal-accept", args=[token])
    # Only once the invitation is committed: a rolled-back invite must not leave a live-looking mail.
    transaction.on_commit(partial(_send_invitation, invitation.pk, link))
    return invitation


def client_connections(relation: Relation) -> list[Connection]:
    """The contact's current connections to active clients: where portal access can be switched on."""
    rows = []
    for connection in (
        Connection.objects.involving(relation).active().select_related("a", "b").order_by("pk")
    ):
        other = connection.other(relation)
        if other.is_client and not other.is_archived:
            rows.append(connection)
    return rows


def _grant(relation: Relation, connection_ids: Iterable[int], user: User) -> None:
    """Switch on "portal access for this client" on those of the contact's client connections."""
    wanted = {int(pk) for pk in connection_ids}
    for connection in client_connections(relation):
        if connection.pk in wanted:
            set_portal_access(connection=connection, user=user, on=True)


@transaction.atomic
def invite(
    *, relation: Relation, user: User, base_url: str, grant: Iterable[int] = ()
) -> Invitation:
    """Send a contact a single-use link to set a password for the portal (14 days valid).

    `base_url` is the scheme and host the link starts with, e.g. `https://kring.example.nl`.
    `grant`: ids of the contact's client connections whose portal access is switched on with it
    (an id of any other connection is ignored).
    """
    relation = _lock(relation)
    _refuse_unless_invitable(relation)
    if PortalAccount.objects.filter(relation=relation, revoked_at__isnull=True).exists():
        raise ValidationError(_("%(name)s already has access to the portal.") % {"name": relation})
    if Invitation.objects.open().filter(relation=relation).exists():
        raise ValidationError(
            _("%(name)s has already been invited. Resend the invitation to send a new link.")
            % {"name": relation}
        )
    _grant(relation, grant, user)
    return _issue(relation=relation, user=user, base_url=base_url)


@transaction.atomic
def resend(*, relation: Relation, user: User, base_url: str) -> Invitation:
    """A new link (and 14 new days) to the contact's current address; the previous link stops working."""
    relation = _lock(relation)
    _refuse_unless_invitable(relation)
    current = Invitation.objects.open().select_for_update().filter(relation=relation).first()
    if current is None:
        raise ValidationError(
            _("%(name)s has no open invitation to resend; invite it instead.") % {"name": relation}
        )
    current.superseded_at = timezone.now()
    current.save(update_fields=["superseded_at"])
    return _issue(relation=relation, user=user, base_url=base_url)


def _revoke_locked(relation: Relation, user: User | None) -> bool:
    """Void the open invitation and end the account's access; False when there was neither."""
    now = timezone.now()
    voided = (
        Invitation.objects.open().filter(relation=relation).update(revoked_at=now, revoked_by=user)
    )
    ended = PortalAccount.objects.filter(relation=relation, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if not (voided or ended):
        return False
    # The account's sessions are not ended here: every portal request checks the account first.
    TimelineEvent.record(relation, Event.INVITATION_REVOKED, actor=user)
    _sync_state(relation)
    return True


@transaction.atomic
def revoke(*, relation: Relation, user: User) -> None:
    relation = _lock(relation)
    if not _revoke_locked(relation, user):
        raise ValidationError(
            _("%(name)s has no open invitation or portal access to revoke.") % {"name": relation}
        )


def revoke_on_archive(sender: type[Relation], *, relation: Relation, user: User, **kwargs) -> None:
    """relations.signals.relation_archived: sent inside the archive's transaction, the row locked."""
    _revoke_locked(relation, user)


# --- the invitation e-mail -----------------------------------------------------------------------


def _send_invitation(invitation_id: int, link: str) -> None:
    invitation = Invitation.objects.select_related("relation", "practice").get(pk=invitation_id)
    relation = invitation.relation
    with translation.override(relation.language):
        context = {
            "relation": relation,
            "practice": invitation.practice,
            "link": link,
            "expires_at": invitation.expires_at,
        }
        subject = _("Your invitation to the client portal of %(practice)s") % {
            "practice": invitation.practice
        }
        body = render_to_string("portal/email/invitation.txt", context)
    PlainTextMail(" ".join(subject.split()), body, to=[invitation.email]).send()


# --- accepting (the contact) ---------------------------------------------------------------------


def _refuse_unless_usable(invitation: Invitation, relation: Relation) -> None:
    status = invitation.status
    if status != Invitation.Status.PENDING:
        raise InvitationUnusable(status)
    # Archiving revokes, but a changed address must void the link sent to the old one as well.
    if relation.is_archived or relation.email.lower() != invitation.email.lower():
        raise InvitationUnusable(Invitation.Status.REVOKED)


def check_invitation(token: str) -> Invitation:
    """The invitation behind a link if it can still be accepted; otherwise InvitationUnusable."""
    invitation = (
        Invitation.objects.select_related("relation", "practice")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    _refuse_unless_usable(invitation, invitation.relation)
    return invitation


def new_portal_user(invitation: Invitation) -> User:
    """The (unsaved) user an acceptance creates: its own account, whatever other account shares the address."""
    user = User(username=f"portal-{uuid.uuid4().hex}", email=invitation.email)
    user.set_unusable_password()
    return user


@transaction.atomic
def accept(*, token: str, password: str) -> User:
    """Use the link once: set the password on the contact's portal account, which is created if new.

    Never signs in an existing staff user: the account is one made for this contact (or, after a
    revoke and a new invitation, the same one made for it earlier).
    """
    relation = _lock(check_invitation(token).relation)
    # Again under the lock: a second tab, a resend or an archive may have got there first.
    invitation = Invitation.objects.select_for_update().get(token_hash=hash_token(token))
    _refuse_unless_usable(invitation, relation)
    account = PortalAccount.objects.select_related("user").filter(relation=relation).first()
    user = account.user if account else new_portal_user(invitation)
    user.email = invitation.email
    validate_password(password, user)
    user.set_password(password)
    user.is_active = True
    user.save()
    now = timezone.now()
    if account is None:
        PortalAccount.objects.create(
            practice_id=relation.practice_id, relation=relation, user=user, created_at=now
        )
    else:
        account.revoked_at = None
        account.save(update_fields=["revoked_at"])
    invitation.accepted_at = now
    invitation.save(update_fields=["accepted_at"])
    TimelineEvent.record(relation, Event.INVITATION_ACCEPTED, actor=user)
    _sync_state(relation)
    return user


# --- signing in again (the contact) --------------------------------------------------------------


def authenticate_portal_user(request: HttpRequest, *, email: str, password: str) -> User | None:
    """A portal user by the address its invitation went to (portal.backends.PortalBackend)."""
    # authenticate() is typed for any user model; PortalBackend, the one that takes these, gives a User.
    return cast("User | None", authenticate(request, portal_email=email, password=password))


def active_account(user: User | AnonymousUser) -> PortalAccount | None:
    if not user.is_authenticated:
        return None
    return (
        PortalAccount.objects.active()
        .select_related("relation", "relation__practice")
        .filter(user=user)
        .first()
    )


def withdrawn_account(user: User | AnonymousUser) -> PortalAccount | None:
    """The user's portal account if the office withdrew its access (revoked, or the contact archived)."""
    if not user.is_authenticated:
        return None
    return (
        PortalAccount.objects.filter(user=user, revoked_at__isnull=False)
        .select_related("relation__practice")
        .first()
    )
