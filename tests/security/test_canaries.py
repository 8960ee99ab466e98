"""A canary in practice B: a client with a name, code, e-mail, city, KvK number and IBAN found nowhere
else. Whatever practice A's people list, search, pick, export, bulk-change or import, and whatever
A's ledger tasks push, sweep or import, the canary never shows up and B's rows stay as they were.

Practice A holds a client under the canary's very code (codes are unique per practice only), so the
searches and the ledger are tested where a mix-up would be easiest.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Model
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook

from connections import services as connection_services
from connections.models import Connection
from lookups.models import LookupResult, LookupSettings
from practice.middleware import SESSION_PRACTICE_KEY
from practice.models import Membership, Practice
from relations.models import Relation, TeamAssignment
from sync import tasks
from sync.mapping import customer_for, customer_to_dict
from sync.models import ImportRun, LedgerConnection, LocalDebtor
from sync.tasks import import_debtors
from tests.factories import (
    AddressFactory,
    BankAccountFactory,
    MembershipFactory,
    RelationFactory,
    UserFactory,
)
from tests.security.world import (
    accept_invitation,
    data_models,
    portal_client,
    staff_client,
    world_fixture,  # noqa: F401  (the `world` fixture)
)

pytestmark = pytest.mark.django_db

CANARY_NAME = "Zwavelkanarie Qx7 Holding B.V."
CANARY_WORD = "Zwavelkanarie"
CANARY_CODE = "7900"
CANARY_EMAIL = "zwavelkanarie.qx7@canary-b.example"
CANARY_CITY = "Kanariedorp"
CANARY_KVK = "90901234"
CANARY_IBAN = "GB29NWBK60161331926819"
CANARY_OFFICE = "NLCANARY7"
TWIN_NAME = "Tweelingbakker A B.V."  # practice A's client with the canary's code


@dataclass
class Canaries:
    canary: Relation  # B's client
    canary_contact: Relation  # B's contact, connected to the canary
    twin: Relation  # A's client under the same code
    a_newcomer_code: str  # a debtor only A's ledger holds


@pytest.fixture(scope="module")
def canaries(world, django_db_blocker) -> Canaries:
    with django_db_blocker.unblock():
        b = world.b
        canary = RelationFactory.create(
            practice=b.practice,
            legal_name=CANARY_NAME,
            client_code=CANARY_CODE,
            email=CANARY_EMAIL,
            kvk_number=CANARY_KVK,
            created_by=b.owner,
        )
        AddressFactory.create(relation=canary, city=CANARY_CITY)
        BankAccountFactory.create(relation=canary, iban=CANARY_IBAN, holder="Zwavelkanarie Qx7")
        canary.refresh_derived()
        canary.save(update_fields=["display_name", "search_text"])
        TeamAssignment.objects.create(
            practice=b.practice,
            relation=canary,
            user=b.owner,
            role=TeamAssignment.Role.RELATIONSHIP_MANAGER,
        )
        canary_contact = RelationFactory.create(
            practice=b.practice,
            contact=True,
            private=True,
            first_name="Kanarie",
            last_name="Qx7",
            email="kanarie.contact.qx7@canary-b.example",
        )
        Connection.objects.create(
            practice=b.practice,
            a=min(canary, canary_contact, key=lambda r: r.pk),
            b=max(canary, canary_contact, key=lambda r: r.pk),
            type=Connection.Type.CONTACT_PERSON,
        )
        # B's ledger is another office altogether, and already holds the canary.
        LedgerConnection.objects.filter(practice=b.practice).update(
            adapter=LedgerConnection.Adapter.TWINFIELD, office_code=CANARY_OFFICE, enabled=False
        )
        LocalDebtor.objects.create(
            practice=b.practice, code=CANARY_CODE, record=customer_to_dict(customer_for(canary))
        )
        ImportRun.objects.create(
            practice=b.practice,
            started_by=b.owner,
            status=ImportRun.Status.DONE,
            report=[{"code": CANARY_CODE, "name": CANARY_NAME, "outcome": "created"}],
        )

        a = world.a
        twin = RelationFactory.create(
            practice=a.practice,
            legal_name=TWIN_NAME,
            client_code=CANARY_CODE,
            email="tweeling@a.example",
            created_by=a.owner,
        )
        # A's ledger: the twin as pushed before, and a debtor Kring does not know yet.
        twin_record = customer_to_dict(customer_for(twin))
        LocalDebtor.objects.create(practice=a.practice, code=CANARY_CODE, record=twin_record)
        newcomer = {**twin_record, "code": "7950", "name": "Nieuwkomer A B.V."}
        LocalDebtor.objects.create(practice=a.practice, code="7950", record=newcomer)
    return Canaries(canary=canary, canary_contact=canary_contact, twin=twin, a_newcomer_code="7950")


# --- helpers -------------------------------------------------------------------------------------


def _footprint_query(model: type[Model], practice: Practice):
    fields = {f.name for f in model._meta.get_fields()}
    manager = model._base_manager
    if model is Practice:
        return manager.filter(pk=practice.pk)
    if "practice" in fields:
        return manager.filter(practice=practice)
    if "relation" in fields:
        return manager.filter(relation__practice=practice)
    if model is get_user_model():
        return manager.filter(memberships__practice=practice)
    return None


def footprint(practice: Practice) -> dict[str, list[tuple]]:
    """Every row that belongs to `practice`, all columns: what "untouched" is compared on."""
    rows = {}
    for model in data_models():
        query = _footprint_query(model, practice)
        if query is not None:
            rows[model._meta.label] = list(query.order_by("pk").values_list())
    return rows


def assert_no_canary(text: str, canaries: Canaries, *, echo: str = "") -> None:
    """None of the canary's values in `text`, once the search words the page echoes are taken out."""
    if echo:
        for form in (echo, escape(echo), quote_plus(echo), quote(echo)):
            text = text.replace(form, "")
    # Random tokens (CSRF, CSP nonce) could hold any short string by chance: they are not data.
    text = re.sub(r'(csrfmiddlewaretoken" value|nonce)="[^"]*"', "", text)
    text = re.sub(r'"X-CSRFToken": ?"[^"]*"', "", text)  # htmx's header on <body hx-headers>
    for value in (
        CANARY_NAME,
        CANARY_WORD,
        "Qx7",
        # Every other name and address of practice B's test world carries these too.
        "PraktijkB",
        "@b.example",
        CANARY_EMAIL,
        CANARY_CITY,
        CANARY_KVK,
        str(canaries.canary.public_id),
        str(canaries.canary_contact.public_id),
        canaries.canary_contact.display_name,
    ):
        assert value not in text, f"practice B's canary leaked: {value!r}"


