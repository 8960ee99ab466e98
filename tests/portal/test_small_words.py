"""The portal in the contact's language: password rules, the invitation mail, withdrawn access."""

import io
import re

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.test import Client
from django.urls import reverse

from portal import demo, services
from tests.portal.conftest import TOKEN_IN_LINK


def test_portal_password_errors_are_dutch(contact, send_invitation):
    token = send_invitation(contact)
    client = Client(headers={"accept-language": "nl"})
    response = client.post(
        reverse("portal-accept", args=[token]),
        {"new_password1": "kort", "new_password2": "kort"},
    )
    page = response.content.decode()
    assert "too short" not in page
    assert "This password" not in page
    assert "Dit wachtwoord is te kort. Het moet minstens 8 tekens hebben." in page


def test_invitation_mail_greets_by_name_and_keeps_the_link_intact(
    contact, send_invitation, mailoutbox
):
    contact.salutation = "mr"
    contact.save(update_fields=["salutation"])
    token = send_invitation(contact)
    mail = mailoutbox[-1]
    assert mail.body.startswith("Geachte heer De Vries,\n")
    link = f"http://testserver/portal/accept/{token}/"
    raw = mail.message().as_bytes().decode("utf-8")
    assert "Content-Transfer-Encoding: 8bit" in raw
    assert link in raw  # not broken over lines by quoted-printable soft breaks

    # What the demo prints (the console backend) holds the link as one piece, to copy.
    stream = io.StringIO()
    ConsoleBackend(stream=stream).send_messages([mail])
    assert link in stream.getvalue()
    assert "=\n" not in stream.getvalue()


def test_an_invitation_to_a_contact_without_salutation_greets_by_full_name(
    contact, send_invitation, mailoutbox
):
    send_invitation(contact)
    assert mailoutbox[-1].body.startswith("Geachte Jan de Vries,\n")


def test_the_demo_invitation_link_follows_the_port(
    monkeypatch, practice, staff, contact, mailoutbox, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("PORT", "8123")
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(practice=practice, user=staff, stdout=io.StringIO())
    assert re.search(r"http://127\.0\.0\.1:8123/portal/accept/\S+/", mailoutbox[-1].body)


def test_revoked_portal_user_sees_access_withdrawn(portal_client, contact, owner):
    portal_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "nl"
    services.revoke(relation=contact, user=owner)
    response = portal_client.get(reverse("portal-home"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Uw toegang is ingetrokken" in page
    assert contact.practice.name in page
    assert contact.display_name not in page  # nothing of the relation's data any more


def test_staff_still_get_a_404_on_the_portal(staff_client):
    assert staff_client.get(reverse("portal-home")).status_code == 404


def test_the_link_pattern_is_the_one_the_fixtures_read():
    assert TOKEN_IN_LINK.pattern.startswith("http://testserver/portal/accept/")
