"""Password reset by e-mail, for staff and for portal users: the same answer whatever the address,
only one's own kind of account found, throttled, and the link sets a new password once."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from portal import services
from tests.factories import RelationFactory
from tests.security.test_login_abuse import PER_RESPONSE

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/(?:portal/)?password-reset/[^/\s]+/[^/\s]+/)")
NEW = "zomer-strand-golven-88"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def _ask(url: str, email: str):
    client = Client(headers={"accept-language": "nl"})
    response = client.post(url, {"email": email}, follow=True)
    return response, PER_RESPONSE.sub("", response.content.decode())


@pytest.mark.parametrize("name", ["password-reset", "portal-password-reset"])
def test_the_answer_is_identical_for_known_and_unknown_addresses(name, staff, mailoutbox):
    known_response, known = _ask(reverse(name), staff.email)
    unknown_response, unknown = _ask(reverse(name), "niemand@example.nl")
    assert known_response.status_code == unknown_response.status_code == 200
    assert known_response.redirect_chain == unknown_response.redirect_chain
    assert known == unknown


def test_staff_get_a_dutch_link_that_works_once(staff, mailoutbox):
    _ask(reverse("password-reset"), staff.email.upper())
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert "wachtwoord" in mail.subject.lower()
    path = LINK.search(mail.body).group(1)
    client = Client()
    form = client.get(path, follow=True)
    assert form.status_code == 200
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    assert (
        Client().post(reverse("login"), {"username": staff.username, "password": NEW}).status_code
        == 302
    )
    again = Client().get(path, follow=True)
    assert again.context["validlink"] is False
    assert "Deze link werkt niet" in again.content.decode()


def test_a_portal_address_gets_no_staff_link_and_the_other_way_round(
    staff, practice, mailoutbox, django_capture_on_commit_callbacks
):
    contact = RelationFactory(practice=practice, contact=True, private=True, email="jan@example.nl")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite(relation=contact, user=staff, base_url="http://testserver")
    token = re.search(r"/portal/accept/([^/]+)/", mailoutbox[-1].body).group(1)
    services.accept(token=token, password="tulpen-bollen-veld-42")
    mailoutbox.clear()
    _ask(reverse("password-reset"), "jan@example.nl")
    assert mailoutbox == []
    _ask(reverse("portal-password-reset"), staff.email)
    assert mailoutbox == []
    _ask(reverse("portal-password-reset"), "jan@example.nl")
    assert len(mailoutbox) == 1
    assert "/portal/password-reset/" in mailoutbox[0].body


@override_settings(PASSWORD_RESET_LIMIT_PER_ADDRESS=2)
def test_mails_per_address_are_throttled_with_the_same_answer(staff, mailoutbox):
    answers = {_ask(reverse("password-reset"), staff.email)[1] for _i in range(4)}
    assert len(mailoutbox) == 2
    assert len(answers) == 1


def test_a_deactivated_member_gets_no_link(staff, practice, mailoutbox):
    from practice.models import Membership

    Membership.objects.filter(user=staff).update(deactivated_at="2026-01-01T00:00:00Z")
    _ask(reverse("password-reset"), staff.email)
    assert mailoutbox == []
