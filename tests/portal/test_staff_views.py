"""Invite, resend and revoke from a contact's detail page: who may, and what it leaves behind."""

import pytest
from django.urls import reverse

from portal.models import Invitation, PortalAccount
from relations.models import Relation
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

ACTIONS = ["portal-invite", "portal-resend", "portal-revoke"]


def url(name, relation):
    return reverse(name, args=[relation.public_id])


def test_staff_invites_a_contact_from_its_page(
    staff_client, contact, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url("portal-invite", contact), follow=True)
    assert response.redirect_chain == [(contact.get_absolute_url(), 302)]
    assert "An invitation to the portal has been sent to jan@devries.example" in (
        response.content.decode()
    )
    assert len(mailoutbox) == 1
    assert "http://testserver/portal/accept/" in mailoutbox[0].body
    assert Relation.objects.get(pk=contact.pk).portal_state == "pending"
    # The page now offers the next steps instead of a second invitation.
    page = response.content.decode()
    assert url("portal-resend", contact) in page
    assert url("portal-revoke", contact) in page
    assert url("portal-invite", contact) not in page


def test_staff_resends_and_revokes(staff_client, contact, send_invitation):
    send_invitation(contact)
    response = staff_client.post(url("portal-resend", contact), follow=True)
    assert "the previous link no longer works" in response.content.decode()
    assert Invitation.objects.filter(superseded_at__isnull=False).count() == 1
    response = staff_client.post(url("portal-revoke", contact), {"confirmed": "1"}, follow=True)
    assert "no longer has access to the portal" in response.content.decode()
    assert not Invitation.objects.open().exists()
    assert Relation.objects.get(pk=contact.pk).portal_state == "revoked"
    assert url("portal-invite", contact) in response.content.decode()


def test_a_refusal_is_shown_as_a_message(staff_client, practice):
    client_company = RelationFactory(practice=practice, legal_name="Bakkerij B.V.")
    response = staff_client.post(url("portal-invite", client_company), follow=True)
    assert "Only contacts can be invited to the portal" in response.content.decode()
    assert not Invitation.objects.exists()


def test_detail_page_shows_the_portal_action_to_those_who_may_change(
    staff_client, readonly_client, contact
):
    assert "Invite to portal" in staff_client.get(contact.get_absolute_url()).content.decode()
    assert (
        "Invite to portal" not in readonly_client.get(contact.get_absolute_url()).content.decode()
    )


def test_detail_page_offers_revoking_access(staff_client, contact, portal_user):
    page = staff_client.get(contact.get_absolute_url()).content.decode()
    assert "Revoke portal access" in page
    assert "Invite to portal" not in page


def test_no_portal_action_for_a_contact_without_address_or_a_client(staff_client, practice):
    for relation in (
        RelationFactory(practice=practice, legal_name="Bakkerij B.V."),
        RelationFactory(practice=practice, contact=True, private=True, email=""),
    ):
        assert (
            "portal" not in staff_client.get(relation.get_absolute_url()).content.decode().lower()
        )


@pytest.mark.django_db(transaction=True)
def test_mail_failure_leaves_the_invitation_and_says_so(staff_client, contact, monkeypatch):
    """Committed for real, so the e-mail goes out (and fails) inside the request, as in production."""

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("practice.mail.EmailMessage.send", broken)
    response = staff_client.post(url("portal-invite", contact), follow=True)
    assert "the e-mail could not be sent" in response.content.decode()
    assert Invitation.objects.get().status == "pending"


@pytest.mark.django_db(transaction=True)
def test_mail_goes_out_on_commit(staff_client, contact, mailoutbox):
    staff_client.post(url("portal-invite", contact))
    assert [m.to for m in mailoutbox] == [["jan@devries.example"]]


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_is_sent_to_login(client, contact, name):
    response = client.post(url(name, contact))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ACTIONS)
def test_outsider_gets_404(outsider_client, contact, name):
    assert outsider_client.post(url(name, contact)).status_code == 404
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("name", ACTIONS)
def test_readonly_gets_403(readonly_client, contact, name):
    assert readonly_client.post(url(name, contact)).status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("name", ["portal-invite", "portal-resend"])
def test_get_is_405(staff_client, contact, name):
    assert staff_client.get(url(name, contact)).status_code == 405


def test_get_on_revoke_is_its_confirm_page(staff_client, contact):
    """Revoking asks first (practice/confirm.py); a contact without access is told so there."""
    response = staff_client.get(url("portal-revoke", contact))
    assert response.status_code == 200
    assert "has no open invitation or portal access to revoke" in response.content.decode()
    assert 'name="confirmed"' not in response.content.decode()


def test_readonly_cannot_revoke_access(readonly_client, contact, portal_user):
    assert readonly_client.post(url("portal-revoke", contact)).status_code == 403
    assert PortalAccount.objects.get().revoked_at is None
