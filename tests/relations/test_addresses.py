"""The Addresses tab: add, edit and remove inline (htmx) and as plain pages (no JavaScript)."""

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from practice.models import Membership
from relations.models import Address, Relation, TimelineEvent
from relations.views.parts import tab_context
from tests.factories import AddressFactory, RelationFactory

pytestmark = pytest.mark.django_db

CONFIRMED = {"confirmed": "1"}  # the answer on the confirm page (practice/confirm.py)

HTMX = {"HTTP_HX_REQUEST": "true"}
VALID = {
    "type": "visiting",
    "street": "Herengracht",
    "house_number": "12",
    "house_number_addition": "A",
    "postcode": "1015cj",
    "city": "Amsterdam",
    "country": "nl",
    "is_default": "on",
}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice)


def new_url(relation):
    return reverse("relations-address-new", args=[relation.public_id])


def edit_url(relation, address):
    return reverse("relations-address-edit", args=[relation.public_id, address.pk])


def remove_url(relation, address):
    return reverse("relations-address-remove", args=[relation.public_id, address.pk])


def tab_url(relation):
    return reverse("relations-tab", args=[relation.public_id, "addresses"])


def ledger_version(relation):
    return Relation.objects.values_list("ledger_version", flat=True).get(pk=relation.pk)


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- adding ------------------------------------------------------------------------------------


def test_it_adds_an_address_and_redirects_to_the_tab(staff_client, staff, relation):
    response = staff_client.post(new_url(relation), VALID)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    address = relation.addresses.get()
    assert address.street_line == "Herengracht 12-A"
    assert address.postcode == "1015 CJ"
    assert address.country == "NL"
    assert address.is_default
    event = relation.timeline.get()
    assert (event.kind, event.actor, event.fields) == (
        TimelineEvent.Kind.ADDRESS_ADDED,
        staff,
        [],
    )
    assert ledger_version(relation) == 2
    assert message_texts(response) == ["Address added."]


def test_first_address_of_a_type_is_its_default_even_unticked(owner_client, relation):
    AddressFactory(relation=relation, type="postal", is_default=True)

    owner_client.post(new_url(relation), {**VALID, "is_default": ""})

    assert relation.addresses.get(type="visiting").is_default


def test_a_new_default_takes_over_within_its_type_only(owner_client, relation):
    old = AddressFactory(relation=relation, type="visiting", is_default=True)
    postal = AddressFactory(relation=relation, type="postal", is_default=True)

    owner_client.post(new_url(relation), VALID)

    old.refresh_from_db()
    postal.refresh_from_db()
    assert not old.is_default
    assert postal.is_default
    assert relation.addresses.get(street="Herengracht").is_default


def test_a_contact_address_does_not_touch_the_ledger(owner_client, practice):
    contact = RelationFactory(practice=practice, contact=True)

    owner_client.post(new_url(contact), VALID)

    assert contact.addresses.count() == 1
    assert ledger_version(contact) == 1


def test_wrong_dutch_postcode_is_a_field_error_and_nothing_is_written(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "postcode": "12345"})

    assert response.status_code == 200
    assert "postcode" in response.context["form"].errors
    assert "A Dutch postcode looks like 1234 AB." in response.content.decode()
    assert b"<html" in response.content  # the full page without JavaScript
    assert not Address.objects.exists()
    assert not TimelineEvent.objects.exists()
    assert ledger_version(relation) == 1


def test_foreign_postcode_is_not_checked_as_dutch(staff_client, relation):
    response = staff_client.post(
        new_url(relation), {**VALID, "postcode": "b-1000", "country": "be", "city": "Brussel"}
    )

    assert response.status_code == 302
    assert relation.addresses.get().postcode == "B-1000"


# --- editing -----------------------------------------------------------------------------------


def test_it_edits_an_address_and_names_the_changed_fields(staff_client, relation):
    address = AddressFactory(relation=relation, city="Amsterdam", postcode="1015 CJ")

    response = staff_client.post(
        edit_url(relation, address),
        {
            **VALID,
            "street": address.street,
            "house_number": address.house_number,
            "house_number_addition": "",
            "country": "NL",
            "city": "Haarlem",
            "postcode": "2011 AB",
        },
    )

    assert response.status_code == 302
    address.refresh_from_db()
    assert (address.city, address.postcode) == ("Haarlem", "2011 AB")
    event = relation.timeline.get()
    assert event.kind == TimelineEvent.Kind.ADDRESS_CHANGED
    assert event.fields == ["city", "postcode"]
    assert ledger_version(relation) == 2
    assert Relation.objects.get(pk=relation.pk).search_text.count("haarlem") == 1


