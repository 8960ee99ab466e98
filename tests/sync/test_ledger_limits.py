"""Issue 12: the sync against a Twinfield that behaves like Twinfield — a 429 every seventh request,
tokens of five seconds, codes with leading zeros — finishes its work instead of giving up.

The fake's clock moves by `tick` per request and by whatever the adapter waits (its `sleep` is the
fake's `advance`), so five-second tokens expire and Retry-After is honoured without the test
waiting in real time."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import translation

from relations import services as relations_services
from relations.models import Relation
from sync import drain, importer
from sync.adapters import twinfield as twinfield_adapter
from sync.adapters.base import Patience, RetryableLedgerError
from sync.importer import run_import
from sync.models import ImportRun, SyncState
from tests.factories import created_relation
from tests.fakes.twinfield import FakeTwinfield, connect

pytestmark = pytest.mark.django_db

DEBTORS = 300


@pytest.fixture(autouse=True)
def _dutch():
    with translation.override("nl"):
        yield


@pytest.fixture
def strict_fake(monkeypatch):
    """A 429 (Retry-After: 1) every 7th ledger call, tokens of 5 s, half a second per call, and a
    mask that hands out codes with leading zeros (0000, 0001, …)."""
    with FakeTwinfield(code_mask="[0-9][0-9][0-9][0-9]", token_ttl=5) as fake:
        fake.rate_limit_every = 7
        fake.rate_limit_retry_after = 1
        fake.tick = 0.5
        monkeypatch.setattr(twinfield_adapter, "Patience", lambda: Patience(sleep=fake.advance))
        yield fake


@pytest.fixture
def imported(practice, owner, strict_fake):
    connect(practice, strict_fake)
    strict_fake.seed_customers(DEBTORS)
    run = run_import(practice=practice, user=owner)
    assert (run.created, run.failed) == (DEBTORS, 0), run.error
    return run


def _protocol_errors(fake) -> dict:
    """Faults other than an expired token (which the adapter cures by refreshing once)."""
    return {code: n for code, n in fake.faults.items() if code != "354" and n}


def test_the_go_live_import_under_a_rate_limit_and_short_tokens_finishes_exactly(
    practice, owner, strict_fake, imported
):
    codes = set(Relation.objects.filter(practice=practice).values_list("client_code", flat=True))
    assert codes == set(strict_fake.customers)
    assert "0000" in codes
    assert "0042" in codes
    assert strict_fake.requests["429"] >= 3  # the limit really bit
    assert strict_fake.faults["354"] >= 1  # and tokens really expired mid-run
    assert strict_fake.requests["token"] >= 2
    assert not _protocol_errors(strict_fake)
    assert not strict_fake.writes  # an import only reads

    again = run_import(practice=practice, user=owner)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 0, DEBTORS, 0)


def test_35_changed_clients_land_in_one_ledger_push_despite_the_rate_limit(
    practice, owner, staff, strict_fake, imported, capsys
):
    new = [created_relation(practice, staff, legal_name=f"Nieuw {i} B.V.") for i in range(3)]
    edited = list(Relation.objects.filter(practice=practice).order_by("client_code")[:2])
    for relation in edited:
        relation.legal_name = relation.legal_name + " (hernoemd)"
        relations_services.update_relation(
            relation=relation, user=staff, version=relation.version, changed=["legal_name"]
        )
    contacts = [
        created_relation(practice, staff, kind=Relation.Kind.CONTACT, legal_name=f"Contact {i}")
        for i in range(30)
    ]
    relations_services.convert_to_client(practice=practice, user=staff, relations=contacts)
    changed = {r.pk for r in [*new, *edited, *contacts]}
    assert len(changed) == 35
    calls_before = len(strict_fake.soap_calls)

    call_command("ledger_push", practice.slug)

    out = capsys.readouterr().out
    states = SyncState.objects.filter(relation_id__in=changed)
    assert set(states.values_list("status", flat=True)) == {SyncState.Status.SYNCED}
    assert "Twinfield vraagt" in out  # the waits are shown as they happen
    assert "35 verstuurd, 0 wachten op een volgende poging" in out
    for relation in Relation.objects.filter(pk__in=changed):
        assert strict_fake.customers[relation.client_code]["name"] == relation.display_name
    writes = [
        c["payload"]
        for c in strict_fake.soap_calls[calls_before:]
        if c["payload"] and c["payload"].startswith("<dimensions")
    ]
    assert writes
    assert all(p.count("<dimension ") <= 25 for p in writes)
    assert not _protocol_errors(strict_fake)


def test_a_rate_limit_on_the_change_check_never_switches_the_feed_off(
    practice, owner, staff, strict_fake, imported, monkeypatch
):
    """Before: a 429 on the check made the drain read every client first (more requests, more
    429s). Now the check waits; no debtor is read that the feed vouches for."""
    monkeypatch.setattr(drain, "CHANGE_CHECK_SECONDS", 0)  # a check before every batch
    clients = list(Relation.objects.filter(practice=practice).order_by("client_code")[:60])
    Relation.objects.filter(pk__in=[c.pk for c in clients]).update(
        website="https://nieuw.example", ledger_version=F("ledger_version") + 1
    )
    reads_before = strict_fake.requests["read"] + strict_fake.requests["reads"]

    report = drain.push_practice(practice)

    assert (report.pushed, report.retried, report.failed) == (60, 0, 0)
    assert report.waits >= 1
    assert strict_fake.requests["read"] + strict_fake.requests["reads"] == reads_before


def test_when_the_ledger_stays_unavailable_the_batch_waits_for_its_next_attempt(
    practice, owner, staff, strict_fake, imported, capsys
):
    relation = Relation.objects.filter(practice=practice).order_by("client_code").first()
    Relation.objects.filter(pk=relation.pk).update(
        website="https://nieuw.example", ledger_version=F("ledger_version") + 1
    )
    strict_fake.unavailable_next(1000, retry_after=30)  # past the per-request budget

    call_command("ledger_push", practice.slug)

    out = capsys.readouterr().out
    state = SyncState.objects.get(relation=relation)
    assert state.status == SyncState.Status.PENDING
    assert state.next_attempt_at is not None
    assert "0 verstuurd, 1 wachten op een volgende poging" in out
    assert "503" in out

    call_command("ledger_push", practice.slug)  # before its next attempt: says why nothing went
    assert "Er is niets verstuurd: 1 klanten wachten" in capsys.readouterr().out


def test_an_import_that_runs_out_of_patience_says_in_dutch_how_far_it_got(
    practice, owner, strict_fake, monkeypatch
):
    connect(practice, strict_fake)
    strict_fake.seed_customers(60)
    monkeypatch.setattr(importer, "CHUNK_SIZE", 25)

    def progress(processed: int, total: int) -> None:
        if processed == 25:  # after the first chunk the ledger stays down past every budget
            strict_fake.unavailable_next(1000, retry_after=30)

    with pytest.raises(RetryableLedgerError):
        run_import(practice=practice, user=owner, progress=progress)

    run = ImportRun.objects.filter(practice=practice).latest("pk")
    assert run.status == ImportRun.Status.FAILED
    assert run.error.startswith("De import is gestopt na 25 debiteuren: ")
    assert "start de import opnieuw om daar verder te gaan" in run.error
    assert ".." not in run.error
    assert Relation.objects.filter(practice=practice).count() == 25  # the finished chunk stays
