import pytest
from django.urls import reverse

from practice.middleware import SESSION_PRACTICE_KEY
from practice.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_practice_client(owner_client, owner, other_practice):
    MembershipFactory(user=owner, practice=other_practice, role=Membership.Role.STAFF)
    return owner_client


def test_switcher_lists_the_other_practice(two_practice_client, other_practice):
    page = two_practice_client.get(reverse("home")).content.decode()
    assert f'value="{other_practice.slug}"' in page


def test_it_switches_practice(two_practice_client, practice, other_practice):
    response = two_practice_client.post(
        reverse("practice-switch"), {"practice": other_practice.slug, "next": "/relations/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/relations/"
    assert two_practice_client.session[SESSION_PRACTICE_KEY] == other_practice.pk
    home = two_practice_client.get(reverse("home"))
    assert home.wsgi_request.membership.practice == other_practice
    assert home.wsgi_request.membership.role == Membership.Role.STAFF


def test_switch_to_a_practice_you_are_not_in_is_404(owner_client, other_practice, practice):
    response = owner_client.post(reverse("practice-switch"), {"practice": other_practice.slug})
    assert response.status_code == 404
    assert owner_client.get(reverse("home")).wsgi_request.membership.practice == practice


def test_switch_refuses_an_offsite_next(two_practice_client, other_practice):
    response = two_practice_client.post(
        reverse("practice-switch"),
        {"practice": other_practice.slug, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")


def test_switch_needs_post_and_login(client, two_practice_client, other_practice):
    assert two_practice_client.get(reverse("practice-switch")).status_code == 405
    response = client.post(reverse("practice-switch"), {"practice": other_practice.slug})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_switch_is_csrf_protected(owner, other_practice):
    from django.test import Client

    MembershipFactory(user=owner, practice=other_practice)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("practice-switch"), {"practice": other_practice.slug})
    assert response.status_code == 403


def test_a_bulk_report_is_not_carried_into_the_other_practice(
    two_practice_client, practice, other_practice
):
    from tests.factories import RelationFactory

    contact = RelationFactory(practice=practice, contact=True)
    two_practice_client.post(
        reverse("relations-bulk"),
        {"action": "archive", "ids": [str(contact.public_id)], "next": "/relations/?page=2"},
    )
    two_practice_client.post(reverse("practice-switch"), {"practice": other_practice.slug})
    page = two_practice_client.get(reverse("relations-list")).content.decode()
    assert "Result" not in page
    assert contact.display_name not in page
    # Back in the first practice the report is gone too: it was dropped, not kept for later.
    assert "bulk_result" not in two_practice_client.session
