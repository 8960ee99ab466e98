"""The company form's "Fetch from KvK": the KvK's values beside the typed ones, taken field by
field, never overwriting what was typed unasked; not available when the KvK cannot answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse

from lookups.models import LookupSettings
from relations.models import Relation
from tests.factories import RelationFactory
from tests.fakes.kvk import API_KEY, FakeKvk

pytestmark = pytest.mark.django_db
NEW = reverse("relations-new")


@pytest.fixture
def kvk(practice) -> Iterator[FakeKvk]:
    with FakeKvk() as fake:
        fake.add(
            "68750110",
            "Bakkerij De Korenschoof B.V.",
            trade_names=("Bakkerij De Korenschoof B.V.", "De Korenschoof"),
            sbi=("1071",),
        )
        settings = LookupSettings(practice=practice, kvk_url=fake.base_url)
        settings.kvk_api_key = API_KEY
        settings.save()
        yield fake


def company(**fields):
    data = {
        "kind": "client",
        "entity": "company",
        "legal_name": "",
        "kvk_number": "68750110",
        "language": "nl",
        "client_code": "",
    }
    return data | fields


def test_no_key_no_button(staff_client):
    page = staff_client.get(NEW, {"kind": "client", "entity": "company"}).content.decode()
    assert 'name="kvk_lookup"' not in page


def test_fetch_proposes_and_keeps_a_typed_field(staff_client, kvk):
    page = staff_client.get(NEW, {"kind": "client", "entity": "company"}).content.decode()
    assert 'name="kvk_lookup" value="find"' in page
    proposal = staff_client.post(
        NEW, company(trade_name="Mijn Eigen Naam", kvk_lookup="find")
    ).content.decode()
    assert "Bakkerij De Korenschoof B.V." in proposal
    assert 'name="take_legal_name" id="take_legal_name" value="1" checked' in proposal
    # The typed trade name is offered, not ticked, and still in the form.
    assert 'name="take_trade_name" id="take_trade_name" value="1">' in proposal
    assert 'value="Mijn Eigen Naam"' in proposal
    assert not Relation.objects.exists()
    taken = staff_client.post(
        NEW,
        company(
            trade_name="Mijn Eigen Naam",
            kvk_lookup="take",
            take_legal_name="1",
            take_legal_form="1",
            take_establishment_number="1",
            take_sbi_code="1",
        ),
    ).content.decode()
    assert 'value="Bakkerij De Korenschoof B.V."' in taken
    assert 'value="Mijn Eigen Naam"' in taken
    assert 'value="000037178598"' in taken
    assert 'value="bv" selected' in taken
    assert kvk.requests["/api/v1/basisprofielen/68750110"] == 1  # the take came from the cache


@pytest.mark.parametrize("status", [429, 503])
def test_kvk_down_is_not_available_and_the_form_still_works(staff_client, kvk, status):
    kvk.fail_next(status=status)
    page = staff_client.post(NEW, company(legal_name="Getypt B.V.", kvk_lookup="find"))
    text = page.content.decode()
    assert "The KvK is not available right now" in text
    assert 'value="Getypt B.V."' in text
    saved = staff_client.post(NEW, company(legal_name="Getypt B.V."))
    assert saved.status_code == 302, saved.context["form"].errors
    assert Relation.objects.get().legal_name == "Getypt B.V."


def test_unknown_and_missing_numbers(staff_client, kvk):
    assert (
        "knows no company"
        in staff_client.post(
            NEW, company(kvk_number="12345678", kvk_lookup="find")
        ).content.decode()
    )
    assert (
        "Fill in the KvK number first."
        in staff_client.post(NEW, company(kvk_number="", kvk_lookup="find")).content.decode()
    )


def test_on_the_edit_form_too_with_its_version(staff_client, practice, kvk):
    relation = RelationFactory(
        practice=practice, legal_name="Oude Naam B.V.", kvk_number="68750110"
    )
    url = reverse("relations-edit", args=[relation.public_id])
    form = staff_client.get(url).context["form"]
    data = {
        "legal_name": "Oude Naam B.V.",
        "kvk_number": "68750110",
        "version": form["version"].value(),
        "loaded": form["loaded"].value(),
        "email": relation.email,
        "client_code": relation.client_code,
        "language": relation.language,
    }
    page = staff_client.post(url, data | {"kvk_lookup": "find"}).content.decode()
    assert 'value="Oude Naam B.V."' in page
    assert "Bakkerij De Korenschoof B.V." in page
    assert f'name="version" value="{relation.version}"' in page
    relation.refresh_from_db()
    assert relation.legal_name == "Oude Naam B.V."


def test_no_button_for_a_private_person(staff_client, kvk):
    page = staff_client.get(NEW, {"kind": "client", "entity": "private"}).content.decode()
    assert 'name="kvk_lookup"' not in page
