"""The export of the filtered list, as CSV for Dutch Excel and as .xlsx: same filters as the list,
streamed, no BSN, no formulas."""

import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from relations.models import TeamAssignment
from relations.views import listing
from tests.factories import AddressFactory, BankAccountFactory, RelationFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/relations/export.csv"
XLSX_URL = "/relations/export.xlsx"
HEADER = [
    "Name",
    "Kind",
    "Type",
    "Client code",
    "E-mail",
    "Phone",
    "Address",
    "Postcode",
    "City",
    "Country",
    "KvK number",
    "VAT number",
    "IBAN",
    "Relationship manager",
    "Team",
    "Status",
]
COLUMN = {name: i for i, name in enumerate(HEADER)}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def body(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue()


def read(response) -> list[list[str]]:
    """The rows as Dutch Excel reads them: UTF-8 after the BOM, separated by semicolons."""
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def read_xlsx(response) -> list[list[str]]:
    assert response["Content-Type"] == XLSX_TYPE
    data = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [[cell.value or "" for cell in row] for row in sheet.iter_rows()]


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
    AddressFactory(
        relation=relation,
        street="Oudegracht",
        house_number="12",
        house_number_addition="bis",
        postcode="3511 AB",
        city="Utrecht",
    )
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
        "Oudegracht 12-bis",
        "3511 AB",
        "Utrecht",
        "NL",
        "12345678",
        "NL123456789B01",
        "",
        "",
        "",
        "Active",
    ]
    assert rows[2][:4] == ["Jan Jansen", "Contact", "Private person", ""]
    assert len(rows) == 3


def test_csv_export_opens_in_dutch_excel(owner_client, practice):
    """Excel (nl-NL) splits on its list separator, ";", and reads UTF-8 only after a BOM."""
    RelationFactory(practice=practice, legal_name="Café, Bar & Zo")

    data = body(owner_client.get(URL))

    assert data.startswith("\ufeff".encode())
    assert data.count("\ufeff".encode()) == 1
    first, second = data.decode("utf-8-sig").splitlines()[:2]
    assert first.split(";")[:3] == ["Name", "Kind", "Type"]
    assert second.startswith("Café, Bar & Zo;Client;Company;")
    assert read(owner_client.get(URL))[1][0] == "Café, Bar & Zo"  # a comma splits no column


