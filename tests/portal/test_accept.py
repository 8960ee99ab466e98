"""Accepting an invitation through the link in the e-mail: set a password, land in the portal."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal import services
from portal.models import Invitation, PortalAccount
from relations.models import Relation
from tests.portal.conftest import PORTAL_PASSWORD, TOKEN_IN_LINK

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return Client(headers={"accept-language": "en"})


def accept_url(token):
    return reverse("portal-accept", args=[token])


def passwords(password=PORTAL_PASSWORD, again=None):
    return {"new_password1": password, "new_password2": again or password}


def test_the_link_in_the_mail_opens_the_set_password_page(
    client, contact, send_invitation, mailoutbox
):
    send_invitation(contact)
    link = TOKEN_IN_LINK.search(mailoutbox[0].body).group(0)
    response = client.get(link)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Set your password" in page
    assert 'name="new_password1"' in page
    assert "Administratiekantoor Van Dam" in page
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-cache" in response["Cache-Control"]
    # Looking changes nothing.
    assert Invitation.objects.get().accepted_at is None


def test_accepting_signs_the_contact_in_to_the_portal(client, contact, send_invitation):
    token = send_invitation(contact)
    response = client.post(accept_url(token), passwords(), follow=True)
    assert response.redirect_chain == [(reverse("portal-home"), 302)]
    user = PortalAccount.objects.get(relation=contact).user
    assert response.wsgi_request.user == user
    assert "Jan de Vries" in response.content.decode()
    assert Relation.objects.get(pk=contact.pk).portal_state == "accepted"


def test_password_validators_are_enforced(client, contact, send_invitation):
    token = send_invitation(contact)
    for weak in ("kort", "12345678901", "password123", "jan@devries.example"):
        response = client.post(accept_url(token), passwords(weak))
        assert response.status_code == 200, weak
        assert 'class="errorlist' in response.content.decode(), weak
    mismatch = client.post(accept_url(token), passwords(again="iets-heel-anders-99"))
    assert "didn\u2019t match" in mismatch.content.decode()
    assert not PortalAccount.objects.exists()
    assert not get_user_model().objects.filter(username__startswith="portal-").exists()
    assert Invitation.objects.get().accepted_at is None


def test_a_used_link_is_gone_and_changes_nothing(client, contact, send_invitation):
    token = send_invitation(contact)
    client.post(accept_url(token), passwords())
    other = Client(headers={"accept-language": "en"})
    response = other.get(accept_url(token))
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    response = other.post(accept_url(token), passwords("een-ander-wachtwoord-7"))
    assert response.status_code == 410
    assert not response.wsgi_request.user.is_authenticated
    assert PortalAccount.objects.get().user.check_password(PORTAL_PASSWORD)


@pytest.mark.parametrize(
    ("spoil", "text"),
    [
        ("expire", "has expired"),
        ("revoke", "has been withdrawn"),
        ("resend", "newer invitation"),
    ],
)
def test_a_dead_link_says_why_with_410(client, contact, send_invitation, staff, spoil, text):
    token = send_invitation(contact)
    if spoil == "expire":
        past = timezone.now() - timedelta(seconds=1)
        Invitation.objects.update(created_at=past - timedelta(days=14), expires_at=past)
    elif spoil == "revoke":
        services.revoke(relation=contact, user=staff)
    else:
        send_invitation(contact, resend=True)
    for response in (client.get(accept_url(token)), client.post(accept_url(token), passwords())):
        assert response.status_code == 410
        assert text in response.content.decode()
        assert not response.wsgi_request.user.is_authenticated
    assert not PortalAccount.objects.exists()


def test_an_unknown_link_is_404(client, contact, send_invitation):
    send_invitation(contact)
    response = client.get(accept_url("A" * 43))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_a_staff_member_holding_a_token_is_not_signed_in_as_anyone(
    staff_client, staff, contact, send_invitation
):
    token = send_invitation(contact)
    for response in (
        staff_client.get(accept_url(token)),
        staff_client.post(accept_url(token), passwords()),
    ):
        assert response.status_code == 403
        assert response.wsgi_request.user == staff
        assert "cannot be used from an office account" in response.content.decode()
    assert Invitation.objects.get().accepted_at is None
    assert not PortalAccount.objects.exists()
    staff.refresh_from_db()
    assert not staff.check_password(PORTAL_PASSWORD)
    # Still bob, still in the office.
    assert staff_client.get(reverse("relations-list")).status_code == 200


def test_the_token_never_reaches_the_logs(client, staff_client, contact, send_invitation, caplog):
    token = send_invitation(contact)
    with caplog.at_level(logging.DEBUG):
        staff_client.get(accept_url(token))  # 403 with a live token in the path
        client.post(accept_url(token), passwords())
        client.get(accept_url(token))  # 410
        client.put(accept_url(token))  # 405
    assert caplog.records
    assert token not in caplog.text
    assert "/portal/accept/…/" in caplog.text


def test_accept_is_get_and_post_only(client, contact, send_invitation):
    token = send_invitation(contact)
    assert client.put(accept_url(token)).status_code == 405
    assert client.delete(accept_url(token)).status_code == 405
