"""The address form's "Look up address": a proposal from the register (the fake PDOK), with and
without JavaScript, that never overwrites what was typed, and a form that still works when the
register does not answer."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lookups.models import LookupResult
from relations.models import Address
from tests.factories import AddressFactory, RelationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice)


def new_url(relation):
    return reverse("relations-address-new", args=[relation.public_id])


def typed(**fields):
    data = {
        "type": "visiting",
        "street": "",
        "house_number": "123",
        "house_number_addition": "",
        "postcode": "1015 cj",
        "city": "",
        "country": "NL",
        "is_default": "on",
    }
    return {**data, **fields}


def test_no_provider_no_button(staff_client, relation):
    page = staff_client.get(new_url(relation)).content.decode()
    assert 'name="lookup"' not in page


def test_button_on_the_form_when_configured(staff_client, relation, lookups_on):
    page = staff_client.get(new_url(relation)).content.decode()
    assert 'name="lookup" value="find"' in page
    # After Save, so that Enter in a field saves.
    assert page.index('class="button primary"') < page.index('name="lookup"')


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_proposal_fills_empty_street_and_city(staff_client, relation, lookups_on, pdok, headers):
    response = staff_client.post(new_url(relation), typed(lookup="find"), **headers)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="Keizersgracht"' in page
    assert 'value="Amsterdam"' in page
    assert "Found in PDOK Locatieserver" in page
    assert not Address.objects.filter(relation=relation).exists()  # a proposal, nothing saved
    assert ("<html" in page) is not bool(headers)  # a page of its own without htmx, else a fragment
    # Cached with its date: the same question again does not reach the register.
    staff_client.post(new_url(relation), typed(lookup="find"), **headers)
    assert pdok.requests[pdok.seen[0][1]] == 1
    assert LookupResult.objects.get(kind="address").status == "found"


def test_typed_values_are_kept_and_the_register_shown_beside(staff_client, relation, lookups_on):
    page = staff_client.post(
        new_url(relation), typed(street="Prinsengracht", lookup="find")
    ).content.decode()
    assert 'value="Prinsengracht"' in page
    assert 'value="Keizersgracht"' not in page
    assert 'value="Amsterdam"' in page  # the empty city is proposed
    assert "you: Prinsengracht · register: Keizersgracht" in page
    assert 'name="lookup" value="take"' in page
    taken = staff_client.post(
        new_url(relation), typed(street="Prinsengracht", lookup="take")
    ).content.decode()
    assert 'value="Keizersgracht"' in taken


def test_then_save_stores_the_address(staff_client, relation, lookups_on):
    staff_client.post(new_url(relation), typed(lookup="find"))
    response = staff_client.post(new_url(relation), typed(street="Keizersgracht", city="Amsterdam"))
    assert response.status_code == 302
    assert Address.objects.get(relation=relation).street == "Keizersgracht"


@pytest.mark.parametrize("status", [429, 503])
def test_register_down_is_not_available_and_the_form_still_works(
    staff_client, relation, lookups_on, pdok, status
):
    pdok.fail_next(status=status)
    page = staff_client.post(
        new_url(relation), typed(street="Eigen straat", lookup="find")
    ).content.decode()
    assert "Address look-up is not available right now" in page
    assert 'value="Eigen straat"' in page
    assert 'value="1015 cj"' in page
    assert not LookupResult.objects.exists()  # a failure is not cached


def test_not_found_and_bad_questions(staff_client, relation, lookups_on):
    page = staff_client.post(new_url(relation), typed(postcode="9999ZZ", lookup="find"))
    assert "No address found" in page.content.decode()
    page = staff_client.post(new_url(relation), typed(house_number="", lookup="find"))
    assert "Fill in the postcode and house number first." in page.content.decode()
    page = staff_client.post(new_url(relation), typed(country="BE", lookup="find"))
    assert "Dutch addresses only" in page.content.decode()
    page = staff_client.post(new_url(relation), typed(postcode="ABC", lookup="find"))
    assert "not a Dutch postcode" in page.content.decode()


def test_edit_keeps_the_merge_base(staff_client, relation, lookups_on):
    address = AddressFactory(relation=relation, street="", city="Oud", postcode="1015CJ")
    url = reverse("relations-address-edit", args=[relation.public_id, address.pk])
    form = staff_client.get(url).context["form"]
    loaded = form["loaded"].value()
    page = staff_client.post(url, typed(city="Oud", loaded=loaded, lookup="find")).content.decode()
    assert 'value="Keizersgracht"' in page
    assert "register: Amsterdam" in page
    assert (
        staff_client.post(url, typed(street="Keizersgracht", city="Oud", loaded=loaded)).status_code
        == 302
    )
    address.refresh_from_db()
    assert (address.street, address.city) == ("Keizersgracht", "Oud")


def test_settings_are_the_offices_own(outsider_client, other_practice, lookups_on):
    other = RelationFactory(practice=other_practice)
    assert 'name="lookup"' not in outsider_client.get(new_url(other)).content.decode()
    page = outsider_client.post(new_url(other), typed(lookup="find")).content.decode()
    assert 'value="Keizersgracht"' not in page


def test_in_dutch_the_button_and_not_available(staff_client, relation, lookups_on, pdok):
    dutch = {"accept-language": "nl"}
    assert "Adres opzoeken" in staff_client.get(new_url(relation), headers=dutch).content.decode()
    pdok.fail_next(status=503)
    page = staff_client.post(new_url(relation), typed(lookup="find"), headers=dutch)
    page = page.content.decode()
    assert "Adres opzoeken is nu niet beschikbaar" in page
