"""Importing the ledger's debtors (DESIGN §5) against the embedded local ledger: exactly one client
per code, nothing written twice, bad data reported per debtor, and a crashed run that simply goes on."""

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schwifty
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import translation

from relations.models import Address, BankAccount, Relation, TimelineEvent
from sync import importer, mapping
from sync.adapters.base import LedgerAddress, LedgerBank, LedgerCustomer
from sync.adapters.local import LocalAdapter
from sync.importer import Outcome, kept_count, run_import
from sync.mapping import customer_from_dict, customer_to_dict
from sync.models import ImportRun, LocalDebtor, SyncState
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The report's messages are asserted in English; Dutch is the default language, so without
    this the outcome depended on whichever earlier test left English active in the thread."""
    with translation.override("en"):
        yield


TABLES = (Relation, Address, BankAccount, SyncState, TimelineEvent)


def iban(n: int) -> str:
    return str(schwifty.IBAN.generate("NL", bank_code="ABNA", account_code=str(n).zfill(10)))


def debtor(n: int, **fields) -> LedgerCustomer:
    """Even numbers are companies (a marker in the name and a KvK number), odd ones persons."""
    company = n % 2 == 0
    values: dict[str, Any] = {
        "code": str(1000 + n),
        "name": f"Bakkerij Van Dam {n} B.V." if company else f"Jan de Vries {n}",
        "addresses": (
            LedgerAddress(
                type="visiting",
                line=f"Keizersgracht {n + 1}-A",
                postcode="1015 CJ",
                city="Amsterdam",
                default=True,
            ),
            LedgerAddress(
                type="postal", line=f"Postbus {n + 1}", postcode="1000 AA", city="Utrecht"
            ),
        ),
        "banks": (LedgerBank(iban=iban(n), bic="ABNANL2A", holder="Van Dam", default=True),),
        "kvk_number": f"{10000000 + n}" if company else "",
        "email": f"info{n}@example.nl",
    }
    values.update(fields)
    return LedgerCustomer(**values)


def seed(practice, customers) -> None:
    LocalDebtor.objects.bulk_create(
        [
            LocalDebtor(practice=practice, code=c.code, record=customer_to_dict(c))
            for c in customers
        ],
        batch_size=500,
    )


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def entry(run: ImportRun, code: str) -> dict:
    return next(e for e in run.report if e["code"] == code)


class FlakyAdapter:
    """The local ledger, but the connection breaks after `fail_after` debtors."""

    max_batch = 25

    def __init__(self, practice, fail_after: int) -> None:
        self.inner = LocalAdapter(practice)
        self.fail_after = fail_after

    def count_customers(self) -> int | None:
        return None

    def list_customers(self) -> Iterator[LedgerCustomer]:
        for number, customer in enumerate(self.inner.list_customers()):
            if number == self.fail_after:
                raise ConnectionError("connection reset by peer")
            yield customer


class ListAdapter:
    """A ledger that lists exactly these debtors (the local one cannot hold a code twice)."""

    max_batch = 25

    def __init__(self, customers) -> None:
        self.customers = customers

    def count_customers(self) -> int | None:
        return None

    def list_customers(self) -> Iterator[LedgerCustomer]:
        yield from self.customers


# --- the import ----------------------------------------------------------------------------------


def test_it_imports_2000_debtors_once_and_a_second_run_changes_nothing(
    practice, owner, django_assert_max_num_queries
):
    seed(practice, [debtor(n) for n in range(2000)])

    started = time.monotonic()
    # Per chunk of 500: a handful of bulk statements, never one per debtor.
    with django_assert_max_num_queries(60):
        run = run_import(practice=practice, user=owner)
    elapsed = time.monotonic() - started
    print(
        f"\nimported 2000 debtors in {elapsed:.2f}s ({2000 / elapsed:.0f}/s, {connection.vendor})"
    )

    assert (run.status, run.total, run.processed) == (ImportRun.Status.DONE, 2000, 2000)
    assert (run.created, run.updated, run.unchanged, run.failed) == (2000, 0, 0, 0)
    assert counts() == {
        "Relation": 2000,
        "Address": 4000,
        "BankAccount": 2000,
        "SyncState": 2000,
        "TimelineEvent": 2000,
    }
    clients = Relation.objects.filter(practice=practice).clients()
    assert clients.count() == 2000
    assert clients.values("client_code").distinct().count() == 2000
    assert clients.filter(code_frozen=True, created_by=owner).count() == 2000
    assert (
        TimelineEvent.objects.filter(kind=TimelineEvent.Kind.CREATED, actor=owner).count() == 2000
    )
    states = SyncState.objects.filter(practice=practice, status=SyncState.Status.SYNCED)
    assert states.filter(pushed_version=F("relation__ledger_version")).count() == 2000
    assert len(run.report) == importer.PLAIN_LIMIT  # bounded

    relation = Relation.objects.get(practice=practice, client_code="1002")
    assert relation.display_name == "Bakkerij Van Dam 2 B.V."
    assert relation.kvk_number == "10000002"
    assert "amsterdam" in relation.search_text
    assert "utrecht" in relation.search_text
    visiting = relation.addresses.get(type="visiting")
    assert (visiting.street, visiting.house_number, visiting.house_number_addition) == (
        "Keizersgracht",
        "3",
        "A",
    )
    assert visiting.is_default
    assert relation.bank_accounts.get().iban == iban(2)
    state = relation.sync_state
    assert state.remote_fingerprint == debtor(2).fingerprint()
    assert customer_from_dict(state.remote_record) == debtor(2)

    # Nothing is due: the ledger already holds what Kring holds.
    from sync.outbox import due_states

    assert not due_states(practice).exists()

    before = counts()
    with django_assert_max_num_queries(30):
        again = run_import(practice=practice, user=owner)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, 2000, 0)
    assert counts() == before


def test_a_dry_run_writes_nothing_but_the_run(practice, owner):
    seed(practice, [debtor(n) for n in range(20)])
    run = run_import(practice=practice, user=owner, dry_run=True)
    assert run.dry_run
    assert (run.created, run.processed, run.status) == (20, 20, ImportRun.Status.DONE)
    assert counts() == dict.fromkeys(counts(), 0)
    assert ImportRun.objects.count() == 1
    assert entry(run, "1000")["entity"] == Relation.Entity.COMPANY
    assert entry(run, "1001")["entity"] == Relation.Entity.PRIVATE


def test_a_dry_run_after_an_import_shows_what_would_change(practice, owner):
    seed(practice, [debtor(n) for n in range(3)])
    run_import(practice=practice, user=owner)
    LocalAdapter(practice).upsert_customers([debtor(1, name="Jan de Vries-Bakker")])
    before = counts()
    run = run_import(practice=practice, user=owner, dry_run=True)
    assert (run.created, run.updated, run.unchanged) == (0, 1, 2)
    assert counts() == before
    assert Relation.objects.get(client_code="1001").display_name == "Jan de Vries 1"


def test_an_invalid_debtor_is_reported_and_the_rest_imported(practice, owner):
    seed(practice, [debtor(1), debtor(2, name="   "), debtor(3)])
    run = run_import(practice=practice, user=owner)
    assert (run.created, run.failed, run.status) == (2, 1, ImportRun.Status.DONE)
    failed = entry(run, "1002")
    assert failed["outcome"] == Outcome.FAILED
    assert failed["messages"] == ["The debtor has no name."]
    assert set(Relation.objects.values_list("client_code", flat=True)) == {"1001", "1003"}


def test_duplicate_and_overlong_codes_are_reported(practice, owner, monkeypatch):
    customers = [
        debtor(1),
        debtor(1, name="Piet Puk"),
        debtor(2, code="1" * 17),
        debtor(3, code=""),
    ]
    monkeypatch.setattr(importer, "adapter_for", lambda p: ListAdapter(customers))
    run = run_import(practice=practice, user=owner)
    assert (run.created, run.failed, run.processed) == (1, 3, 4)
    assert Relation.objects.get().display_name == "Jan de Vries 1"
    reasons = [e["messages"][0] for e in run.report if e["outcome"] == Outcome.FAILED]
    assert reasons == [
        "The ledger holds this code more than once; only its first debtor is read.",
        "The code is longer than 16 characters.",
        "The debtor has no code.",
    ]


def test_an_invalid_iban_is_reported_and_skipped(practice, owner):
    banks = (
        LedgerBank(iban="NL00ABNA0123456789", default=True),
        LedgerBank(iban="nl91 abna 0417 1643 00", bic="ABNANL2A"),
    )
    seed(practice, [debtor(1, banks=banks)])
    run = run_import(practice=practice, user=owner)
    assert (run.created, run.failed) == (1, 0)
    assert entry(run, "1001")["messages"] == [
        "IBAN NL00ABNA0123456789 is not valid; the bank account was left out."
    ]
    relation = Relation.objects.get()
    assert list(relation.bank_accounts.values_list("iban", flat=True)) == ["NL91ABNA0417164300"]
    # The ledger's record stays the base, so the next run sees nothing new.
    again = run_import(practice=practice, user=owner)
    assert (again.unchanged, again.updated) == (1, 0)


def test_bad_values_are_left_out_and_reported(practice, owner):
    seed(practice, [debtor(2, email="not an e-mail", kvk_number="123", vat_number="X" * 30)])
    run = run_import(practice=practice, user=owner)
    relation = Relation.objects.get()
    assert (relation.email, relation.kvk_number, relation.vat_number) == ("", "", "")
    assert len(entry(run, "1002")["messages"]) == 3


def test_company_or_private_is_guessed_from_the_data(practice, owner):
    seed(
        practice,
        [
            LedgerCustomer(code="1", name="Bakkerij Jansen"),
            LedgerCustomer(code="2", name="Jansen", kvk_number="12345678"),
            LedgerCustomer(code="3", name="Jansen", vat_number="NL001234567B01"),
            LedgerCustomer(code="4", name="P. van der Berg"),
        ],
    )
    run = run_import(practice=practice, user=owner)
    by_code = {r.client_code: r for r in Relation.objects.all()}
    assert [by_code[c].entity for c in "1234"] == ["company"] * 3 + ["private"]
    assert by_code["1"].legal_name == "Bakkerij Jansen"
    assert by_code["4"].last_name == "P. van der Berg"
    assert by_code["4"].display_name == "P. van der Berg"
    assert [entry(run, c)["entity"] for c in "1234"] == ["company"] * 3 + ["private"]


def test_a_changed_ledger_record_updates_the_client(practice, owner):
    seed(practice, [debtor(2)])
    run_import(practice=practice, user=owner)
    relation = Relation.objects.get()
    changed = debtor(
        2,
        name="Bakkerij Van Dam Holding B.V.",
        addresses=(LedgerAddress(type="visiting", line="Dam 1", city="Zaandam", default=True),),
        banks=(),
    )
    LocalAdapter(practice).upsert_customers([changed])

    run = run_import(practice=practice, user=owner)

    assert (run.updated, run.created, run.unchanged) == (1, 0, 0)
    updated = Relation.objects.get(pk=relation.pk)
    assert updated.display_name == updated.legal_name == "Bakkerij Van Dam Holding B.V."
    assert updated.version == relation.version + 1
    assert updated.ledger_version == relation.ledger_version  # nothing to push back
    assert list(updated.addresses.values_list("city", flat=True)) == ["Zaandam"]
    assert not updated.bank_accounts.exists()
    assert "zaandam" in updated.search_text
    state = updated.sync_state
    assert state.status == SyncState.Status.SYNCED
    assert state.remote_fingerprint == changed.fingerprint()
    event = TimelineEvent.objects.filter(relation=relation, kind=TimelineEvent.Kind.CHANGED).get()
    assert event.fields == ["addresses", "bank_accounts", "display_name"]
    assert run_import(practice=practice, user=owner).unchanged == 1


def test_many_changed_records_are_taken_in_a_constant_number_of_queries(
    practice, owner, django_assert_max_num_queries
):
    seed(practice, [debtor(n) for n in range(300)])
    run_import(practice=practice, user=owner)
    LocalDebtor.objects.filter(practice=practice).update(
        record={**customer_to_dict(debtor(0, name="Ander B.V.")), "code": "x"}
    )
    for row in LocalDebtor.objects.filter(practice=practice):
        row.record = {**row.record, "code": row.code}
        row.save(update_fields=["record"])

    # One chunk: the same statements for 300 updated debtors as for one, never one per debtor.
    with django_assert_max_num_queries(25):
        run = run_import(practice=practice, user=owner)

    assert (run.updated, run.created, run.failed) == (300, 0, 0)
    assert set(Relation.objects.values_list("display_name", flat=True)) == {"Ander B.V."}
    assert Address.objects.filter(relation__practice=practice).count() == 300 * len(
        debtor(0).addresses
    )
    assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.CHANGED).count() == 300
    assert run_import(practice=practice, user=owner).unchanged == 300


def test_a_client_with_unpushed_changes_is_kept(practice, owner):
    seed(practice, [debtor(2)])
    run_import(practice=practice, user=owner)
    relation = Relation.objects.get()
    # A staff edit not yet pushed (the outbox: ledger_version ahead of pushed_version).
    Relation.objects.filter(pk=relation.pk).update(
        legal_name="Bakkerij Kring B.V.",
        display_name="Bakkerij Kring B.V.",
        ledger_version=F("ledger_version") + 1,
    )
    LocalAdapter(practice).upsert_customers([debtor(2, name="Bakkerij Ledger B.V.")])

    run = run_import(practice=practice, user=owner)

    assert (run.updated, run.unchanged, kept_count(run)) == (0, 0, 1)
    assert entry(run, "1002")["outcome"] == Outcome.KEPT
    assert Relation.objects.get().display_name == "Bakkerij Kring B.V."
    # The base of the conflict check stays what Kring last saw, so the push finds the conflict.
    assert SyncState.objects.get().remote_fingerprint == debtor(2).fingerprint()


def test_a_client_kring_made_under_the_same_code_is_kept(practice, owner):
    RelationFactory(practice=practice, client_code="1002", legal_name="Eigen Klant B.V.")
    seed(practice, [debtor(2)])
    run = run_import(practice=practice, user=owner)
    assert (run.created, kept_count(run)) == (0, 1)
    assert Relation.objects.get().display_name == "Eigen Klant B.V."


def test_codes_are_strings_so_leading_zeros_count(practice, owner):
    RelationFactory(practice=practice, client_code="42", legal_name="Tweeënveertig B.V.")
    seed(practice, [debtor(1, code="0042"), debtor(3, code="042")])
    run = run_import(practice=practice, user=owner)
    assert run.created == 2
    codes = set(Relation.objects.values_list("client_code", flat=True))
    assert codes == {"42", "042", "0042"}
    assert Relation.objects.get(client_code="42").display_name == "Tweeënveertig B.V."
    assert run_import(practice=practice, user=owner).unchanged == 2


def test_a_crashed_run_keeps_finished_chunks_and_the_next_one_goes_on(practice, owner, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 100)
    seed(practice, [debtor(n) for n in range(250)])
    monkeypatch.setattr(importer, "adapter_for", lambda p: FlakyAdapter(p, fail_after=230))

    with pytest.raises(ConnectionError):
        run_import(practice=practice, user=owner)

    crashed = ImportRun.objects.get()
    assert crashed.status == ImportRun.Status.FAILED
    assert "connection reset" in crashed.error
    assert (crashed.processed, crashed.created) == (200, 200)
    assert Relation.objects.count() == 200

    monkeypatch.setattr(importer, "adapter_for", lambda p: LocalAdapter(p))
    run = run_import(practice=practice, user=owner)
    assert (run.created, run.unchanged, run.status) == (50, 200, ImportRun.Status.DONE)
    assert counts()["Relation"] == counts()["SyncState"] == counts()["TimelineEvent"] == 250
    assert Relation.objects.values("client_code").distinct().count() == 250


def test_a_row_the_database_refuses_costs_only_its_debtor(practice, owner, monkeypatch):
    real_address_from = mapping.address_from

    def broken_address_from(ledger):
        address = real_address_from(ledger)
        if ledger.city == "Nergens":
            address.city = None  # NOT NULL: the database refuses the chunk
        return address

    monkeypatch.setattr(mapping, "address_from", broken_address_from)
    bad = debtor(2, addresses=(LedgerAddress(type="visiting", line="Weg 1", city="Nergens"),))
    seed(practice, [debtor(1), bad, debtor(3)])

    run = run_import(practice=practice, user=owner)

    assert (run.created, run.failed, run.processed) == (2, 1, 3)
    assert entry(run, "1002")["messages"][0].startswith("The database refused this debtor")
    assert set(Relation.objects.values_list("client_code", flat=True)) == {"1001", "1003"}
    assert counts()["SyncState"] == 2


def test_progress_is_reported_per_chunk(practice, owner, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_SIZE", 10)
    seed(practice, [debtor(n) for n in range(25)])
    calls = []
    run_import(
        practice=practice, user=owner, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(0, 25), (10, 25), (20, 25), (25, 25)]


def test_a_queued_run_is_run_by_the_task(practice, owner):
    from sync.tasks import import_debtors

    seed(practice, [debtor(1)])
    run = ImportRun.objects.create(practice=practice, started_by=owner, dry_run=True)
    assert import_debtors(run.pk, "en")["created"] == 1
    run.refresh_from_db()
    assert (run.status, run.created) == (ImportRun.Status.DONE, 1)
    assert Relation.objects.count() == 0
    assert import_debtors(run.pk) == {}  # a redelivered message for a finished run does nothing


# --- the command ---------------------------------------------------------------------------------


def run_command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("ledger_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_dry_run_writes_nothing_and_summarises(practice):
    seed(practice, [debtor(1), debtor(2, name="")])
    out, err = run_command("vandam", "--dry-run")
    assert "Dry run: nothing was written." in out
    assert "2 debtors: 1 created, 0 updated, 0 unchanged, 0 kept" in out
    assert "1 failed" in out
    assert "1002: The debtor has no name." in out
    assert "] 2/2" in err
    assert counts()["Relation"] == 0


def test_the_command_imports(practice):
    seed(practice, [debtor(n) for n in range(3)])
    out, err = run_command("vandam")
    assert "3 debtors: 3 created" in out
    assert "[" + "#" * importer_bar_width() + "] 3/3" in err
    assert Relation.objects.count() == 3
    out, _err = run_command("vandam")
    assert "0 created, 0 updated, 3 unchanged" in out


def importer_bar_width() -> int:
    from sync.management.commands.ledger_import import BAR_WIDTH

    return BAR_WIDTH


def test_the_command_refuses_an_unknown_practice(db):
    with pytest.raises(CommandError, match="No practice"):
        run_command("nowhere")


# --- the pages -----------------------------------------------------------------------------------


def test_the_owner_sees_the_import_page(owner_client):
    response = owner_client.get(reverse("sync-import"))
    assert response.status_code == 200
    assert b"Preview (dry run)" in response.content
    assert b"Import debtors" in response.content


def test_the_owner_starts_an_import_and_lands_on_its_progress(
    practice, owner, owner_client, django_capture_on_commit_callbacks
):
    seed(practice, [debtor(n) for n in range(3)])
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync-import"))
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sync-import-run", args=[run.pk])
    assert (run.practice, run.started_by, run.dry_run) == (practice, owner, False)
    run.refresh_from_db()  # eager Celery: the task ran on commit
    assert (run.status, run.created) == (ImportRun.Status.DONE, 3)
    assert Relation.objects.count() == 3

    page = owner_client.get(response["Location"])
    assert page.status_code == 200
    assert b'id="progress"' in page.content
    assert b"Bakkerij Van Dam 0 B.V." in page.content
    assert b"guessed" in page.content
    assert b"every 1s" not in page.content  # done: no more polling


def test_a_preview_from_the_page_writes_nothing(
    practice, owner_client, django_capture_on_commit_callbacks
):
    seed(practice, [debtor(1)])
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("sync-import"), {"dry_run": "1"})
    run = ImportRun.objects.get()
    assert (run.dry_run, run.created, run.status) == (True, 1, ImportRun.Status.DONE)
    assert Relation.objects.count() == 0


def test_a_running_import_polls_its_progress_partial(
    practice, owner, owner_client, django_assert_num_queries
):
    run = ImportRun.objects.create(practice=practice, started_by=owner, total=2000, processed=500)
    url = reverse("sync-import-run", args=[run.pk])
    # Session, user, membership, the run: polled every second, so nothing more (and no session
    # save: the idle clock is renewed at most once a minute).
    with django_assert_num_queries(4):
        response = owner_client.get(url, headers={"hx-request": "true"})
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="progress"')
    assert "<html" not in content
    assert 'hx-trigger="every 1s"' in content
    assert "500 of 2000 debtors processed" in content
    assert "HX-Request" in response["Vary"]
    full = owner_client.get(url).content.decode()
    assert "<html" in full
    assert f'href="{url}"' in full


def test_staff_and_read_only_members_may_not_import(staff_client, readonly_client):
    for client in (staff_client, readonly_client):
        assert client.get(reverse("sync-import")).status_code == 403
        assert client.post(reverse("sync-import")).status_code == 403
    assert ImportRun.objects.count() == 0


def test_anonymous_users_are_sent_to_login(client, practice):
    response = client.get(reverse("sync-import"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_another_practices_run_is_not_found(practice, owner, outsider_client):
    run = ImportRun.objects.create(practice=practice, started_by=owner)
    assert outsider_client.get(reverse("sync-import-run", args=[run.pk])).status_code == 404


def test_the_progress_page_only_answers_get(practice, owner, owner_client):
    run = ImportRun.objects.create(practice=practice, started_by=owner)
    assert owner_client.post(reverse("sync-import-run", args=[run.pk])).status_code == 405
    assert owner_client.delete(reverse("sync-import")).status_code == 405


def test_the_pages_render_in_dutch(practice, owner, owner_client):
    run = ImportRun.objects.create(practice=practice, started_by=owner, dry_run=True)
    dutch = {"accept-language": "nl"}
    assert owner_client.get(reverse("sync-import"), headers=dutch).status_code == 200
    assert (
        owner_client.get(reverse("sync-import-run", args=[run.pk]), headers=dutch).status_code
        == 200
    )