def _csv(response) -> str:
    return b"".join(response.streaming_content).decode("utf-8-sig")


def _xlsx(response) -> str:
    """Every cell of the workbook, one line per row."""
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    return "\n".join("\t".join(str(cell.value or "") for cell in row) for row in sheet.iter_rows())


# --- list, search, export ------------------------------------------------------------------------

LIST_VIEWS = {
    "default": {},
    "clients": {"kind": "client"},
    "companies-by-code": {"entity": "company", "sort": "code", "per_page": "100"},
    "newest": {"sort": "-created", "per_page": "100"},
    "archived": {"status": "archived"},
    "mine": {"team": "mine"},
}
SEARCHES = {
    "name": CANARY_NAME,
    "word": CANARY_WORD,
    "code": CANARY_CODE,
    "email": CANARY_EMAIL,
    "email-domain": "canary-b",
    "city": CANARY_CITY,
    "kvk": CANARY_KVK,
}


@pytest.mark.parametrize("params", LIST_VIEWS.values(), ids=LIST_VIEWS.keys())
def test_the_list_never_shows_another_practices_canary(world, canaries, params):
    client = staff_client(world.a.owner)
    page = client.get(reverse("relations-list"), params)
    assert page.status_code == 200
    assert_no_canary(page.text, canaries)
    assert world.b.practice.name not in page.text  # not even in the practice switcher
    rows = client.get(reverse("relations-list"), params, headers={"hx-request": "true"})
    assert_no_canary(rows.text, canaries)


