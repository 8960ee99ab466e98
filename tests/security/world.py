"""Two practices full of everything a URL can point at, a database snapshot, and clients that log in.

`world` (a fixture: import `world_fixture` into the test module) builds both practices once per
module, inside a transaction rolled back at its end; each test still runs in its own savepoint
(pytest-django's `db`), so what a test changes is undone before the next one.

`build_side` makes one practice with its people and one object of every kind the staff URLs take an
id of, each in a state in which the URL's action would succeed (a failed push to retry, a conflict to
resolve, an open invitation to resend…): a refused request that changes nothing then proves the
refusal, not a precondition that happened to fail.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import transaction
from django.db.models import Model
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from collab import services as collab_services
from collab.models import Message, Thread
from connections import services as connection_services
from connections.models import Connection
from lookups.models import LookupSettings, OfficeLink
from portal import services as portal_services
from practice import members as office_members
from practice.models import Membership, Practice, StaffInvitation
from relations import services as relation_services
from relations.models import (
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
)
from sync.mapping import customer_for, customer_to_dict
from sync.models import ImportRun, LedgerConnection, LocalDebtor, SyncState
from tests.factories import (
    AddressFactory,
    BankAccountFactory,
    MembershipFactory,
    PracticeFactory,
    RelationFactory,
    ServiceAgreementFactory,
    UserFactory,
)
from work import dates as work_dates
from work import services as work_services
from work.models import Process, ProcessTemplate, Task, TemplateStep

PORTAL_PASSWORD = "tulpen-bollen-veld-42"
# In every internal note of the world: no portal page nor any e-mail to a contact may hold it.
INTERNAL_CANARY = "Binnenkanarie-notitie-Zq9"
TOKEN_IN_LINK = re.compile(r"http://testserver/portal/accept/([A-Za-z0-9_\-]+)/")
# Valid BSNs (eleven-test), one per practice, so a leak would show whose it is.
BSNS = {"a": "111222333", "b": "123456782"}


@dataclass
class Side:
    """One practice and its objects; `label` ("a" or "b") is in every name, code and e-mail."""

    label: str
    practice: Practice
    owner: User
    staff: User
    readonly: User
    client: Relation  # company client: address, bank account, agreement, team, connection
    contact: Relation  # private contact with e-mail and BSN, not invited
    company_contact: Relation  # a contact company (ZZP'er) without agreements
    invited: Relation  # contact with an open portal invitation
    portal_contact: Relation  # contact who accepted an invitation
    archived: Relation
    failed: Relation  # client whose push failed
    conflict: Relation  # client changed in the ledger meanwhile
    address: Address
    bank: BankAccount
    agreement: ServiceAgreement
    team_assignment: TeamAssignment  # the accountant (removable: a manager stays)
    connection: Connection
    import_run: ImportRun
    portal_user: User
    portal_email: str
    membership: Membership  # the staff member's
    former: Membership  # a deactivated member's
    colleague_invitation: StaffInvitation  # an open invitation to a colleague
    office_link: OfficeLink  # a link the office defined (Kantoor → Koppelingen)
    process_template: ProcessTemplate  # for the client's bookkeeping agreement, one step
    template_step: TemplateStep  # the payroll role's: nobody holds it on the client's team
    process: Process  # the client's Q1 2026, running
    task: Task  # its open task, in the payroll role's queue: any colleague may take it
    done_task: Task  # the task of the client's Q2 2026, done (and so reopenable)
    team_role: TeamRole  # a role of the office's own, held on no team (deletable)
    thread: Thread  # on the client; the portal contact sees it (portal access on its connection)
    message: Message  # the thread's visible first message (withdrawable)
    internal_note: Message  # an internal note in the thread, holding INTERNAL_CANARY

    def relations(self) -> list[Relation]:
        return [
            self.client,
            self.contact,
            self.company_contact,
            self.invited,
            self.portal_contact,
            self.archived,
            self.failed,
            self.conflict,
        ]


def _member(practice: Practice, username: str, role: str) -> User:
    user = UserFactory.create(username=username, first_name=username.title(), last_name="Tester")
    MembershipFactory.create(practice=practice, user=user, role=role)
    return user


def _with_derived(relation: Relation) -> Relation:
    """Search text again, now that the relation has addresses (their city is searchable)."""
    relation.refresh_derived()
    relation.save(update_fields=["display_name", "search_text"])
    return relation


def accept_invitation(relation: Relation, user: User, password: str = PORTAL_PASSWORD) -> User:
    """Invite as staff do, take the token from the e-mail, accept it as the contact does."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        portal_services.invite(relation=relation, user=user, base_url="http://testserver")
    match = TOKEN_IN_LINK.search(str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return portal_services.accept(token=match.group(1), password=password)


def build_side(label: str, *, code_base: int, name_prefix: str | None = None) -> Side:
    """A practice `label` with every kind of object; client codes start at `code_base`."""
    prefix = name_prefix or f"Praktijk{label.upper()}"
    practice = PracticeFactory.create(name=f"Kantoor {label.upper()}", slug=f"security-{label}")
    owner = _member(practice, f"{label}-owner", Membership.Role.OWNER)
    staff = _member(practice, f"{label}-staff", Membership.Role.STAFF)
    readonly = _member(practice, f"{label}-readonly", Membership.Role.READ_ONLY)

    def client_(name: str, number: int, **extra: Any) -> Relation:
        relation = RelationFactory.create(
            practice=practice,
            legal_name=f"{prefix} {name} B.V.",
            client_code=str(code_base + number),
            email=f"{name.lower()}@{label}.example",
            created_by=owner,
            **extra,
        )
        TeamAssignment.objects.create(
            practice=practice,
            relation=relation,
            user=owner,
            role=TeamAssignment.Role.RELATIONSHIP_MANAGER,
        )
        return relation

    client = client_("Bakkerij", 1, vat_number=f"NL{code_base:09d}B01")
    # The VAT check is on; its register is an address where nothing listens (a check is stored as
    # "not available"): no test of the world reaches outside.
    LookupSettings.objects.create(
        practice=practice,
        vat_provider=LookupSettings.VatProvider.VIES,
        vat_url="http://127.0.0.1:9/vies",
    )
    office_link = OfficeLink.objects.create(
        practice=practice,
        name=f"{prefix} portaal",
        url_template="https://portaal.example/{klantcode}",
        audience=OfficeLink.Audience.BOTH,
    )
    address = AddressFactory.create(relation=client, city=f"{prefix}stad", is_default=True)
    _with_derived(client)
    bank = BankAccountFactory.create(relation=client, holder=f"{prefix} Bakkerij", is_default=True)
    agreement = ServiceAgreementFactory.create(relation=client)
    team_assignment = TeamAssignment.objects.create(
        practice=practice, relation=client, user=staff, role=TeamAssignment.Role.ACCOUNTANT
    )

    def contact_(first: str, **extra) -> Relation:
        return RelationFactory.create(
            practice=practice,
            contact=True,
            private=True,
            first_name=first,
            last_name=prefix,
            email=f"{first.lower()}@{label}.example",
            **extra,
        )

    contact = contact_("Jan", bsn=BSNS[label])
    connection = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=client,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
    )
    company_contact = RelationFactory.create(
        practice=practice,
        contact=True,
        legal_name=f"{prefix} Klusbedrijf",
        email=f"klus@{label}.example",
    )
    invited = contact_("Piet")
    portal_services.invite(relation=invited, user=staff, base_url="http://testserver")
    portal_contact = contact_("Kees")
    portal_user = accept_invitation(portal_contact, staff)
    archived = client_("Archief", 2)
    relation_services.archive(practice=practice, user=owner, relations=[archived])

    LedgerConnection.objects.create(practice=practice)
    failed = client_("Mislukt", 3)
    SyncState.objects.create(
        practice=practice,
        relation=failed,
        status=SyncState.Status.FAILED,
        failed_version=failed.ledger_version,
        attempts=8,
        last_error="Naam is ongeldig.",
    )
    conflict = client_("Conflict", 4)
    ours = customer_for(conflict)
    LocalDebtor.objects.create(
        practice=practice, code=conflict.client_code, record=customer_to_dict(ours)
    )
    theirs = dataclasses.replace(ours, name=f"{prefix} Conflict (ledger)")
    SyncState.objects.create(
        practice=practice,
        relation=conflict,
        status=SyncState.Status.CONFLICT,
        pushed_version=conflict.ledger_version,
        remote_record=customer_to_dict(theirs),
    )
    import_run = ImportRun.objects.create(
        practice=practice,
        started_by=owner,
        status=ImportRun.Status.DONE,
        total=1,
        processed=1,
        unchanged=1,
        report=[
            {
                "code": conflict.client_code,
                "name": conflict.display_name,
                "outcome": "unchanged",
                "messages": [],
            }
        ],
    )
    membership = Membership.objects.get(practice=practice, user=staff)
    former_user = _member(practice, f"{label}-former", Membership.Role.STAFF)
    former = Membership.objects.get(practice=practice, user=former_user)
    former.deactivated_at = timezone.now()
    former.save(update_fields=["deactivated_at"])
    now = timezone.now()
    colleague_invitation = StaffInvitation.objects.create(
        practice=practice,
        email=f"collega@{label}.example",
        role=Membership.Role.STAFF,
        token_hash=office_members.hash_token(f"colleague-token-{label}"),
        created_by=owner,
        created_at=now,
        expires_at=now + office_members.INVITATION_LIFETIME,
    )
    process_template = ProcessTemplate.objects.create(
        practice=practice,
        name=f"{prefix} Boekhouding",
        service="bookkeeping",
        period_kind="quarter",
    )
    template_step = TemplateStep.objects.create(
        template=process_template, position=1, title=f"{prefix} Stap", role_key="payroll", days=5
    )

    def started(key: str) -> Process:
        return work_services.start_process(
            relation=client,
            template=process_template,
            period=work_dates.parse_period("quarter", key),  # type: ignore[arg-type]
            user=owner,
        )

    process = started("2026-Q1")
    task = process.tasks.get()
    done_task = started("2026-Q2").tasks.get()
    work_services.complete(task=done_task, user=staff, version=done_task.version)
    done_task.refresh_from_db()
    team_role = TeamRole.objects.create(
        practice=practice, key="controller", name=f"Controller {label}", position=70
    )
    # Kees (the portal contact) is contact person at the client, with portal access for it.
    connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=portal_contact,
        other=client,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
        portal_access=True,
    )
    thread = collab_services.start_thread(
        client=client,
        user=staff,
        subject=f"{prefix} Jaarrekening",
        body=f"{prefix}: wilt u de jaaropgaaf sturen?",
        internal=False,
        base_url="http://testserver",
    )
    message = thread.messages.get()
    internal_note = collab_services.post_staff_message(
        thread=thread,
        user=staff,
        body=f"{INTERNAL_CANARY} {label}: klant betaalt traag",
        internal=True,
        base_url="http://testserver",
    )
    return Side(
        label=label,
        practice=practice,
        owner=owner,
        staff=staff,
        readonly=readonly,
        client=client,
        contact=contact,
        company_contact=company_contact,
        invited=invited,
        portal_contact=portal_contact,
        archived=archived,
        failed=failed,
        conflict=conflict,
        address=address,
        bank=bank,
        agreement=agreement,
        team_assignment=team_assignment,
        connection=connection,
        import_run=import_run,
        portal_user=portal_user,
        portal_email=portal_contact.email,
        membership=membership,
        former=former,
        colleague_invitation=colleague_invitation,
        office_link=office_link,
        process_template=process_template,
        template_step=template_step,
        process=process,
        task=task,
        done_task=done_task,
        team_role=team_role,
        thread=thread,
        message=message,
        internal_note=internal_note,
    )


