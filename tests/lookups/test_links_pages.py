"""The owner's page for look-ups and links, and a relation's override on its Tools tab: all
plain forms (no JavaScript)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lookups.models import LookupSettings, OfficeLink, RelationLink
from sync.models import LedgerConnection
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def tools(relation):
    return reverse("relations-tab", args=[relation.public_id, "tools"])


def test_owner_turns_look_ups_on_and_the_key_is_encrypted(owner_client, practice):
    assert owner_client.get(reverse("lookups-settings")).status_code == 200
    assert not LookupSettings.objects.exists()  # a GET creates nothing
    response = owner_client.post(
        reverse("lookups-settings"),
        {"address_provider": "pdok", "vat_provider": "vies", "kvk_api_key": "geheim-1234567890"},
    )
    assert response.status_code == 302
    saved = LookupSettings.objects.get(practice=practice)
    assert saved.address_provider == "pdok"
    assert "geheim" not in saved.kvk_api_key_encrypted
    assert saved.kvk_api_key == "geheim-1234567890"
    page = owner_client.get(reverse("lookups-settings")).content.decode()
    assert "geheim" not in page
    assert "••••7890" in page
    # Left empty, the stored key stays.
    owner_client.post(reverse("lookups-settings"), {"address_provider": "", "vat_provider": ""})
    saved.refresh_from_db()
    assert saved.kvk_api_key == "geheim-1234567890"
    assert saved.address_provider == ""


def test_staff_may_not_configure(staff_client):
    assert staff_client.get(reverse("lookups-settings")).status_code == 403


def test_owner_adds_a_client_link_turns_it_off_for_one_client(owner_client, staff_client, practice):
    """The journey of the issue, without the portal: the owner adds "Uw administratie", turns it
    off for one client; staff see it with the code filled in on the other."""
    LedgerConnection.objects.create(practice=practice, office_code="NLA001")
    first = RelationFactory(practice=practice, client_code="1001")
    second = RelationFactory(practice=practice, client_code="1002")
    response = owner_client.post(
        reverse("lookups-link-new"),
        {
            "name": "Uw administratie",
            "url_template": "https://twinfield.example/{office_code}/{client_code}",
            "audience": "both",
            "on_by_default": "on",
        },
    )
    assert response.status_code == 302
    link = OfficeLink.objects.get()
    assert (
        owner_client.post(
            reverse("lookups-link-override", args=[second.public_id, link.pk]), {"url_template": ""}
        ).status_code
        == 302
    )
    assert RelationLink.objects.get(relation=second).enabled is False
    first_tab = staff_client.get(tools(first)).content.decode()
    assert 'href="https://twinfield.example/NLA001/1001"' in first_tab
    second_tab = staff_client.get(tools(second)).content.decode()
    assert "twinfield.example" not in second_tab
    assert "off for this relation" in second_tab


def test_a_javascript_link_is_refused_on_save(owner_client, staff_client, practice):
    response = owner_client.post(
        reverse("lookups-link-new"),
        {"name": "Boos", "url_template": "javascript:alert(document.cookie)", "audience": "staff"},
    )
    assert response.status_code == 200
    assert "must start with https:, mailto: or tel:" in response.content.decode()
    assert not OfficeLink.objects.exists()
    link = OfficeLink.objects.create(
        practice=practice, name="Goed", url_template="https://example.nl/{kvk}"
    )
    relation = RelationFactory(practice=practice, kvk_number="12345678")
    staff_client.post(
        reverse("lookups-link-override", args=[relation.public_id, link.pk]),
        {"enabled": "on", "url_template": "javascript:alert(1)"},
    )
    assert not RelationLink.objects.exists()
    page = staff_client.get(tools(relation)).content.decode()
    assert "javascript:" not in page
    assert 'href="https://example.nl/12345678"' in page


def test_another_offices_link_is_404(staff_client, practice, other_practice):
    theirs = OfficeLink.objects.create(
        practice=other_practice, name="Van B", url_template="https://b.example/"
    )
    relation = RelationFactory(practice=practice)
    response = staff_client.post(
        reverse("lookups-link-override", args=[relation.public_id, theirs.pk]), {"enabled": "on"}
    )
    assert response.status_code == 404
    assert not RelationLink.objects.exists()
