"""CSV export of the filtered list: same filters as the list, streamed, no BSN, no formulas."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from relations.views import listing
from tests.factories import AddressFactory, RelationFactory

pytestmark = pytest.mark.django_db

URL = "/relations/export.csv"
HEADER = [
    "Name",
    "Kind",
    "Type",
    "Client code",
    "E-mail",
    "Phone",
    "City",
    "KvK number",
    "VAT number",
    "Status",
]


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_url_name_is_relations_export():
    assert reverse("relations-export") == URL


def test_export_has_header_and_columns(owner_client, practice):
    relation = RelationFactory(
        practice=practice,
        legal_name="Café de Zwaan BV",
        client_code="0042",
        email="info@zwaan.nl",
        phone="020 123 4567",
        kvk_number="12345678",
        vat_number="NL123456789B01",
    )
    AddressFactory(relation=relation, city="Utrecht")
    RelationFactory(
        practice=practice, contact=True, private=True, first_name="Jan", last_name="Jansen"
    )

    response = owner_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="relations-{today}.csv"'
    rows = read(response)
    assert rows[0] == HEADER
    assert rows[1] == [
        "Café de Zwaan BV",
        "Client",
        "Company",
        "0042",
        "info@zwaan.nl",
        "020 123 4567",
        "Utrecht",
        "12345678",
        "NL123456789B01",
        "Active",
    ]
    assert rows[2][:4] == ["Jan Jansen", "Contact", "Private person", ""]
    assert len(rows) == 3


def test_bsn_is_never_exported(owner_client, practice):
    RelationFactory(
        practice=practice, private=True, first_name="Piet", last_name="Puk", bsn="111222333"
    )

    content = b"".join(owner_client.get(URL).streaming_content).decode()

    assert "Piet Puk" in content
    assert "111222333" not in content
    assert "BSN" not in content


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 20 123 4567", "'+31 20 123 4567"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Gewoon", "Gewoon"),
        ("", ""),
    ],
)
def test_neutralise(value, cell):
    assert listing.neutralise(value) == cell


def test_formula_injection_is_neutralised_in_every_column(owner_client, practice):
    RelationFactory(
        practice=practice,
        legal_name="=cmd|' /C calc'!A0",
        client_code="-1",
        email="@evil.example",
        phone="+31 6 12345678",
        vat_number="\tNL1",
    )

    row = read(owner_client.get(URL))[1]

    assert row[0] == "'=cmd|' /C calc'!A0"
    assert row[3] == "'-1"
    assert row[4] == "'@evil.example"
    assert row[5] == "'+31 6 12345678"
    assert row[8] == "'\tNL1"


def test_export_uses_the_lists_filters_search_and_sort(owner_client, practice, other_practice):
    RelationFactory(practice=practice, legal_name="Alfa Klant")
    RelationFactory(practice=practice, legal_name="Bravo Klant")
    RelationFactory(practice=practice, contact=True, legal_name="Charlie Contact")
    RelationFactory(practice=practice, legal_name="Delta Klant", archived_at=timezone.now())
    RelationFactory(practice=other_practice, legal_name="Echo Klant")

    def exported(params):
        return [row[0] for row in read(owner_client.get(URL, params))[1:]]

    assert exported({}) == ["Alfa Klant", "Bravo Klant", "Charlie Contact"]
    assert exported({"kind": "client", "sort": "-name"}) == ["Bravo Klant", "Alfa Klant"]
    assert exported({"kind": "contact"}) == ["Charlie Contact"]
    assert exported({"q": "KLANT"}) == ["Alfa Klant", "Bravo Klant"]
    assert exported({"status": "archived"}) == ["Delta Klant"]
    assert read(owner_client.get(URL, {"status": "archived"}))[1][-1] == "Archived"


def test_export_is_not_paginated(owner_client, practice):
    for n in range(30):
        RelationFactory(practice=practice, legal_name=f"Relatie {n:02}")

    rows = read(owner_client.get(URL, {"per_page": "25", "page": "2"}))

    assert len(rows) == 31


def test_export_link_from_the_list_gives_the_same_rows(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Café Centraal")
    RelationFactory(practice=practice, legal_name="Bakkerij Bol")

    page = owner_client.get("/relations/", {"q": "cafe"})
    exported = read(owner_client.get(page.context["export_url"]))

    assert [row[0] for row in exported[1:]] == [r.display_name for r in page.context["relations"]]


def test_export_streams_in_chunks(owner_client, practice, monkeypatch):
    monkeypatch.setattr(listing, "CSV_CHUNK_SIZE", 2)
    for n in range(5):
        RelationFactory(practice=practice, legal_name=f"Relatie {n}")

    assert len(read(owner_client.get(URL))) == 6


def test_read_only_member_may_export(readonly_client, practice):
    RelationFactory(practice=practice, legal_name="Zwaan BV")

    assert read(readonly_client.get(URL))[1][0] == "Zwaan BV"


def test_outsider_exports_only_their_own_practice(outsider_client, practice, other_practice):
    RelationFactory(practice=practice, legal_name="Van Dam Klant")
    RelationFactory(practice=other_practice, legal_name="Elders Klant")

    assert [row[0] for row in read(outsider_client.get(URL))[1:]] == ["Elders Klant"]


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_wrong_method_is_405(owner_client):
    assert owner_client.post(URL).status_code == 405
