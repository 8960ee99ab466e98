"""The portal itself: the contact sees its own details and its clients, and nothing of the office."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from portal.models import PortalAccount
from relations import services as relation_services
from tests.factories import AddressFactory, RelationFactory
from tests.portal.conftest import PORTAL_PASSWORD

pytestmark = pytest.mark.django_db


def connect(contact, other, type_="contact_person", **kwargs):
    a, b = sorted([contact, other], key=lambda r: r.pk)
    return Connection.objects.create(
        practice=contact.practice, a=a, b=b, type=type_, a_is_subject=a == contact, **kwargs
    )


def test_portal_shows_the_contacts_own_details(portal_client, contact):
    AddressFactory(relation=contact, street="Prinsengracht", house_number="263", city="Amsterdam")
    response = portal_client.get(reverse("portal-home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Jan de Vries" in page
    assert "jan@devries.example" in page
    assert "Prinsengracht 263" in page
    # None of the office's navigation.
    assert reverse("relations-list") not in page
    assert reverse("admin:index") not in page


def test_portal_lists_the_active_clients_it_is_connected_to(portal_client, contact, practice):
    bakery = RelationFactory(practice=practice, legal_name="Bakkerij Brood B.V.")
    garage = RelationFactory(practice=practice, legal_name="Garage Gas B.V.")
    ended = RelationFactory(practice=practice, legal_name="Oud Werk B.V.")
    archived = RelationFactory(practice=practice, legal_name="Gearchiveerd B.V.")
    other_contact = RelationFactory(practice=practice, contact=True, legal_name="Piet Partner")
    unrelated = RelationFactory(practice=practice, legal_name="Vreemde Zaak B.V.")
    connect(contact, bakery)
    connect(contact, garage, "director")
    connect(
        contact,
        ended,
        start_date=timezone.localdate() - timedelta(days=30),
        end_date=timezone.localdate(),
    )
    connect(contact, archived)
    connect(contact, other_contact, "fiscal_partner")
    relation_services.archive(practice=practice, user=None, relations=[archived])

    page = portal_client.get(reverse("portal-home")).content.decode()
    assert "Bakkerij Brood B.V." in page
    assert "contact person at" in page
    assert "Garage Gas B.V." in page
    assert "director of" in page
    for hidden in (ended, archived, other_contact, unrelated):
        assert hidden.display_name not in page


def test_portal_does_not_show_another_contacts_clients(portal_client, contact, practice):
    someone = RelationFactory(practice=practice, contact=True, private=True)
    secret = RelationFactory(practice=practice, legal_name="Geheime Klant B.V.")
    connect(someone, secret)
    assert "Geheime Klant" not in portal_client.get(reverse("portal-home")).content.decode()


def test_portal_page_query_count_is_fixed(
    portal_client, contact, practice, django_assert_num_queries
):
    for n in range(5):
        connect(contact, RelationFactory(practice=practice, legal_name=f"Klant {n} B.V."))
    # Session, user, membership (none), account with relation and practice, addresses, connections
    # with both ends, the office's links (none here), however many clients; no session save
    # (renewed at most once a minute).
    with django_assert_num_queries(7):
        portal_client.get(reverse("portal-home"))


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/relations/",
        "/relations/new/",
        "/relations/export.csv",
    ],
)
def test_portal_user_gets_404_on_staff_pages(portal_client, url):
    assert portal_client.get(url).status_code == 404


def test_portal_user_gets_404_on_its_own_relation_page(portal_client, contact):
    assert portal_client.get(contact.get_absolute_url()).status_code == 404
    assert (
        portal_client.post(reverse("relations-archive", args=[contact.public_id])).status_code
        == 404
    )
    assert portal_client.post(reverse("portal-revoke", args=[contact.public_id])).status_code == 404


def test_portal_user_cannot_use_the_admin(portal_client):
    response = portal_client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert portal_client.get("/admin/relations/relation/").status_code == 302


def test_staff_and_strangers_do_not_reach_the_portal(staff_client, client):
    assert staff_client.get(reverse("portal-home")).status_code == 404
    response = client.get(reverse("portal-home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal-login"))


def test_archiving_the_contact_ends_portal_access(portal_client, contact, practice, staff):
    relation_services.archive(practice=practice, user=staff, relations=[contact])
    assert PortalAccount.objects.get().revoked_at is not None
    # 403 with a page saying access was withdrawn (was a bare 404; the page is the point).
    assert portal_client.get(reverse("portal-home")).status_code == 403
    contact.refresh_from_db()
    assert contact.portal_state == "revoked"
    assert contact.timeline.filter(kind="invitation_revoked", actor=staff).exists()


def test_restoring_does_not_bring_access_back(portal_client, contact, practice, staff):
    relation_services.archive(practice=practice, user=staff, relations=[contact])
    relation_services.restore(practice=practice, user=staff, relations=[contact])
    # 403 with a page saying access was withdrawn (was a bare 404; the page is the point).
    assert portal_client.get(reverse("portal-home")).status_code == 403
    contact.refresh_from_db()
    assert contact.portal_state == "revoked"


def test_revoked_access_is_checked_on_the_next_request(portal_client, contact, owner):
    from portal import services

    assert portal_client.get(reverse("portal-home")).status_code == 200
    services.revoke(relation=contact, user=owner)
    # 403 with a page saying access was withdrawn (was a bare 404; the page is the point).
    assert portal_client.get(reverse("portal-home")).status_code == 403


# --- signing in again ---------------------------------------------------------------------------


def login(client, email="jan@devries.example", password=PORTAL_PASSWORD):
    return client.post(reverse("portal-login"), {"email": email, "password": password})


def test_contact_signs_in_again_with_email_and_password(portal_user):
    client = Client(headers={"accept-language": "en"})
    response = login(client, email="JAN@devries.example")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal-home")
    assert client.get(reverse("portal-home")).status_code == 200


def test_wrong_password_or_address_is_refused_alike(portal_user):
    client = Client(headers={"accept-language": "en"})
    wrong = login(client, password="verkeerd-wachtwoord")
    unknown = login(client, email="niemand@example.nl")
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert not response.wsgi_request.user.is_authenticated
        assert "do not match a portal account" in response.content.decode()


def test_staff_cannot_sign_in_through_the_portal(staff):
    from tests.factories import PASSWORD

    client = Client(headers={"accept-language": "en"})
    response = login(client, email=staff.email, password=PASSWORD)
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_revoked_contact_cannot_sign_in(portal_user, contact, owner):
    from portal import services

    services.revoke(relation=contact, user=owner)
    response = login(Client())
    assert not response.wsgi_request.user.is_authenticated


def test_logout_returns_to_the_portal_sign_in(portal_client):
    page = portal_client.get(reverse("portal-home")).content.decode()
    assert f'value="{reverse("portal-login")}"' in page
    response = portal_client.post(reverse("logout"), {"next": reverse("portal-login")})
    assert response["Location"] == reverse("portal-login")