@pytest.mark.parametrize("query", SEARCHES.values(), ids=SEARCHES.keys())
def test_search_never_finds_another_practices_canary(world, canaries, query):
    client = staff_client(world.a.readonly)
    for status in ("active", "archived"):
        page = client.get(reverse("relations-list"), {"q": query, "status": status})
        assert page.status_code == 200
        assert_no_canary(page.text, canaries, echo=query)


def test_search_by_the_shared_code_finds_only_the_own_client(world, canaries):
    page = staff_client(world.a.readonly).get(reverse("relations-list"), {"q": CANARY_CODE})
    assert TWIN_NAME in page.text
    assert_no_canary(page.text, canaries, echo=CANARY_CODE)


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "archived"}, *({"q": q} for q in SEARCHES.values())],
    ids=["all", "archived", *(f"q-{k}" for k in SEARCHES)],
)
def test_the_csv_export_never_holds_another_practices_canary(world, canaries, params):
    response = staff_client(world.a.readonly).get(reverse("relations-export"), params)
    assert response.status_code == 200
    text = _csv(response)
    assert_no_canary(text, canaries)
    if not params:
        names = {row[0] for row in csv.reader(io.StringIO(text), delimiter=";")}
        assert {world.a.client.display_name, TWIN_NAME} <= names


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "archived"}, *({"q": q} for q in SEARCHES.values())],
    ids=["all", "archived", *(f"q-{k}" for k in SEARCHES)],
)
def test_the_xlsx_export_never_holds_another_practices_canary(world, canaries, params):
    response = staff_client(world.a.readonly).get(reverse("relations-export-xlsx"), params)
    assert response.status_code == 200
    text = _xlsx(response)
    assert_no_canary(text, canaries)
    if not params:
        names = {line.split("\t")[0] for line in text.splitlines()}
        assert {world.a.client.display_name, TWIN_NAME} <= names


# --- pickers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", SEARCHES.values(), ids=SEARCHES.keys())
def test_the_connection_picker_never_offers_another_practices_canary(world, canaries, query):
    client = staff_client(world.a.staff)
    relation = world.a.client.public_id
    picker = client.get(reverse("connections-picker", args=[relation]), {"q": query})
    assert picker.status_code == 200
    assert_no_canary(picker.text, canaries, echo=query)
    # The form without JavaScript, with the canary "already chosen" by its id.
    form = client.get(
        reverse("connections-add", args=[relation]),
        {"q": query, "other": str(canaries.canary.public_id)},
    )
    assert form.status_code == 200
    # The id it was sent comes back in the form's fields; nothing else of the canary may.
    echoed = form.text.replace(str(canaries.canary.public_id), "")
    assert_no_canary(echoed, canaries, echo=query)


def test_the_picker_does_offer_the_own_practices_match(world, canaries):
    client = staff_client(world.a.staff)
    picker = client.get(
        reverse("connections-picker", args=[world.a.client.public_id]), {"q": CANARY_CODE}
    )
    assert TWIN_NAME in picker.text