def test_edit_form_without_javascript_is_a_full_page(staff_client, relation):
    address = AddressFactory(relation=relation, street="Damrak")

    response = staff_client.get(edit_url(relation, address))

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert 'value="Damrak"' in page
    assert f'action="{edit_url(relation, address)}"' in page
    assert f'href="{tab_url(relation)}"' in page  # Cancel
    assert "hx-post" not in page  # the page's own form posts the ordinary way


def test_form_fragment_for_htmx_has_labels_and_posts_inline(staff_client, relation):
    response = staff_client.get(new_url(relation), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert f'hx-post="{new_url(relation)}"' in page
    assert f'action="{new_url(relation)}"' in page
    for name in ("type", "street", "postcode", "city", "country", "is_default"):
        assert f'for="id_{name}"' in page


def test_htmx_post_returns_the_refreshed_list(staff_client, relation):
    response = staff_client.post(new_url(relation), VALID, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="addresses-list"' in page
    assert "Herengracht 12-A" in page
    assert "Address added." in page  # shown in the fragment ...
    assert response["HX-Retarget"] == "#addresses-list"
    assert response["HX-Reswap"] == "outerHTML"
    assert "Address added." not in staff_client.get(new_url(relation)).content.decode()  # ... once


def test_htmx_post_with_errors_returns_the_form_with_the_error(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "postcode": "ABCD 12"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="id_postcode_error"' in page
    assert "A Dutch postcode looks like 1234 AB." in page
    assert "HX-Retarget" not in response
    assert not Address.objects.exists()


# --- removing ----------------------------------------------------------------------------------


def test_it_removes_an_address_and_promotes_the_next_default(staff_client, staff, relation):
    default = AddressFactory(relation=relation, type="visiting", is_default=True)
    other = AddressFactory(relation=relation, type="visiting", is_default=False)

    response = staff_client.post(remove_url(relation, default), CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    assert list(relation.addresses.all()) == [other]
    other.refresh_from_db()
    assert other.is_default
    event = relation.timeline.get()
    assert (event.kind, event.actor) == (TimelineEvent.Kind.ADDRESS_REMOVED, staff)
    assert ledger_version(relation) == 2


def test_htmx_remove_returns_the_list_fragment(staff_client, relation):
    address = AddressFactory(relation=relation, street="Damrak")

    response = staff_client.post(remove_url(relation, address), CONFIRMED, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "Damrak" not in page
    assert "No addresses yet." in page


# --- who may do what ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(client, relation, method):
    address = AddressFactory(relation=relation)
    for url in (new_url(relation), edit_url(relation, address)):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.post(remove_url(relation, address))
    assert response["Location"].startswith(reverse("login"))
    assert relation.addresses.count() == 1


def test_outsider_gets_404(outsider_client, relation):
    address = AddressFactory(relation=relation)

    assert outsider_client.get(new_url(relation)).status_code == 404
    assert outsider_client.post(new_url(relation), VALID).status_code == 404
    assert outsider_client.post(edit_url(relation, address), VALID).status_code == 404
    assert outsider_client.post(remove_url(relation, address)).status_code == 404
    assert relation.addresses.count() == 1
    assert not TimelineEvent.objects.exists()


def test_another_relations_address_is_404_under_your_own_relation(staff_client, practice, relation):
    """Children are loaded through their relation, never by primary key alone."""
    foreign = AddressFactory(relation=RelationFactory(practice=practice), city="Utrecht")

    assert staff_client.get(edit_url(relation, foreign)).status_code == 404
    assert staff_client.post(edit_url(relation, foreign), VALID).status_code == 404
    assert staff_client.post(remove_url(relation, foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.city == "Utrecht"


def test_outsider_cannot_reach_an_address_through_their_own_relation(
    outsider_client, other_practice, relation
):
    own = RelationFactory(practice=other_practice)
    theirs = AddressFactory(relation=relation)

    assert outsider_client.get(edit_url(own, theirs)).status_code == 404
    assert outsider_client.post(remove_url(own, theirs)).status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()


def test_read_only_member_gets_403(readonly_client, relation):
    address = AddressFactory(relation=relation)

    assert readonly_client.get(new_url(relation)).status_code == 403
    assert readonly_client.get(new_url(relation), **HTMX).status_code == 403
    assert readonly_client.post(new_url(relation), VALID).status_code == 403
    assert readonly_client.post(edit_url(relation, address), VALID).status_code == 403
    assert readonly_client.post(remove_url(relation, address)).status_code == 403
    assert relation.addresses.count() == 1
    assert not TimelineEvent.objects.exists()


def test_wrong_method_is_405(staff_client, relation):
    address = AddressFactory(relation=relation)

    assert staff_client.put(new_url(relation)).status_code == 405
    assert staff_client.delete(edit_url(relation, address)).status_code == 405
    assert staff_client.put(remove_url(relation, address)).status_code == 405
    # GET is the confirm page (practice/confirm.py) and changes nothing.
    assert staff_client.get(remove_url(relation, address)).status_code == 200
    assert relation.addresses.count() == 1


def test_archived_relation_refuses_changes(staff_client, practice):
    archived = RelationFactory(practice=practice, archived_at=timezone.now())
    address = AddressFactory(relation=archived, city="Utrecht")

    response = staff_client.post(new_url(archived), VALID)
    assert response.status_code == 302
    assert response["Location"] == tab_url(archived)
    assert "archived" in message_texts(response)[0]

    assert staff_client.get(edit_url(archived, address)).status_code == 302
    staff_client.post(edit_url(archived, address), {**VALID, "city": "Haarlem"})
    staff_client.post(remove_url(archived, address))

    address.refresh_from_db()
    assert address.city == "Utrecht"
    assert archived.addresses.count() == 1
    assert not TimelineEvent.objects.exists()
    assert ledger_version(archived) == 1


def test_archived_relation_refusal_with_htmx_is_a_full_navigation(staff_client, practice):
    archived = RelationFactory(practice=practice, archived_at=timezone.now())

    response = staff_client.post(new_url(archived), VALID, **HTMX)

    assert response["HX-Redirect"] == tab_url(archived)
    assert not Address.objects.exists()


# --- the tab itself ----------------------------------------------------------------------------


@pytest.fixture
def member_request():
    def make(user, relation):
        request = RequestFactory().get(tab_url(relation))
        request.user = user
        request.membership = Membership.objects.get(user=user)
        return request

    return make


def test_tab_lists_addresses_by_type_with_controls(member_request, staff, relation):
    AddressFactory(relation=relation, type="invoice", street="Factuurweg", is_default=True)
    AddressFactory(relation=relation, type="visiting", street="Bezoekstraat", is_default=True)
    AddressFactory(relation=relation, type="postal", street="Postbus", is_default=True)
    request = member_request(staff, relation)

    context = {"relation": relation, **tab_context(request, relation, "addresses")}
    page = render_to_string("relations/tabs/addresses.html", context, request=request)

    assert page.index("Bezoekstraat") < page.index("Postbus") < page.index("Factuurweg")
    assert "Visiting address" in page
    assert "Invoice address" in page
    assert f'href="{new_url(relation)}"' in page
    assert 'hx-target="#addresses-editor"' in page
    assert context["can_change"] is True


def test_tab_context_is_one_query(member_request, staff, relation, django_assert_num_queries):
    AddressFactory.create_batch(3, relation=relation, is_default=False)
    request = member_request(staff, relation)

    with django_assert_num_queries(1):
        tab_context(request, relation, "addresses")


def test_read_only_member_sees_no_controls(member_request, readonly, relation):
    address = AddressFactory(relation=relation)
    request = member_request(readonly, relation)

    context = {"relation": relation, **tab_context(request, relation, "addresses")}
    page = render_to_string("relations/tabs/addresses.html", context, request=request)

    assert address.street in page
    assert new_url(relation) not in page
    assert remove_url(relation, address) not in page


def test_moving_the_default_to_another_type_leaves_the_old_type_a_default(practice, staff):
    from relations import services

    relation = RelationFactory(practice=practice)
    first = AddressFactory(relation=relation, type="visiting", is_default=True)
    second = AddressFactory(relation=relation, type="visiting", is_default=False)
    first.type = "postal"
    services.save_address(relation=relation, user=staff, address=first, changed=["type"])
    second.refresh_from_db()
    assert second.is_default
