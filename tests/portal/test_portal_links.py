"""The office's client-audience links in the portal, under each client the contact is connected
to; a client for which a link is off does not show it; staff-only links never show."""

import pytest
from django.urls import reverse

from lookups.models import OfficeLink, RelationLink
from sync.models import LedgerConnection
from tests.factories import RelationFactory
from tests.portal.test_portal import connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clients(contact, practice):
    LedgerConnection.objects.create(practice=practice, office_code="NLA001")
    first = RelationFactory(practice=practice, legal_name="Eerste Klant B.V.", client_code="1001")
    second = RelationFactory(practice=practice, legal_name="Tweede Klant B.V.", client_code="1002")
    connect(contact, first)
    connect(contact, second)
    link = OfficeLink.objects.create(
        practice=practice,
        name="Uw administratie",
        url_template="https://twinfield.example/{kantoorcode}/{klantcode}",
        audience=OfficeLink.Audience.CLIENT,
    )
    OfficeLink.objects.create(
        practice=practice, name="Alleen kantoor", url_template="https://intern.example/{klantcode}"
    )
    RelationLink.objects.create(link=link, relation=second, enabled=False)
    return first, second


def test_the_contact_sees_the_link_under_the_first_client_only(portal_client, two_clients):
    page = portal_client.get(reverse("portal-home")).content.decode()
    assert 'href="https://twinfield.example/NLA001/1001"' in page
    assert "https://twinfield.example/NLA001/1002" not in page
    assert page.count("Uw administratie") == 1
    assert "Alleen kantoor" not in page
    assert "intern.example" not in page


def test_the_query_count_stays_fixed_with_links(
    portal_client, contact, practice, two_clients, django_assert_num_queries
):
    # The 7 of the page without links, and the overrides and the ledger's office code: 9 for
    # however many clients.
    for n in range(4):
        connect(contact, RelationFactory(practice=practice, legal_name=f"Klant {n} B.V."))
    with django_assert_num_queries(9):
        portal_client.get(reverse("portal-home"))