def test_connecting_to_another_practices_canary_is_refused(world, canaries):
    before = footprint(world.b.practice)
    connections = Connection.objects.count()
    response = staff_client(world.a.staff).post(
        reverse("connections-add", args=[world.a.client.public_id]),
        {
            "other": str(canaries.canary.public_id),
            "role": "director:subject",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "Choose the other relation from the search results." in response.text
    assert Connection.objects.count() == connections
    assert footprint(world.b.practice) == before


def test_the_team_picker_offers_and_accepts_only_the_own_practices_people(world, canaries):
    client = staff_client(world.a.staff)
    url = reverse("relations-team-add", args=[world.a.client.public_id])
    form = client.get(url)
    assert form.status_code == 200
    assert world.a.readonly.get_full_name() in form.text
    for user in (world.b.owner, world.b.staff, world.b.readonly):
        assert user.get_full_name() not in form.text
    assignments = TeamAssignment.objects.count()
    response = client.post(url, {"member": world.b.staff.pk, "role": "accountant"})
    assert response.status_code == 200
    assert TeamAssignment.objects.count() == assignments


def test_duplicate_warnings_never_name_another_practices_canary(world, canaries):
    """A's new relation shares the canary's e-mail and KvK, a bank account its IBAN: no warning."""
    client = staff_client(world.a.staff)
    created = client.post(
        reverse("relations-new"),
        {
            "kind": "client",
            "entity": "company",
            "legal_name": "Gewoon Een Klant B.V.",
            "kvk_number": CANARY_KVK,
            "email": CANARY_EMAIL,
            "language": "nl",
        },
    )
    assert created.status_code == 302, created.text
    relation = Relation.objects.get(practice=world.a.practice, legal_name="Gewoon Een Klant B.V.")
    bank = client.post(
        reverse("relations-bank-new", args=[relation.public_id]),
        {"iban": CANARY_IBAN, "holder": "Gewoon Een Klant"},
    )
    assert bank.status_code == 302
    assert relation.bank_accounts.filter(iban=CANARY_IBAN).exists()


# --- bulk actions and the practice switch --------------------------------------------------------

BULK_ACTIONS = ("convert_to_client", "archive", "restore")


def test_the_bulk_confirm_page_names_no_row_of_another_practice(world, canaries):
    """The convert confirmation lists each selected row: another practice's as its id, not found."""
    b = world.b
    foreign = [canaries.canary, canaries.canary_contact, b.contact, b.client]
    before = footprint(b.practice)
    page = staff_client(world.a.staff).post(
        reverse("relations-bulk"),
        {
            "action": "convert_to_client",
            "ids": [str(r.public_id) for r in [*foreign, world.a.contact]],
        },
    )
    assert page.status_code == 200
    assert footprint(b.practice) == before
    # The ids that were sent come back as sent (as in the report); nothing else of B's rows does.
    shown = page.text
    for relation in foreign:
        shown = shown.replace(str(relation.public_id), "")
    assert_no_canary(shown, canaries)
    assert world.a.contact.display_name in page.text
    assert page.text.count("Skipped: not found") == len(foreign)


@pytest.mark.parametrize("action", BULK_ACTIONS)
def test_bulk_actions_never_touch_another_practices_rows(world, canaries, action):
    b = world.b
    own = {"convert_to_client": world.a.contact, "archive": world.a.client}.get(
        action, world.a.archived
    )
    foreign = [canaries.canary, canaries.canary_contact, b.contact, b.client, b.archived]
    before = footprint(b.practice)
    client = staff_client(world.a.staff)
    data = {"action": action, "ids": [str(r.public_id) for r in [*foreign, own]]}
    if action == "archive":
        # The confirm page lists the selection: B's rows only as the ids that were sent, exactly
        # as made-up ids ("not found"), and nothing else of them.
        confirm = client.post(reverse("relations-bulk"), data).text
        assert own.display_name in confirm
        for relation in foreign:
            assert str(relation.public_id) in confirm
            confirm = confirm.replace(str(relation.public_id), "")
        assert_no_canary(confirm, canaries)
        assert confirm.count("Skipped: not found") == len(foreign)
    data["confirmed"] = "1"  # the actions that ask first act only when confirmed
    client.post(reverse("relations-bulk"), data)
    assert footprint(b.practice) == before
    report = client.session["bulk_result"]
    assert [name for name, _code, _outcome, _hint in report["done"]] == [own.display_name]
    # Reported exactly as a made-up id would be: the id that was sent, "not found", no hint.
    assert report["skipped"] == [[str(r.public_id), "not found", ""] for r in foreign]
    assert_no_canary(str(report["done"]), canaries)
    page = client.get(reverse("relations-list")).text
    assert "Skipped: not found" in page
    for relation in foreign:
        page = page.replace(str(relation.public_id), "")
    assert_no_canary(page, canaries)


def test_switching_to_a_practice_one_is_not_in_is_404(world, canaries):
    client = staff_client(world.a.owner)
    response = client.post(reverse("practice-switch"), {"practice": world.b.practice.slug})
    assert response.status_code == 404
    assert client.session.get(SESSION_PRACTICE_KEY) != world.b.practice.pk
    assert_no_canary(client.get(reverse("relations-list")).text, canaries)


def test_a_member_of_both_practices_sees_only_the_current_one(world, canaries):
    both = UserFactory.create(username="both", first_name="Beide", last_name="Kantoren")
    MembershipFactory.create(user=both, practice=world.a.practice, role=Membership.Role.STAFF)
    MembershipFactory.create(user=both, practice=world.b.practice, role=Membership.Role.STAFF)
    client = staff_client(both)
    client.post(reverse("practice-switch"), {"practice": world.a.practice.slug})
    listed = client.get(reverse("relations-list"), {"q": CANARY_WORD}).text
    assert_no_canary(listed, canaries, echo=CANARY_WORD)
    assert client.get(canaries.canary.get_absolute_url()).status_code == 404
    client.post(reverse("practice-switch"), {"practice": world.b.practice.slug})
    assert CANARY_NAME in client.get(reverse("relations-list"), {"q": CANARY_WORD}).text
    assert client.get(canaries.canary.get_absolute_url()).status_code == 200


# --- the portal ----------------------------------------------------------------------------------

OTHER_PASSWORD = "kanarie-geel-zang-77"


def test_one_address_with_portal_access_at_both_practices_sees_each_only_by_its_password(
    world, canaries
):
    """B invited someone at the very address A's portal contact uses; each password opens its own."""
    b = world.b
    twin_contact = RelationFactory.create(
        practice=b.practice,
        contact=True,
        private=True,
        first_name="Kanarie",
        last_name="Portaal Qx7",
        email=world.a.portal_email,
    )
    connection_services.add_connection(
        practice=b.practice,
        user=b.staff,
        relation=twin_contact,
        other=canaries.canary,
        type=Connection.Type.DIRECTOR,
        subject_is_relation=True,
    )
    accept_invitation(twin_contact, b.staff, password=OTHER_PASSWORD)

    a_home = portal_client(world.a).get(reverse("portal-home"))
    assert a_home.status_code == 200
    assert world.a.portal_contact.display_name in a_home.text
    assert_no_canary(a_home.text, canaries)
    assert twin_contact.display_name not in a_home.text

    b_home = portal_client(world.a, password=OTHER_PASSWORD).get(reverse("portal-home"))
    assert CANARY_NAME in b_home.text
    assert world.a.portal_contact.display_name not in b_home.text
    assert world.a.client.display_name not in b_home.text


# --- the ledger: settings, import pages and Celery tasks -----------------------------------------


def test_the_ledger_settings_show_only_the_own_connection(world, canaries):
    page = staff_client(world.a.owner).get(reverse("sync-settings"))
    assert page.status_code == 200
    assert CANARY_OFFICE not in page.text


def test_the_import_page_lists_only_the_own_runs(world, canaries):
    page = staff_client(world.a.owner).get(reverse("sync-import"))
    assert page.status_code == 200
    own = reverse("sync-import-run", args=[world.a.import_run.pk])
    assert own in page.text
    for run in ImportRun.objects.filter(practice=world.b.practice):
        assert reverse("sync-import-run", args=[run.pk]) not in page.text


def test_an_import_started_from_the_page_reads_only_the_own_ledger(
    world, canaries, django_capture_on_commit_callbacks
):
    before = footprint(world.b.practice)
    client = staff_client(world.a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("sync-import"), {})
    assert started.status_code == 302
    run = ImportRun.objects.filter(practice=world.a.practice).latest("pk")
    assert run.status == ImportRun.Status.DONE, run.error
    progress = client.get(reverse("sync-import-run", args=[run.pk]))
    assert "Nieuwkomer A B.V." in progress.text
    assert_no_canary(progress.text, canaries)
    assert Relation.objects.filter(
        practice=world.a.practice, client_code=canaries.a_newcomer_code
    ).exists()
    assert not Relation.objects.filter(practice=world.a.practice, legal_name=CANARY_NAME).exists()
    assert footprint(world.b.practice) == before


def test_the_import_task_for_a_never_touches_b(world, canaries):
    before = footprint(world.b.practice)
    run = ImportRun.objects.create(practice=world.a.practice, started_by=world.a.owner)
    result = import_debtors.delay(run.pk, "en").get()
    assert result["processed"] == LocalDebtor.objects.filter(practice=world.a.practice).count()
    run.refresh_from_db()
    assert_no_canary(str(run.report), canaries)
    assert not Relation.objects.filter(practice=world.a.practice, legal_name=CANARY_NAME).exists()
    canaries.canary.refresh_from_db()
    assert canaries.canary.legal_name == CANARY_NAME
    assert footprint(world.b.practice) == before


def _ledger(practice: Practice) -> dict[str, Any]:
    return {d.code: d.record for d in LocalDebtor.objects.filter(practice=practice)}


def test_pushing_practice_a_never_touches_b_or_its_ledger(world, canaries):
    """The canary is due (never pushed): A's push must leave it, and B's ledger, alone."""
    before = footprint(world.b.practice)
    result = tasks.push_practice.delay(world.a.practice.pk).get()
    assert result["pushed"] >= 1
    a_ledger = _ledger(world.a.practice)
    assert a_ledger[CANARY_CODE]["name"] == TWIN_NAME
    assert world.a.client.client_code in a_ledger
    assert_no_canary(str(a_ledger), canaries)
    assert footprint(world.b.practice) == before


def test_send_now_pushes_only_the_own_client_into_the_own_ledger(
    world, canaries, django_capture_on_commit_callbacks
):
    """Nu versturen on A's twin of the canary (same client code) sends A's, never B's."""
    before = footprint(world.b.practice)
    client = staff_client(world.a.staff)
    twin = Relation.objects.get(practice=world.a.practice, client_code=CANARY_CODE)
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(reverse("sync-send-now", args=[twin.public_id]))
        refused = client.post(reverse("sync-send-now", args=[canaries.canary.public_id]))
    assert sent.status_code == 302
    assert refused.status_code == 404
    a_ledger = _ledger(world.a.practice)
    assert a_ledger[CANARY_CODE]["name"] == TWIN_NAME
    assert_no_canary(str(a_ledger), canaries)
    assert footprint(world.b.practice) == before


def test_the_sweep_pushes_each_practice_into_its_own_ledger_only(world, canaries):
    LedgerConnection.objects.filter(practice=world.b.practice).update(
        adapter=LedgerConnection.Adapter.LOCAL, enabled=True
    )
    assert tasks.sweep.delay().get() == 2  # both practices have clients due
    a_ledger, b_ledger = _ledger(world.a.practice), _ledger(world.b.practice)
    assert a_ledger[CANARY_CODE]["name"] == TWIN_NAME
    assert b_ledger[CANARY_CODE]["name"] == CANARY_NAME
    assert b_ledger[world.b.client.client_code]["name"] == world.b.client.display_name
    assert a_ledger[world.a.client.client_code]["name"] == world.a.client.display_name
    assert_no_canary(str(a_ledger), canaries)
    assert "PraktijkB" not in str(a_ledger)
    assert "PraktijkA" not in str(b_ledger)
    assert TWIN_NAME not in str(b_ledger)


def test_the_members_page_and_home_show_only_the_own_office(world):
    """Another office's people, invitations and history never show on A's office pages."""
    client = staff_client(world.a.owner)
    members = client.get(reverse("office-members")).content.decode()
    home = client.get(reverse("home")).content.decode()
    b = world.b
    for html in (members, home):
        for user in (b.owner, b.staff, b.readonly, b.former.user):
            assert user.get_username() not in html
            assert escape(user.get_full_name()) not in html
        assert b.colleague_invitation.email not in html
        assert b.failed.display_name not in html
    assert world.a.colleague_invitation.email in members
    assert escape(world.a.staff.get_full_name()) in members


def test_another_offices_register_answers_never_show(staff_client, practice, other_practice):
    """Look-up results are the office's own: B's stored VIES answer for the very VAT number an A
    client holds, and B's cached address, are never shown to A, and A's check leaves B's as they were."""
    vat = "NL123456789B01"
    mine = RelationFactory(practice=practice, vat_number=vat)
    RelationFactory(practice=other_practice, vat_number=vat, legal_name=CANARY_NAME)
    theirs = LookupResult.objects.create(
        practice=other_practice,
        kind=LookupResult.Kind.VAT,
        key=vat,
        provider="vies",
        status=LookupResult.Status.FOUND,
        data={"valid": True, "name": CANARY_NAME, "address": CANARY_CITY},
    )
    LookupResult.objects.create(
        practice=other_practice,
        kind=LookupResult.Kind.ADDRESS,
        key="1015CJ|1|",
        provider="pdok",
        status=LookupResult.Status.FOUND,
        data={
            "street": CANARY_WORD,
            "city": CANARY_CITY,
            "postcode": "1015CJ",
            "house_number": "1",
        },
    )
    LookupSettings.objects.create(
        practice=practice,
        address_provider=LookupSettings.AddressProvider.PDOK,
        address_url="http://127.0.0.1:9/pdok",
        vat_provider=LookupSettings.VatProvider.VIES,
        vat_url="http://127.0.0.1:9/vies",
    )
    tab = staff_client.get(reverse("relations-tab", args=[mine.public_id, "tools"]))
    assert CANARY_WORD not in tab.content.decode()
    proposal = staff_client.post(
        reverse("relations-address-new", args=[mine.public_id]),
        {"type": "visiting", "postcode": "1015CJ", "house_number": "1", "lookup": "find"},
    ).content.decode()
    assert CANARY_WORD not in proposal
    assert "not available" in proposal  # A asks its own register (which does not answer)
    staff_client.post(reverse("lookups-vat-check", args=[mine.public_id]))
    assert CANARY_WORD not in staff_client.get(tab.wsgi_request.path).content.decode()
    theirs_now = LookupResult.objects.get(pk=theirs.pk)
    assert (theirs_now.status, theirs_now.data, theirs_now.checked_at) == (
        theirs.status,
        theirs.data,
        theirs.checked_at,
    )
    assert LookupResult.objects.get(practice=practice, kind="vat").status == "unavailable"


# --- Werkprocessen: B's templates, processes and tasks never show in A's work pages ---------------


def test_another_offices_work_never_shows_in_ones_own(world):
    a, b = world.a, world.b
    client = staff_client(a.owner)
    pages = [
        client.get(reverse("work-tasks")),
        client.get(reverse("work-templates")),
        client.get(reverse("work-start", args=[a.client.public_id])),
        client.get(reverse("relations-tab", args=[a.client.public_id, "work"])),
        client.get(reverse("home")),
    ]
    assert all(response.status_code == 200 for response in pages)
    text = "".join(response.content.decode() for response in pages)
    assert a.process_template.name in text
    assert b.process_template.name not in text
    assert b.template_step.title not in text
    # B's template cannot be started for A's client, not even by its id.
    response = client.post(
        reverse("work-start", args=[a.client.public_id]),
        {"template": b.process_template.pk, "period": "2025-Q4"},
    )
    assert response.status_code == 200
    assert not b.process_template.processes.filter(relation=a.client).exists()
    # Nor can the planner start A's template for B's client, by B's client's id.
    before = b.client.processes.count()
    response = client.post(
        reverse("work-planner-start"),
        {"template": a.process_template.pk, "period": "2025-Q4", "ids": [str(b.client.public_id)]},
    )
    assert response.status_code == 200
    assert b.client.processes.count() == before
    # Nor complete B's task by its id in a bulk complete.
    client.post(reverse("work-tasks-complete"), {"tasks": [f"{b.task.pk}:{b.task.version}"]})
    b.task.refresh_from_db()
    assert b.task.status == "open"
    planner = client.get(reverse("work-planner"), {"template": a.process_template.pk})
    assert b.client.display_name not in planner.content.decode()


def test_the_team_roles_and_hand_over_pages_show_only_the_own_office(world):
    """Another office's roles and people are never offered on A's team roles, hand-over or bulk
    assign pages (its role is named after it: "Controller praktijk-b")."""
    client = staff_client(world.a.owner)
    a, b = world.a, world.b
    roles_page = client.get(reverse("team-roles")).content.decode()
    hand_over = client.get(reverse("team-hand-over", args=[a.membership.pk])).content.decode()
    assign = client.post(
        reverse("relations-bulk"), {"action": "assign_team", "ids": [str(a.client.public_id)]}
    ).content.decode()
    for html in (roles_page, hand_over, assign):
        assert escape(b.team_role.name) not in html
        for user in (b.owner, b.staff, b.readonly):
            assert escape(user.get_full_name()) not in html
    assert escape(a.team_role.name) in roles_page
    assert escape(a.owner.get_full_name()) in hand_over
