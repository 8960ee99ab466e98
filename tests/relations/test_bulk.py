"""Bulk actions on the list: convert to client, archive, restore, reported row by row (PRG)."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from relations.models import Relation, TimelineEvent
from relations.views import listing
from tests.factories import AddressFactory, RelationFactory

pytestmark = pytest.mark.django_db

URL = "/relations/bulk/"
LIST = "/relations/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def post(client, action, relations=(), *, ids=(), next_url=LIST, **extra):
    # Confirmed, as on the confirm page: what asking first does is in test_confirmations.py.
    data = {
        "action": action,
        "ids": [str(r.public_id) for r in relations] + list(ids),
        "confirmed": "1",
    }
    if next_url is not None:
        data["next"] = next_url
    return client.post(URL, data, **extra)


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def report(client) -> dict:
    return client.session[listing.BULK_RESULT_KEY]


@pytest.fixture
def contacts(practice):
    return [
        RelationFactory(practice=practice, contact=True, legal_name=f"Contact {n}")
        for n in range(3)
    ]


def test_url_name_is_relations_bulk():
    assert reverse("relations-bulk") == URL


def test_convert_to_client_converts_contacts_and_reports_the_rest(staff_client, practice, contacts):
    practice.client_code_next = 7000
    practice.save()
    client_row = RelationFactory(practice=practice, legal_name="Al Klant", client_code="0100")
    archived = RelationFactory(
        practice=practice, contact=True, legal_name="Weg BV", archived_at=timezone.now()
    )

    response = post(
        staff_client,
        "convert_to_client",
        [*contacts, client_row, archived],
        next_url="/relations/?q=c",
    )

    assert response.status_code == 302
    assert response["Location"] == "/relations/?q=c"
    for contact in contacts:
        contact.refresh_from_db()
        assert contact.kind == "client"
    assert sorted(c.client_code for c in contacts) == ["7000", "7001", "7002"]
    archived.refresh_from_db()
    assert archived.kind == "contact"
    assert archived.client_code == ""
    client_row.refresh_from_db()
    assert client_row.client_code == "0100"
    assert TimelineEvent.objects.filter(kind="converted_to_client").count() == 3
    assert texts(response) == ["3 converted to client, 2 skipped."]
    result = report(staff_client)
    assert result["action"] == "Convert to client"
    assert sorted(row[:3] for row in result["done"]) == [
        ["Contact 0", "7000", "Converted to client"],
        ["Contact 1", "7001", "Converted to client"],
        ["Contact 2", "7002", "Converted to client"],
    ]
    assert sorted(row[:2] for row in result["skipped"]) == [
        ["Al Klant", "already a client"],
        ["Weg BV", "archived; restore it first"],
    ]


def test_the_list_shows_the_report_once(staff_client, practice, contacts):
    RelationFactory(practice=practice, legal_name="Al Klant")
    post(
        staff_client, "convert_to_client", [*contacts, Relation.objects.get(legal_name="Al Klant")]
    )

    page = staff_client.get(LIST)

    html = page.content.decode()
    assert "Result: Convert to client" in html
    assert '<td>Contact 0 <span class="muted">Client · Company · ' in html
    assert "<td>Converted to client</td>" in html
    assert "Skipped: already a client" in html
    assert "3 converted to client, 1 skipped." in html
    assert listing.BULK_RESULT_KEY not in staff_client.session
    assert "Result: Convert to client" not in staff_client.get(LIST).content.decode()


def test_bulk_result_tells_same_named_relations_apart(staff_client, practice):
    """Two "Sanne Jansen"s in the report: kind, city and e-mail or code beside each name."""
    practice.client_code_next = 7000
    practice.save()
    utrecht = RelationFactory(
        practice=practice,
        contact=True,
        private=True,
        first_name="Sanne",
        last_name="Jansen",
        email="sanne@utrecht.example",
    )
    AddressFactory(relation=utrecht, type="invoice", city="Utrecht")
    client = RelationFactory(
        practice=practice,
        private=True,
        first_name="Sanne",
        last_name="Jansen",
        client_code="0042",
        email="",
    )
    AddressFactory(relation=client, city="Zwolle")

    post(staff_client, "convert_to_client", [utrecht, client])

    result = report(staff_client)
    assert result["done"] == [
        [
            "Sanne Jansen",
            "7000",
            "Converted to client",
            "Client · Private person · 7000 · Utrecht · sanne@utrecht.example",
        ]
    ]
    assert result["skipped"] == [
        ["Sanne Jansen", "already a client", "Client · Private person · 0042 · Zwolle"]
    ]
    html = staff_client.get(LIST).content.decode()
    assert "Utrecht · sanne@utrecht.example" in html
    assert "Client · Private person · 0042 · Zwolle" in html


def test_archive(owner_client, owner, practice, contacts):
    already = RelationFactory(practice=practice, legal_name="Oud BV", archived_at=timezone.now())

    response = post(owner_client, "archive", [*contacts[:2], already])

    assert response.status_code == 302
    archived = Relation.objects.filter(archived_at__isnull=False)
    assert set(archived.values_list("legal_name", flat=True)) == {
        "Contact 0",
        "Contact 1",
        "Oud BV",
    }
    assert Relation.objects.get(pk=contacts[0].pk).archived_by == owner
    assert Relation.objects.get(pk=contacts[2].pk).archived_at is None
    assert texts(response) == ["2 archived, 1 skipped."]
    assert [row[:2] for row in report(owner_client)["skipped"]] == [["Oud BV", "already archived"]]


def test_restore(staff_client, practice):
    gone = [
        RelationFactory(practice=practice, legal_name=f"Weg {n}", archived_at=timezone.now())
        for n in range(2)
    ]
    active = RelationFactory(practice=practice, legal_name="Hier BV")

    response = post(
        staff_client, "restore", [*gone, active], next_url="/relations/?status=archived"
    )

    assert response["Location"] == "/relations/?status=archived"
    assert not Relation.objects.filter(archived_at__isnull=False).exists()
    assert TimelineEvent.objects.filter(kind="restored").count() == 2
    assert texts(response) == ["2 restored, 1 skipped."]
    assert [row[:2] for row in report(staff_client)["skipped"]] == [["Hier BV", "not archived"]]


def test_foreign_and_unknown_ids_are_skipped_as_not_found_and_untouched(
    staff_client, practice, other_practice, contacts
):
    foreign = RelationFactory(practice=other_practice, contact=True, legal_name="Elders BV")
    unknown = "00000000-0000-4000-8000-000000000000"

    response = post(staff_client, "archive", [contacts[0], foreign], ids=[unknown, "not-an-id"])

    foreign.refresh_from_db()
    assert foreign.archived_at is None
    assert foreign.version == 1
    assert not TimelineEvent.objects.filter(relation=foreign).exists()
    assert Relation.objects.get(pk=contacts[0].pk).archived_at is not None
    assert texts(response) == ["1 archived, 3 skipped."]
    skipped = report(staff_client)["skipped"]
    assert skipped == [  # nothing of another practice's row: no hint beside its id either
        [str(foreign.public_id), "not found", ""],
        [unknown, "not found", ""],
        ["not-an-id", "not found", ""],
    ]
    assert "Elders BV" not in staff_client.get(LIST).content.decode()


def test_outsider_cannot_touch_this_practices_rows(outsider_client, contacts):
    response = post(outsider_client, "convert_to_client", contacts)

    assert response.status_code == 302
    assert set(Relation.objects.values_list("kind", flat=True)) == {"contact"}
    assert texts(response) == ["0 converted to client, 3 skipped."]


def test_nothing_selected_changes_nothing(staff_client, contacts):
    response = post(staff_client, "archive", [])

    assert response.status_code == 302
    assert response["Location"] == LIST
    assert texts(response) == ["Select at least one relation first. Nothing was changed."]
    assert not Relation.objects.filter(archived_at__isnull=False).exists()
    assert listing.BULK_RESULT_KEY not in staff_client.session


@pytest.mark.parametrize("action", ["delete", "", "convert_to_private"])
def test_unknown_action_changes_nothing(staff_client, contacts, action):
    response = post(staff_client, action, contacts)

    assert response.status_code == 302
    assert texts(response) == ["Choose one of the bulk actions."]
    assert set(Relation.objects.values_list("kind", "archived_at")) == {("contact", None)}


def test_missing_action_is_not_a_server_error(staff_client, contacts):
    response = staff_client.post(URL, {"ids": [str(contacts[0].public_id)]})

    assert response.status_code == 302


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/relations/", "//evil.example/", "javascript:alert(1)", ""]
)
def test_unsafe_next_goes_back_to_the_list(staff_client, contacts, next_url):
    response = post(staff_client, "archive", contacts[:1], next_url=next_url)

    assert response["Location"] == LIST


def test_report_is_capped(staff_client, practice, contacts, monkeypatch):
    monkeypatch.setattr(listing, "BULK_REPORT_LIMIT", 2)

    response = post(staff_client, "archive", contacts)

    assert texts(response) == ["3 archived, 0 skipped."]
    result = report(staff_client)
    assert len(result["done"]) == 2
    assert result["not_shown"] == 1
    assert "1 more row not shown." in staff_client.get(LIST).content.decode()


def test_read_only_member_gets_403_and_nothing_changes(readonly_client, contacts):
    response = post(readonly_client, "archive", contacts)

    assert response.status_code == 403
    assert not Relation.objects.filter(archived_at__isnull=False).exists()


def test_anonymous_is_sent_to_login(client, contacts):
    response = post(client, "archive", contacts)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Relation.objects.filter(archived_at__isnull=False).exists()


def test_get_is_405(staff_client):
    assert staff_client.get(URL).status_code == 405


def test_csrf_is_enforced(staff, contacts):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = post(client, "archive", contacts)

    assert response.status_code == 403
    assert not Relation.objects.filter(archived_at__isnull=False).exists()


def test_the_list_form_posts_with_a_csrf_token(staff, contacts):
    """The real form round trip: token and `next` taken from the rendered list."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    page = client.get(LIST, {"kind": "contact"})
    token = page.context["csrf_token"]

    data = {
        "csrfmiddlewaretoken": str(token),
        "next": "/relations/?kind=contact",
        "action": "archive",
        "ids": [str(contacts[0].public_id)],
    }
    # Archive shows its confirm page first, then the confirmation does it.
    confirm = client.post(URL, data)
    assert confirm.status_code == 200
    assert Relation.objects.get(pk=contacts[0].pk).archived_at is None
    response = client.post(URL, {**data, "confirmed": "1"})

    assert response.status_code == 302
    assert Relation.objects.get(pk=contacts[0].pk).archived_at is not None
