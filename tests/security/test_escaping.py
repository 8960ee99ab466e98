"""Whatever a name holds is shown as text: markup, template syntax, RTL and emoji, on every page.

Names are stored as typed (a company may well be called `<Bakkerij>`; the forms refuse only control
characters), so every page that shows one must escape it: the list and its fragments, the detail page
and its tabs, the timeline, flash messages (full page and htmx), the connection on the other side, the
picker, the ledger tab, the import report and the portal. The CSV export shows them verbatim, but no
cell may start a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook

from connections import services as connections
from connections.models import Connection
from lookups.models import LookupResult, LookupSettings, OfficeLink
from portal import services as portal
from practice.forms import SINGLE_LINE_FORBIDDEN
from practice.models import Membership
from relations import services as relations
from relations.models import Relation
from relations.views.listing import FORMULA_PREFIXES
from sync.models import ImportRun, SyncState
from tests.factories import (
    AddressFactory,
    MembershipFactory,
    RelationFactory,
    ServiceAgreementFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>&amp;",
    "{{ 7*7 }} {{ 7777|add:1111 }} {% debug %}",
    "\u202eTRL \u0623\u062d\u0645\u062f 🍞 👩\u200d👩\u200d👧",
]


def assert_escaped(html: str, payload: str, *, count: int = 1) -> None:
    """Shown (at least `count` times), and only ever as text."""
    assert html.count(escape(payload)) >= count, f"{payload!r} is not on the page"
    if escape(payload) != payload:
        assert payload not in html, f"{payload!r} is on the page unescaped"
    # A template never saw the name as template code: the literal text is there, not its result.
    # (8888 is what Django would make of the add filter; the debug tag would dump the context.)
    if "{{" in payload:
        rest = html.replace(escape(payload), "")
        assert "8888" not in rest
        assert "DEFAULT_MESSAGE_LEVELS" not in rest


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture(params=PAYLOADS, ids=["script", "img", "svg", "template", "rtl-emoji"])
def payload(request) -> str:
    return request.param


@pytest.fixture
def world(practice, staff, payload):
    """A client company, a contact at it and a team member, every one of them named `payload`."""
    company = RelationFactory(practice=practice, legal_name=payload, client_code="1001")
    AddressFactory(relation=company, city=payload[:80])
    contact = RelationFactory(
        practice=practice,
        contact=True,
        private=True,
        first_name=payload,
        last_name="Vries",
        email="jan@example.nl",
    )
    connections.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=company,
        type=Connection.Type.DIRECTOR,
        subject_is_relation=True,
    )
    eve = UserFactory(username="eve", first_name=payload, last_name="")
    MembershipFactory(practice=practice, user=eve, role=Membership.Role.STAFF)
    relations.add_team_member(relation=company, user=staff, member=eve, role="accountant")
    return {"company": company, "contact": contact, "eve": eve}


def tab(relation, name: str) -> str:
    return reverse("relations-tab", args=[relation.public_id, name])


def test_the_list_and_its_fragment_escape_names(staff_client, world, payload):
    assert_escaped(page(staff_client.get(reverse("relations-list"))), payload, count=2)
    rows = staff_client.get(reverse("relations-list"), headers={"HX-Request": "true"})
    assert_escaped(page(rows), payload, count=2)
    searched = staff_client.get(reverse("relations-list"), {"q": payload})
    assert_escaped(page(searched), payload)


def test_the_detail_page_and_its_tabs_escape_names(staff_client, world, payload):
    company = world["company"]
    overview = page(staff_client.get(company.get_absolute_url()))
    assert_escaped(overview, payload, count=3)  # <title>, <h1>, legal name, city
    for name in ("company", "addresses", "team", "connections", "ledger"):
        assert_escaped(page(staff_client.get(tab(company, name))), payload)


def test_the_timeline_escapes_the_other_relation_and_the_team_member(staff_client, world, payload):
    # On the contact's timeline the company is the other relation of "Connection added".
    assert_escaped(page(staff_client.get(tab(world["contact"], "timeline"))), payload, count=2)
    # On the company's timeline eve is the member of "Team member added".
    assert_escaped(page(staff_client.get(tab(world["company"], "timeline"))), payload, count=2)


def test_the_connection_shows_escaped_on_the_other_side(staff_client, world, payload):
    connections_tab = page(staff_client.get(tab(world["company"], "connections")))
    assert_escaped(connections_tab, payload, count=2)
    assert "has director" in connections_tab


def test_the_add_connection_form_escapes_the_name_in_its_help_text(staff_client, world, payload):
    """Django's field template prints help_text unescaped; the name in it used to run as markup."""
    url = reverse("connections-add", args=[world["company"].public_id])
    assert_escaped(page(staff_client.get(url)), payload, count=2)
    assert_escaped(page(staff_client.get(url, headers={"HX-Request": "true"})), payload)