@dataclass
class World:
    a: Side  # the practice whose people make the requests
    b: Side  # the other practice, whose objects they must never reach


@pytest.fixture(scope="module", name="world")
def world_fixture(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # The same client codes in both practices: a code is only unique within one.
            built = World(a=build_side("a", code_base=7000), b=build_side("b", code_base=7000))
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


# --- the database, before and after --------------------------------------------------------------


# Rows that record requests rather than hold data a request may change: sessions (renewed on every
# request) and, where installed, the audit trail of refusals and the login throttle's bookkeeping.
# A refused request is expected to write those; it must write nothing else.
REQUEST_RECORDS = frozenset(
    {
        Session._meta.label,
        "practice.AuditEvent",
        "axes.AccessAttempt",
        "axes.AccessFailureLog",
        "axes.AccessLog",
    }
)


def data_models() -> list[type[Model]]:
    return [
        m
        for m in apps.get_models()
        if m._meta.label not in REQUEST_RECORDS and not m._meta.proxy and m._meta.managed
    ]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every model (all columns, versions included), in primary-key order."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in data_models()
    }


def changes(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, str]:
    """Per model, what differs: readable in an assertion message."""
    diff = {}
    for label, rows in before.items():
        if rows != after[label]:
            old = {row[0]: row for row in rows}
            new = {row[0]: row for row in after[label]}
            diff[label] = (
                f"added {[new[pk] for pk in new.keys() - old.keys()]}, "
                f"removed {[old[pk] for pk in old.keys() - new.keys()]}, "
                f"changed {[(old[pk], new[pk]) for pk in old.keys() & new.keys() if old[pk] != new[pk]]}"
            )
    return diff


