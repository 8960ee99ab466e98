"""The flow around the list: selecting for a bulk action, the way back from a relation with the
list's filters, and the next step an empty page offers."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from relations.models import Relation
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

LIST = "/relations/"
BULK = "/relations/bulk/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def messages_of(response) -> list[str]:
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


# --- select all matching ----------------------------------------------------------------------


@pytest.fixture
def bakers(practice, other_practice):
    """Three contacts matching `q=bakker&kind=contact`, and rows that must stay untouched."""
    matching = [
        RelationFactory(practice=practice, contact=True, legal_name=f"Bakkerij {n}")
        for n in range(3)
    ]
    untouched = [
        RelationFactory(practice=practice, legal_name="Bakkerij Klant"),  # a client
        RelationFactory(practice=practice, contact=True, legal_name="Slagerij"),  # no match
        RelationFactory(
            practice=practice,
            contact=True,
            legal_name="Bakkerij Oud",
            archived_at=timezone.now(),  # not in the active list
        ),
        RelationFactory(practice=other_practice, contact=True, legal_name="Bakkerij Elders"),
    ]
    return matching, untouched


def test_the_list_offers_select_all_matching_with_the_count(staff_client, bakers):
    html = staff_client.get(LIST, {"q": "bakker", "kind": "contact"}).content.decode()

    assert 'name="scope" value="matching"' in html
    assert "Select all 3 matching relations" in html
    assert 'name="filters" value="q=bakker&amp;kind=contact"' in html
    assert 'name="expected" value="3"' in html


def test_select_all_matching_applies_to_exactly_the_filtered_set(staff_client, bakers):
    matching, untouched = bakers

    response = staff_client.post(
        BULK,
        {
            "action": "archive",
            "confirmed": "1",  # as from the archive's confirm page
            "scope": "matching",
            "filters": "q=bakker&kind=contact",
            "expected": "3",
            "next": "/relations/?q=bakker&kind=contact",
        },
    )

    assert response.status_code == 302
    assert messages_of(response) == ["3 archived, 0 skipped."]
    for relation in matching:
        relation.refresh_from_db()
        assert relation.archived_at is not None
    for relation in untouched:
        before = relation.archived_at
        relation.refresh_from_db()
        assert relation.archived_at == before


def test_select_all_matching_is_scoped_to_the_members_own_relations(staff_client, staff, practice):
    mine = RelationFactory(practice=practice, contact=True, legal_name="Mijn BV")
    theirs = RelationFactory(practice=practice, contact=True, legal_name="Hun BV")
    from relations.models import TeamAssignment

    TeamAssignment.objects.create(
        practice=practice, relation=mine, user=staff, role=TeamAssignment.Role.RELATIONSHIP_MANAGER
    )

    staff_client.post(
        BULK,
        {
            "action": "archive",
            "confirmed": "1",
            "scope": "matching",
            "filters": "team=mine",
            "expected": "1",
        },
    )

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.archived_at is not None
    assert theirs.archived_at is None


def test_select_all_matching_refuses_when_the_set_changed_since_it_was_shown(staff_client, bakers):
    matching, _untouched = bakers

    response = staff_client.post(
        BULK,
        {
            "action": "archive",
            "confirmed": "1",  # as from the archive's confirm page
            "scope": "matching",
            "filters": "q=bakker&kind=contact",
            "expected": "2",
        },
    )

    assert messages_of(response) == [
        "3 relations match these filters now, not 2: the list changed since you looked. "
        "Nothing was changed."
    ]
    assert not Relation.objects.filter(pk__in=[r.pk for r in matching], archived_at__isnull=False)


def test_bulk_buttons_are_disabled_until_something_is_selected_without_js_a_clear_refusal(
    staff_client, bakers, settings
):
    """The buttons are enabled without JavaScript (list.js disables them); the server refuses an
    empty selection with a clear message, in Dutch too."""
    html = staff_client.get(LIST).content.decode()
    assert re.search(r'<script src="[^"]*js/list\.js" defer></script>', html)
    assert "data-bulk-form" in html

    response = staff_client.post(BULK, {"action": "archive", "next": LIST})
    assert messages_of(response) == ["Select at least one relation first. Nothing was changed."]

    staff_client.get(LIST)  # shows, and so consumes, the English message
    settings.LANGUAGE_CODE = "nl"
    response = staff_client.post(
        BULK, {"action": "archive", "next": LIST}, HTTP_ACCEPT_LANGUAGE="nl"
    )
    assert messages_of(response) == ["Selecteer eerst minstens één relatie. Er is niets gewijzigd."]


# --- the breadcrumb back to the list --------------------------------------------------------


def test_breadcrumb_keeps_the_list_filters(staff_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Bakkerij Zon", contact=True)
    for n in range(3):
        RelationFactory(practice=practice, contact=True, legal_name=f"Bakkerij {n}")

    listing = staff_client.get(LIST, {"q": "bakker", "kind": "contact", "per_page": "25"})
    row = next(r for r in listing.context["relations"] if r.display_name == "Bakkerij Zon")
    assert row.url.startswith(relation.get_absolute_url() + "?back=")

    detail = staff_client.get(row.url)
    back = detail.context["list_url"]
    assert urlsplit(back).path == LIST
    assert parse_qs(urlsplit(back).query) == {
        "q": ["bakker"],
        "kind": ["contact"],
        "per_page": ["25"],
    }
    html = detail.content.decode()
    assert f'<a href="{back.replace("&", "&amp;")}">Relations</a>' in html
    # The tabs carry it on, so that the way back survives moving between them.
    addresses = next(url for slug, _label, url in detail.context["tabs"] if slug == "addresses")
    assert "back=" in addresses
    assert staff_client.get(addresses).context["list_url"] == back


def test_breadcrumb_keeps_the_page_of_the_list(staff_client, practice):
    relation = RelationFactory(practice=practice)
    url = relation.get_absolute_url() + "?back=kind%3Dclient%26page%3D3"

    assert staff_client.get(url).context["list_url"] == "/relations/?kind=client&page=3"


@pytest.mark.parametrize(
    "back",
    [
        "//evil.example/relations/",
        "https://evil.example/",
        "/\\evil.example",
        "q=x&next=https://evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "kind=nonsense&sort=';drop",
    ],
)
def test_breadcrumb_back_link_is_never_an_open_redirect(staff_client, practice, back):
    relation = RelationFactory(practice=practice)

    response = staff_client.get(relation.get_absolute_url(), {"back": back})

    list_url = response.context["list_url"]
    parts = urlsplit(list_url)
    assert parts.scheme == ""
    assert parts.netloc == ""
    assert parts.path == LIST
    assert set(parse_qs(parts.query)) <= {"q"}
    assert parse_qs(parts.query) in ({}, {"q": ["x"]})


def test_detail_without_back_links_to_the_plain_list(staff_client, practice):
    relation = RelationFactory(practice=practice)

    assert staff_client.get(relation.get_absolute_url()).context["list_url"] == LIST


# --- empty states ---------------------------------------------------------------------------


def test_empty_states_offer_the_next_step(owner_client, staff_client, readonly_client, practice):
    # A new office: how to add or import relations.
    html = owner_client.get(LIST).content.decode()
    assert "There are no relations yet." in html
    assert f'href="{reverse("relations-new")}"' in html
    assert f'href="{reverse("sync-import")}"' in html
    staff_html = staff_client.get(LIST).content.decode()
    assert "There are no relations yet." in staff_html
    assert f'href="{reverse("sync-import")}"' not in staff_html  # the import is the owner's
    assert "There are no relations yet." in readonly_client.get(LIST).content.decode()

    # Filters that match nothing: a way to clear them.
    RelationFactory(practice=practice, legal_name="Zwaan BV")
    html = owner_client.get(LIST, {"q": "nergens"}).content.decode()
    assert "No relations match these filters." in html
    assert f'<a class="button secondary" href="{LIST}">Clear the filters</a>' in html

    # A relation's empty tabs: a button to add the first one.
    relation = Relation.objects.get(legal_name="Zwaan BV")
    for tab, empty, add_url, label in [
        ("addresses", "No addresses yet.", "relations-address-new", "Add the first address"),
        ("banks", "No bank accounts yet.", "relations-bank-new", "Add the first bank account"),
        ("agreements", "No running agreements.", "relations-agreement-new", "Add an agreement"),
    ]:
        html = staff_client.get(reverse("relations-tab", args=[relation.public_id, tab])).content
        html = html.decode()
        empty_state = html.split(empty, 1)[1].split("</div>", 1)[0]
        assert f'href="{reverse(add_url, args=[relation.public_id])}"' in empty_state, tab
        assert label in empty_state, tab
    # Read-only members see the empty state without a button they may not use.
    html = readonly_client.get(reverse("relations-tab", args=[relation.public_id, "addresses"]))
    assert "Add the first address" not in html.content.decode()


def test_empty_state_is_in_dutch(owner_client, practice, settings):
    settings.LANGUAGE_CODE = "nl"
    html = owner_client.get(LIST, HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Er zijn nog geen relaties." in html