def test_the_picker_escapes_its_matches(staff_client, world, payload, practice):
    other = RelationFactory(practice=practice, legal_name="Zoekende B.V.")
    url = reverse("connections-picker", args=[other.public_id])
    # Searched by the folded client code, so that any payload is found.
    assert_escaped(page(staff_client.get(url, {"q": "1001"})), payload)


def test_flash_messages_escape_names(staff_client, world, payload):
    company = world["company"]
    archived = staff_client.post(
        reverse("relations-archive", args=[company.public_id]), {"confirmed": "1"}, follow=True
    )
    assert_escaped(page(archived), payload, count=2)
    assert "has been archived" in archived.content.decode()


def test_the_confirm_pages_and_dialog_questions_escape_names(staff_client, world, payload):
    """practice/confirm.py's pages and the `data-confirm` questions the dialog reads as text."""
    company, contact = world["company"], world["contact"]
    connection = Connection.objects.get()
    address = company.addresses.get()
    urls = [
        reverse("relations-convert-to-private", args=[company.public_id]),
        reverse("relations-convert-to-company", args=[contact.public_id]),
        reverse("relations-address-remove", args=[company.public_id, address.pk]),
        reverse("connections-end", args=[company.public_id, connection.pk]),
    ]
    for url in urls:
        assert_escaped(page(staff_client.get(url)), payload, count=2)
    bulk = {"action": "convert_to_client", "ids": [str(contact.public_id)]}
    assert_escaped(page(staff_client.post(reverse("relations-bulk"), bulk)), payload)
    # The questions in the attributes: escaped there as everywhere.
    assert_escaped(page(staff_client.get(tab(company, "connections"))), payload, count=3)
    assert_escaped(page(staff_client.get(tab(company, "addresses"))), payload[:80])


def test_the_bulk_report_escapes_names(staff_client, world, payload):
    post = {"action": "archive", "ids": [str(world["company"].public_id)], "confirmed": "1"}
    report = staff_client.post(reverse("relations-bulk"), post, follow=True)
    assert_escaped(page(report), payload)
    assert "Result: Archive" in report.content.decode()


def test_the_confirm_pages_escape_names(staff_client, world, payload):
    company = world["company"]
    agreement = ServiceAgreementFactory(relation=company)
    bulk = {"action": "archive", "ids": [str(company.public_id)]}
    end = reverse("relations-agreement-end", args=[company.public_id, agreement.pk])

    archive = page(staff_client.get(reverse("relations-archive", args=[company.public_id])))
    assert_escaped(archive, payload, count=3)  # <title>, breadcrumb, <h1>
    assert_escaped(page(staff_client.post(reverse("relations-bulk"), bulk)), payload)
    assert_escaped(page(staff_client.get(end)), payload, count=2)  # <title>, breadcrumb


def test_an_htmx_message_escapes_the_connected_name(staff_client, world, payload, practice):
    """The htmx path shows its message inside the fragment ("Connection added: … of <name>.")."""
    other = RelationFactory(practice=practice, contact=True, private=True, last_name="Bakker")
    url = reverse("connections-add", args=[other.public_id])
    post = {"other": str(world["company"].public_id), "role": "director:subject"}
    fragment = page(staff_client.post(url, post, headers={"HX-Request": "true"}))
    assert "Connection added" in fragment
    assert_escaped(fragment, payload, count=2)


def test_the_ledger_tab_escapes_both_versions_of_a_conflict(staff_client, world, payload):
    company = world["company"]
    SyncState.objects.create(
        practice=company.practice,
        relation=company,
        status=SyncState.Status.CONFLICT,
        remote_record={"code": "1001", "name": f"{payload} (ledger)", "email": payload},
        last_error=payload,
    )
    ledger = page(staff_client.get(tab(company, "ledger")))
    assert_escaped(ledger, payload, count=3)
    assert_escaped(ledger, f"{payload} (ledger)")