# --- clients -------------------------------------------------------------------------------------


class CsrfClient(Client):
    """A browser-like client: CSRF enforced, every POST carries the token a page handed out."""

    def __init__(self, **kwargs) -> None:
        super().__init__(enforce_csrf_checks=True, headers={"accept-language": "en"}, **kwargs)

    def fetch_token(self, url: str) -> str:
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return self.cookies["csrftoken"].value

    def post(self, path, data=None, **kwargs):
        data = dict(data or {})
        if "csrftoken" in self.cookies:
            data.setdefault("csrfmiddlewaretoken", self.cookies["csrftoken"].value)
        return super().post(path, data, **kwargs)


def staff_client(user) -> CsrfClient:
    client = CsrfClient()
    client.force_login(user)
    client.fetch_token(reverse("home"))
    return client


def portal_session(side: Side) -> CsrfClient:
    """Signed in as the side's portal contact without the login page (portal_client uses it)."""
    client = CsrfClient()
    client.force_login(side.portal_user)
    client.fetch_token(reverse("portal-home"))
    return client


def portal_client(side: Side, password: str = PORTAL_PASSWORD) -> CsrfClient:
    """The contact signs in on the portal's own login page, as a browser would."""
    client = CsrfClient()
    client.fetch_token(reverse("portal-login"))
    response = client.post(
        reverse("portal-login"), {"email": side.portal_email, "password": password}
    )
    assert response.status_code == 302, response
    assert response.url == reverse("portal-home"), response.url
    client.fetch_token(reverse("portal-home"))
    return client