def test_csv_export_opens_in_dutch_excel_in_dutch(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Café de Zwaan BV")

    rows = read(owner_client.get(URL, headers={"accept-language": "nl"}))

    assert rows[0][:3] == ["Naam", "Soort", "Type"]
    assert rows[1][0] == "Café de Zwaan BV"


def office(practice, **fields):
    """A client with two addresses, two bank accounts and a team of three."""
    relation = RelationFactory(practice=practice, legal_name="Bakkerij Bol BV", **fields)
    AddressFactory(relation=relation, type="invoice", street="Factuurweg", city="Zwolle")
    AddressFactory(
        relation=relation,
        type="visiting",
        street="Markt",
        house_number="3",
        postcode="1234 AB",
        city="Delft",
    )
    BankAccountFactory(relation=relation, iban="NL02ABNA0123456789", is_default=False)
    BankAccountFactory(relation=relation, iban="NL91ABNA0417164300", is_default=True)
    manager = UserFactory(first_name="Anna", last_name="de Boer")
    accountant = UserFactory(first_name="Bram", last_name="Visser")
    assistant = UserFactory(first_name="", last_name="", username="cees")
    for user, role in (
        (accountant, TeamAssignment.Role.ACCOUNTANT),
        (manager, TeamAssignment.Role.RELATIONSHIP_MANAGER),
        (assistant, TeamAssignment.Role.ASSISTANT),
    ):
        TeamAssignment.objects.create(practice=practice, relation=relation, user=user, role=role)
    return relation


def test_xlsx_export_has_address_iban_and_team_columns(owner_client, practice):
    office(practice, client_code="0007")

    response = owner_client.get(XLSX_URL)

    assert response.status_code == 200
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="relations-{today}.xlsx"'
    header, row = read_xlsx(response)
    assert header == HEADER
    assert row[COLUMN["Name"]] == "Bakkerij Bol BV"
    assert row[COLUMN["Client code"]] == "0007"
    # The address the list shows: the visiting one before the invoice one.
    assert row[COLUMN["Address"]] == "Markt 3"
    assert row[COLUMN["Postcode"]] == "1234 AB"
    assert row[COLUMN["City"]] == "Delft"
    assert row[COLUMN["Country"]] == "NL"
    assert row[COLUMN["IBAN"]] == "NL91ABNA0417164300"  # the default account
    assert row[COLUMN["Relationship manager"]] == "Anna de Boer"
    assert (
        row[COLUMN["Team"]]
        == "Anna de Boer (Relationship manager), Bram Visser (Accountant), cees (Assistant)"
    )


def test_csv_export_has_the_same_address_iban_and_team_columns(owner_client, practice):
    office(practice)

    header, row = read(owner_client.get(URL))

    assert header == HEADER
    assert row[COLUMN["City"]] == "Delft"
    assert row[COLUMN["IBAN"]] == "NL91ABNA0417164300"
    assert row[COLUMN["Team"]].startswith("Anna de Boer (Relationship manager), ")


def test_xlsx_export_uses_the_lists_filters_and_never_the_bsn(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Alfa Klant")
    RelationFactory(practice=practice, contact=True, legal_name="Charlie Contact")
    RelationFactory(practice=practice, private=True, last_name="Puk", bsn="111222333")

    rows = read_xlsx(owner_client.get(XLSX_URL, {"kind": "contact"}))
    everyone = read_xlsx(owner_client.get(XLSX_URL))

    assert [row[0] for row in rows[1:]] == ["Charlie Contact"]
    assert "111222333" not in str(everyone)
    assert len(everyone) == 4


def test_the_export_reads_in_a_constant_number_of_queries(owner_client, practice):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            b"".join(owner_client.get(url).streaming_content)
        return len(captured)

    office(practice)
    few = {url: queries(url) for url in (URL, XLSX_URL)}
    for _n in range(5):
        office(practice)

    assert {url: queries(url) for url in (URL, XLSX_URL)} == few


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


def test_csv_formula_neutralisation_stays(owner_client, practice):
    relation = RelationFactory(
        practice=practice,
        legal_name="=cmd|' /C calc'!A0",
        client_code="-1",
        email="@evil.example",
        phone="+31 6 12345678",
        vat_number="\tNL1",
    )
    AddressFactory(
        relation=relation, street="=HYPERLINK(1)", house_number="", city="+stad", postcode="-1"
    )
    BankAccountFactory(relation=relation, iban="=IBAN")
    user = UserFactory(first_name="=Kwaad", last_name="")
    TeamAssignment.objects.create(practice=practice, relation=relation, user=user, role="manager")

    row = dict(zip(HEADER, read(owner_client.get(URL))[1], strict=True))

    assert row["Name"] == "'=cmd|' /C calc'!A0"
    assert row["Client code"] == "'-1"
    assert row["E-mail"] == "'@evil.example"
    assert row["Phone"] == "'+31 6 12345678"
    assert row["VAT number"] == "'\tNL1"
    assert row["Address"] == "'=HYPERLINK(1)"
    assert row["Postcode"] == "'-1"
    assert row["City"] == "'+stad"
    assert row["IBAN"] == "'=IBAN"
    assert row["Relationship manager"] == "'=Kwaad"
    assert row["Team"] == "'=Kwaad (Relationship manager)"


def test_xlsx_export_holds_formulas_as_text_never_as_formulas(owner_client, practice):
    relation = RelationFactory(
        practice=practice, legal_name="=cmd|' /C calc'!A0", phone="+31 6 12345678"
    )
    AddressFactory(relation=relation, city="=1+1")

    data = b"".join(owner_client.get(XLSX_URL).streaming_content)
    sheet = load_workbook(io.BytesIO(data)).active

    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = {cell.value for cell in cells}
    # A typed text cell is never run, so the value is kept as it is: a phone number stays readable.
    assert {"=cmd|' /C calc'!A0", "+31 6 12345678", "=1+1"} <= values


def test_xlsx_export_drops_characters_a_workbook_cannot_hold(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Bel\x07 en \x1bescape BV")

    _header, row = read_xlsx(owner_client.get(XLSX_URL))

    assert row[0] == "Bel en escape BV"


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
    assert len(read_xlsx(owner_client.get(XLSX_URL))) == 6


def test_xlsx_url_is_relations_export_xlsx():
    assert reverse("relations-export-xlsx") == XLSX_URL


def test_the_list_offers_both_exports_with_its_filters(owner_client, practice):
    page = owner_client.get("/relations/", {"kind": "client"}).content.decode()

    assert 'href="/relations/export.csv?kind=client"' in page
    assert 'href="/relations/export.xlsx?kind=client"' in page


def test_read_only_member_may_export(readonly_client, practice):
    RelationFactory(practice=practice, legal_name="Zwaan BV")

    assert read(readonly_client.get(URL))[1][0] == "Zwaan BV"


def test_outsider_exports_only_their_own_practice(outsider_client, practice, other_practice):
    RelationFactory(practice=practice, legal_name="Van Dam Klant")
    RelationFactory(practice=other_practice, legal_name="Elders Klant")

    assert [row[0] for row in read(outsider_client.get(URL))[1:]] == ["Elders Klant"]


@pytest.mark.parametrize("url", [URL, XLSX_URL])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", [URL, XLSX_URL])
def test_wrong_method_is_405(owner_client, url):
    assert owner_client.post(url).status_code == 405


def test_outsider_exports_xlsx_only_of_their_own_practice(
    outsider_client, practice, other_practice
):
    RelationFactory(practice=practice, legal_name="Van Dam Klant")
    RelationFactory(practice=other_practice, legal_name="Elders Klant")

    assert [row[0] for row in read_xlsx(outsider_client.get(XLSX_URL))[1:]] == ["Elders Klant"]