def test_the_import_report_escapes_what_the_ledger_sent(owner_client, owner, practice, payload):
    """Debtor names come from outside Kring altogether."""
    run = ImportRun.objects.create(
        practice=practice,
        started_by=owner,
        status=ImportRun.Status.FAILED,
        processed=1,
        total=1,
        error=payload,
        report=[{"code": payload, "name": payload, "outcome": "failed", "messages": [payload]}],
    )
    assert_escaped(
        page(owner_client.get(reverse("sync-import-run", args=[run.pk]))), payload, count=4
    )


def test_the_portal_escapes_the_practice_the_contact_and_its_clients(
    client, world, payload, practice, staff, django_capture_on_commit_callbacks, mailoutbox
):
    practice.name = payload
    practice.save()
    with django_capture_on_commit_callbacks(execute=True):
        portal.invite(relation=world["contact"], user=staff, base_url="http://testserver")
    token = re.search(r"/portal/accept/([A-Za-z0-9_\-]+)/", mailoutbox[-1].body).group(1)
    assert_escaped(page(client.get(reverse("portal-accept", args=[token]))), payload)
    user = portal.accept(token=token, password="tulpen-bollen-veld-42")
    client.force_login(user)
    home = page(client.get(reverse("portal-home")))
    # The practice, the contact's own name and its client.
    assert_escaped(home, payload, count=3)


def test_the_staff_header_escapes_the_users_name(world, payload):
    from django.test import Client

    eve = Client(headers={"accept-language": "en"})
    eve.force_login(world["eve"])
    assert_escaped(page(eve.get(reverse("home"))), payload, count=2)


# --- CSV -------------------------------------------------------------------------------------------------

FORMULAS = ["=1+1", "+31 20 123 4567", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]


