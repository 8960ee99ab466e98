"""The invitation lifecycle through portal.services: the token, the e-mail, the states and the timeline."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal import services
from portal.models import Invitation, PortalAccount
from relations import services as relation_services
from relations.models import Relation, TimelineEvent
from tests.factories import RelationFactory
from tests.portal.conftest import PORTAL_PASSWORD

pytestmark = pytest.mark.django_db


def kinds(relation):
    return list(relation.timeline.order_by("pk").values_list("kind", flat=True))


def state(relation):
    relation = Relation.objects.get(pk=relation.pk)
    return relation.portal_state, relation.portal_status, relation.portal_invited_until


def test_invitation_mail_carries_a_single_link_to_the_contact(contact, send_invitation, mailoutbox):
    token = send_invitation(contact)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["jan@devries.example"]
    assert "Administratiekantoor Van Dam" in mail.subject
    assert mail.body.count(token) == 1
    assert len(token) >= 43  # token_urlsafe(32): 256 random bits


def test_invitation_mail_is_in_the_contacts_language(contact, send_invitation, mailoutbox):
    Relation.objects.filter(pk=contact.pk).update(language="en")
    send_invitation(contact)
    assert mailoutbox[0].subject.startswith("Your invitation to the client portal")


def test_mail_is_sent_only_once_the_invitation_is_committed(contact, staff, mailoutbox):
    # In a test the transaction never commits: no callback ran, so nothing was sent.
    services.invite(relation=contact, user=staff, base_url="http://testserver")
    assert mailoutbox == []


def test_only_the_hash_of_the_token_is_stored(contact, send_invitation):
    token = send_invitation(contact)
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for row in Invitation.objects.values():
        assert not any(token in str(value) for value in row.values())
    assert not any(
        token in str(value) for row in TimelineEvent.objects.values() for value in row.values()
    )


def test_invite_makes_the_contact_pending_for_14_days(contact, send_invitation, staff):
    before = timezone.now()
    send_invitation(contact)
    invitation = Invitation.objects.get()
    assert invitation.email == contact.email
    assert invitation.created_by == staff
    assert invitation.status == Invitation.Status.PENDING
    assert (
        before + timedelta(days=14) <= invitation.expires_at <= timezone.now() + timedelta(days=14)
    )
    assert state(contact) == ("pending", "pending", invitation.expires_at)
    assert kinds(contact) == ["invitation_sent"]


def test_a_pending_invitation_past_its_date_shows_as_expired(contact, send_invitation):
    send_invitation(contact)
    past = timezone.now() - timedelta(minutes=1)
    Invitation.objects.update(created_at=past - timedelta(days=14), expires_at=past)
    Relation.objects.filter(pk=contact.pk).update(portal_invited_until=past)
    assert state(contact)[:2] == ("pending", "expired")
    assert Invitation.objects.get().status == Invitation.Status.EXPIRED


def test_accept_creates_a_new_portal_user_and_marks_it_accepted(contact, send_invitation, staff):
    token = send_invitation(contact)
    user = services.accept(token=token, password=PORTAL_PASSWORD)
    assert user.username.startswith("portal-")
    assert user.check_password(PORTAL_PASSWORD)
    assert user != staff
    assert not user.memberships.exists()
    assert not user.is_staff
    assert not user.is_superuser
    account = PortalAccount.objects.get()
    assert (account.relation, account.user) == (contact, user)
    assert Invitation.objects.get().accepted_at is not None
    assert state(contact) == ("accepted", "accepted", None)
    assert kinds(contact) == ["invitation_sent", "invitation_accepted"]
    assert contact.timeline.get(kind="invitation_accepted").actor == user


def test_a_link_works_only_once(contact, send_invitation):
    token = send_invitation(contact)
    services.accept(token=token, password=PORTAL_PASSWORD)
    with pytest.raises(services.InvitationUnusable) as refused:
        services.accept(token=token, password="een-ander-wachtwoord-7")
    assert refused.value.status == "accepted"
    assert PortalAccount.objects.get().user.check_password(PORTAL_PASSWORD)


def test_an_expired_link_is_refused(contact, send_invitation):
    token = send_invitation(contact)
    past = timezone.now() - timedelta(seconds=1)
    Invitation.objects.update(created_at=past - timedelta(days=14), expires_at=past)
    with pytest.raises(services.InvitationUnusable) as refused:
        services.accept(token=token, password=PORTAL_PASSWORD)
    assert refused.value.status == "expired"
    assert not PortalAccount.objects.exists()


def test_an_unknown_link_is_refused(contact, send_invitation):
    send_invitation(contact)
    with pytest.raises(services.InvitationUnusable) as refused:
        services.accept(token="x" * 43, password=PORTAL_PASSWORD)
    assert refused.value.status == "unknown"


def test_resend_voids_the_previous_link(contact, send_invitation, mailoutbox):
    first = send_invitation(contact)
    second = send_invitation(contact, resend=True)
    assert first != second
    assert len(mailoutbox) == 2
    old, new = Invitation.objects.order_by("pk")
    assert old.status == "superseded"
    assert new.status == "pending"
    assert state(contact) == ("pending", "pending", new.expires_at)
    with pytest.raises(services.InvitationUnusable) as refused:
        services.accept(token=first, password=PORTAL_PASSWORD)
    assert refused.value.status == "superseded"
    services.accept(token=second, password=PORTAL_PASSWORD)
    assert kinds(contact) == ["invitation_sent", "invitation_sent", "invitation_accepted"]


def test_resend_renews_an_expired_invitation(contact, send_invitation):
    send_invitation(contact)
    past = timezone.now() - timedelta(seconds=1)
    Invitation.objects.update(created_at=past - timedelta(days=14), expires_at=past)
    token = send_invitation(contact, resend=True)
    assert services.accept(token=token, password=PORTAL_PASSWORD)


def test_revoking_a_pending_invitation_voids_its_link(contact, send_invitation, owner):
    token = send_invitation(contact)
    services.revoke(relation=contact, user=owner)
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.revoked_by) == ("revoked", owner)
    assert state(contact) == ("revoked", "revoked", None)
    with pytest.raises(services.InvitationUnusable) as refused:
        services.accept(token=token, password=PORTAL_PASSWORD)
    assert refused.value.status == "revoked"
    assert kinds(contact) == ["invitation_sent", "invitation_revoked"]


def test_revoking_access_ends_the_account_and_a_new_invitation_restores_it(
    contact, portal_user, send_invitation, owner
):
    services.revoke(relation=contact, user=owner)
    assert PortalAccount.objects.get().revoked_at is not None
    assert state(contact)[0] == "revoked"
    token = send_invitation(contact)
    again = services.accept(token=token, password="nieuw-wachtwoord-voor-jan")
    # The same portal account, with the new password; never a second user for one contact.
    assert again == portal_user
    assert PortalAccount.objects.get().revoked_at is None
    assert state(contact)[0] == "accepted"


def test_a_changed_address_voids_the_link_sent_to_the_old_one(contact, send_invitation):
    token = send_invitation(contact)
    Relation.objects.filter(pk=contact.pk).update(email="jan@nieuw.example")
    with pytest.raises(services.InvitationUnusable):
        services.accept(token=token, password=PORTAL_PASSWORD)


def test_password_validators_apply(contact, send_invitation):
    token = send_invitation(contact)
    with pytest.raises(ValidationError):
        services.accept(token=token, password="12345678")
    assert Invitation.objects.get().accepted_at is None
    assert not PortalAccount.objects.exists()


def test_an_address_shared_with_a_staff_user_still_gets_its_own_account(
    practice, staff, send_invitation
):
    same = RelationFactory(practice=practice, contact=True, private=True, email=staff.email)
    user = services.accept(token=send_invitation(same), password=PORTAL_PASSWORD)
    assert user.pk != staff.pk
    staff.refresh_from_db()
    assert not staff.check_password(PORTAL_PASSWORD)


@pytest.mark.parametrize(
    ("traits", "message"),
    [
        ({"kind": "client", "client_code": "7001"}, "Only contacts"),
        ({"contact": True, "email": ""}, "no e-mail address"),
    ],
)
def test_only_contacts_with_an_address_can_be_invited(practice, staff, traits, message, mailoutbox):
    relation = RelationFactory(practice=practice, **traits)
    with pytest.raises(ValidationError, match=message):
        services.invite(relation=relation, user=staff, base_url="http://testserver")
    assert not Invitation.objects.exists()
    assert state(relation)[0] == "none"


def test_an_archived_contact_cannot_be_invited(contact, staff, practice):
    relation_services.archive(practice=practice, user=staff, relations=[contact])
    with pytest.raises(ValidationError, match="restore it"):
        services.invite(relation=contact, user=staff, base_url="http://testserver")


def test_inviting_twice_is_refused_with_a_way_forward(contact, send_invitation, staff):
    send_invitation(contact)
    with pytest.raises(ValidationError, match="Resend"):
        services.invite(relation=contact, user=staff, base_url="http://testserver")
    assert Invitation.objects.count() == 1


def test_inviting_a_contact_with_access_is_refused(contact, portal_user, staff):
    with pytest.raises(ValidationError, match="already has access"):
        services.invite(relation=contact, user=staff, base_url="http://testserver")


def test_nothing_to_resend_or_revoke_is_refused(contact, staff):
    with pytest.raises(ValidationError, match="invite it instead"):
        services.resend(relation=contact, user=staff, base_url="http://testserver")
    with pytest.raises(ValidationError, match="no open invitation or portal access"):
        services.revoke(relation=contact, user=staff)
    assert state(contact)[0] == "none"
    assert kinds(contact) == []


def test_archiving_revokes_a_pending_invitation(contact, send_invitation, staff, practice):
    token = send_invitation(contact)
    relation_services.archive(practice=practice, user=staff, relations=[contact])
    assert Invitation.objects.get().status == "revoked"
    assert state(contact)[0] == "revoked"
    assert kinds(contact) == ["invitation_sent", "archived", "invitation_revoked"]
    with pytest.raises(services.InvitationUnusable):
        services.accept(token=token, password=PORTAL_PASSWORD)


def test_archiving_a_contact_without_portal_changes_nothing_in_the_portal(contact, staff, practice):
    relation_services.archive(practice=practice, user=staff, relations=[contact])
    assert state(contact)[0] == "none"
    assert kinds(contact) == ["archived"]


def test_the_invite_rolls_back_with_a_failing_caller(contact, staff, mailoutbox):
    def invite_then_fail():
        with transaction.atomic():
            services.invite(relation=contact, user=staff, base_url="http://testserver")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        invite_then_fail()
    assert not Invitation.objects.exists()
    assert state(contact)[0] == "none"
    assert mailoutbox == []