def export_rows(client, **params) -> list[list[str]]:
    response = client.get(reverse("relations-export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body, newline=""), delimiter=";"))


def xlsx_cells(client, **params) -> list:
    response = client.get(reverse("relations-export-xlsx"), params)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [cell for row in workbook.active.iter_rows() for cell in row]


@pytest.mark.parametrize("formula", FORMULAS)
def test_no_exported_cell_starts_a_formula(staff_client, practice, formula):
    """Every text column, filled the way an import from the ledger could (no form in between)."""
    relation = RelationFactory(
        practice=practice,
        legal_name=formula,
        client_code=formula[:16],
        email=formula,
        phone=formula[:32],
        kvk_number=formula[:8],
        vat_number=formula[:20],
    )
    AddressFactory(relation=relation, city=formula)
    header, *rows = export_rows(staff_client)
    assert len(rows) == 1
    cells = header + rows[0]
    for cell in cells:
        assert not cell.startswith(FORMULA_PREFIXES), cell
    # The value itself is kept, behind the quote that makes it text.
    assert rows[0][0] == f"'{formula.strip()}"  # the display name is stripped
    assert rows[0][header.index("City")] == f"'{formula}"


@pytest.mark.parametrize("formula", FORMULAS)
def test_no_xlsx_cell_is_a_formula(staff_client, practice, formula):
    """In the workbook every value is a typed text cell: shown, never run, and kept as it is."""
    relation = RelationFactory(
        practice=practice,
        legal_name=formula,
        client_code=formula[:16],
        email=formula,
        phone=formula[:32],
        kvk_number=formula[:8],
        vat_number=formula[:20],
    )
    AddressFactory(relation=relation, city=formula, street=formula, postcode=formula[:12])
    cells = xlsx_cells(staff_client)
    assert all(cell.data_type != "f" for cell in cells)
    assert formula.strip() in {cell.value for cell in cells}  # the display name, stripped


def test_the_xlsx_export_keeps_markup_and_scripts_verbatim(staff_client, practice):
    for payload in PAYLOADS:
        RelationFactory(practice=practice, legal_name=payload)
    names = [cell.value for cell in xlsx_cells(staff_client) if cell.column == 1][1:]
    assert sorted(names) == sorted(PAYLOADS)


def test_the_export_keeps_markup_and_scripts_verbatim(staff_client, practice):
    """CSV is not HTML: a name is exported as it is, neither escaped nor mangled."""
    for payload in PAYLOADS:
        RelationFactory(practice=practice, legal_name=payload)
    _header, *rows = export_rows(staff_client)
    assert sorted(row[0] for row in rows) == sorted(PAYLOADS)


def test_forms_show_names_and_input_escaped(staff_client, world, payload, practice):
    company = world["company"]
    edit = page(staff_client.get(reverse("relations-edit", args=[company.public_id])))
    assert_escaped(edit, payload, count=3)  # <title>, <h1> and the legal name's value attribute
    # A refused form gives the input back; the duplicate warning names the other relation.
    Relation.objects.filter(pk=company.pk).update(kvk_number="12345678")
    typed = SINGLE_LINE_FORBIDDEN.sub("", payload)  # what the form accepts of it: no RTL override
    post = {
        "kind": "client",
        "entity": "company",
        "trade_name": typed,
        "kvk_number": "12345678",
        "language": "nl",
    }
    refused = page(staff_client.post(reverse("relations-new"), post))
    assert "same KvK number" in refused
    assert_escaped(refused, payload)
    assert_escaped(refused, typed, count=2)


def test_an_inline_form_gives_hostile_input_back_escaped(staff_client, world, payload):
    """The htmx fragment of a refused address form (the city is missing) shows the street typed."""
    typed = SINGLE_LINE_FORBIDDEN.sub("", payload)
    url = reverse("relations-address-new", args=[world["company"].public_id])
    post = {"type": "visiting", "street": typed, "country": "DE"}
    fragment = page(staff_client.post(url, post, headers={"HX-Request": "true"}))
    assert "This field is required." in fragment
    assert_escaped(fragment, typed)


def test_the_members_pages_and_the_home_page_escape_names(owner_client, practice, world, payload):
    """Kantoor → Medewerkers: a member's name, their places and the home page's panels."""
    eve = world["eve"]
    members = page(owner_client.get(reverse("office-members")))
    assert_escaped(members, payload)
    membership = Membership.objects.get(user=eve, practice=practice)
    detail = page(owner_client.get(reverse("office-member", args=[membership.pk])))
    assert_escaped(detail, payload, count=2)  # the heading and the company among her places
    home = page(owner_client.get(reverse("home")))
    assert_escaped(home, payload)  # the company has no relationship manager


def test_the_tools_tab_escapes_what_a_register_answered(staff_client, practice, world, payload):
    """VIES's answer comes from outside: its name and address are shown as text only."""
    company = world["company"]
    Relation.objects.filter(pk=company.pk).update(vat_number="NL123456789B01")
    LookupResult.objects.create(
        practice=practice,
        kind=LookupResult.Kind.VAT,
        key="NL123456789B01",
        provider="vies",
        status=LookupResult.Status.FOUND,
        data={"valid": True, "name": payload, "address": payload},
    )
    assert_escaped(page(staff_client.get(tab(company, "tools"))), payload, count=3)


def test_the_address_proposal_escapes_the_registers_street(staff_client, practice, payload):
    """A street from the register is proposed in the form's value: escaped there too."""
    relation = RelationFactory(practice=practice)
    LookupSettings.objects.create(
        practice=practice,
        address_provider=LookupSettings.AddressProvider.PDOK,
        address_url="http://127.0.0.1:9/pdok",
    )
    LookupResult.objects.create(
        practice=practice,
        kind=LookupResult.Kind.ADDRESS,
        key="1015CJ|1|",
        provider="pdok",
        status=LookupResult.Status.FOUND,
        data={
            "street": payload[:100],
            "city": "Amsterdam",
            "postcode": "1015CJ",
            "house_number": "1",
        },
    )
    response = staff_client.post(
        reverse("relations-address-new", args=[relation.public_id]),
        {"type": "visiting", "postcode": "1015CJ", "house_number": "1", "country": "NL"}
        | {"lookup": "find"},
    )
    assert_escaped(page(response), payload[:100], count=2)


def test_office_links_escape_their_names(owner_client, practice, world, payload):
    company = world["company"]
    OfficeLink.objects.create(
        practice=practice, name=payload[:80], url_template="https://portaal.example/{client_code}"
    )
    assert_escaped(page(owner_client.get(tab(company, "tools"))), payload[:80])
    assert_escaped(page(owner_client.get(reverse("lookups-settings"))), payload[:80])


def test_the_kvk_proposal_escapes_the_registers_names(staff_client, practice, payload):
    settings = LookupSettings(practice=practice, kvk_url="http://127.0.0.1:9/kvk")
    settings.kvk_api_key = "sleutel"
    settings.save()
    LookupResult.objects.create(
        practice=practice,
        kind=LookupResult.Kind.KVK,
        key="68750110",
        provider="kvk",
        status=LookupResult.Status.FOUND,
        data={"legal_name": payload, "kvk_number": "68750110"},
    )
    response = staff_client.post(
        reverse("relations-new"),
        {"kind": "client", "entity": "company", "kvk_number": "68750110", "kvk_lookup": "find"},
    )
    assert_escaped(page(response), payload)


def test_the_work_pages_escape_template_step_client_and_member_names(
    owner_client, practice, owner, world, payload
):
    """Werkprocessen: a template, a step, the client and the member who holds the task."""
    from work import dates as work_dates
    from work import services as work_services
    from work.models import ProcessTemplate, TemplateStep

    company, eve = world["company"], world["eve"]
    ServiceAgreementFactory(relation=company, service="vat")
    template = ProcessTemplate.objects.create(
        practice=practice, name=payload[:120], service="vat", period_kind="quarter"
    )
    TemplateStep.objects.create(
        template=template, position=1, title=payload[:160], role_key="accountant"
    )
    process = work_services.start_process(
        relation=company,
        template=template,
        period=work_dates.parse_period("quarter", "2026-Q3"),
        user=owner,
    )
    task = process.tasks.get()
    assert task.assignee == eve
    assert_escaped(page(owner_client.get(tab(company, "work"))), payload, count=3)
    start = reverse("work-start", args=[company.public_id])
    assert_escaped(page(owner_client.get(start, {"template": template.pk})), payload, count=2)
    assert_escaped(page(owner_client.get(reverse("work-templates"))), payload)
    assert_escaped(page(owner_client.get(reverse("work-template", args=[template.pk]))), payload)
    assert_escaped(page(owner_client.get(reverse("work-task-skip", args=[task.pk]))), payload)
    task.assignee = owner
    task.save()
    assert_escaped(page(owner_client.get(reverse("work-tasks"))), payload, count=2)
    assert_escaped(page(owner_client.get(reverse("home"))), payload)
    planner = owner_client.get(
        reverse("work-planner"), {"template": template.pk, "period": "2026-Q3"}
    )
    assert_escaped(page(planner), payload, count=2)  # the template and the client


def test_team_roles_and_the_hand_over_escape_names(owner_client, practice, world, payload):
    """Kantoor → Teamrollen: a role named `payload` (typed, stored as text) on the roles page, the
    Team tab and the timeline; the hand-over's preview and report name the relations as text."""
    from relations import roles
    from relations.models import TeamRole

    typed = SINGLE_LINE_FORBIDDEN.sub("", payload)[:60].strip() or "x"
    role = roles.add_role(practice=practice, name=typed)
    company = world["company"]
    relations.add_team_member(relation=company, user=world["eve"], member=world["eve"], role=role)
    assert_escaped(page(owner_client.get(reverse("team-roles"))), typed)
    assert_escaped(page(owner_client.get(tab(company, "team"))), typed)
    assert_escaped(page(owner_client.get(tab(company, "timeline"))), typed)
    assert TeamRole.objects.get(pk=role.pk).name == typed
    membership = Membership.objects.get(user=world["eve"], practice=practice)
    url = reverse("team-hand-over", args=[membership.pk])
    owner = Membership.objects.get(practice=practice, role=Membership.Role.OWNER).user
    preview = page(owner_client.post(url, {"to": owner.pk}))
    assert_escaped(preview, payload)
    done = page(owner_client.post(url, {"to": owner.pk, "confirmed": "1"}))
    assert_escaped(done, payload)


def test_the_chat_escapes_subjects_and_messages_for_the_office_and_the_contact(
    client, world, payload, practice, staff_client, staff
):
    from collab import services as collab_services
    from portal.models import PortalAccount

    company, contact = world["company"], world["contact"]
    Connection.objects.filter(a__in=[company, contact], b__in=[company, contact]).update(
        portal_access=True
    )
    thread = collab_services.start_thread(
        client=company,
        user=staff,
        subject=payload,
        body=payload,
        internal=False,
        base_url="http://testserver",
    )
    tab_page = page(staff_client.get(tab(company, "chat")))
    assert_escaped(tab_page, payload, count=2)  # the client's name and the subject
    thread_page = page(
        staff_client.get(reverse("chat-thread", args=[company.public_id, thread.pk]))
    )
    assert_escaped(thread_page, payload, count=3)  # name, subject, message
    user = UserFactory(username="portal-escape", email=contact.email)
    PortalAccount.objects.create(practice=practice, relation=contact, user=user)
    client.force_login(user)
    listing = page(client.get(reverse("portal-chat")))
    assert_escaped(listing, payload, count=2)  # the subject and the client
    portal_thread = page(client.get(reverse("portal-chat-thread", args=[thread.pk])))
    assert_escaped(portal_thread, payload, count=3)  # subject, client, message
