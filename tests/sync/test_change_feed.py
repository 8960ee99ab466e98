"""The change feed: with Twinfield's Finder (`modifiedsince`) Kring reads before writing only the
debtors that may have changed since it last saw them, and still never overwrites a change made in
the ledger. Against the fake Twinfield, which stamps every write as Twinfield does."""

from __future__ import annotations

import threading

import pytest
from django.db.models import F

from relations.models import Relation
from sync import drain, feed
from sync.importer import run_import
from sync.models import LedgerConnection, SyncState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_check_per_drain(monkeypatch):
    """Deterministic request counts: a drain checks when it starts, and not again on a slow run."""
    monkeypatch.setattr(drain, "CHANGE_CHECK_SECONDS", 3600)


def _imported(practice, owner, fake, n: int) -> list[Relation]:
    fake.seed_customers(n)
    run = run_import(practice=practice, user=owner)
    assert run.created == n
    return list(Relation.objects.filter(practice=practice).order_by("client_code"))


def _edit(relations, **fields) -> None:
    """A change in Kring to what the ledger holds (the outbox: ledger_version)."""
    Relation.objects.filter(pk__in=[r.pk for r in relations]).update(
        **fields, ledger_version=F("ledger_version") + 1
    )


def _listings(fake) -> int:
    """Finder calls that asked for codes, not just a count (one row)."""
    return sum(1 for c in fake.soap_calls if c["operation"] == "Search" and c.get("rows") != "1")


def _state(relation) -> SyncState:
    return SyncState.objects.get(relation=relation)


def test_clients_imported_and_unchanged_in_the_ledger_are_written_without_reads(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 30)
    assert all(_state(r).remote_verified for r in clients)
    _edit(clients, website="https://nieuw.example")
    fake_twinfield.requests.clear()
    fake_twinfield.soap_calls.clear()

    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts, report.failed) == (30, 0, 0)
    assert _listings(fake_twinfield) == 0
    assert fake_twinfield.requests["dimensions"] == 2  # 25 + 5
    assert fake_twinfield.requests["search"] == 1  # the change check: one count, nothing listed
    assert fake_twinfield.requests["read"] + fake_twinfield.requests["reads"] == 0
    assert {r["website"] for r in fake_twinfield.customers.values()} == {"https://nieuw.example"}


def test_a_debtor_changed_in_the_ledger_after_the_import_is_read_and_not_overwritten(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 5)
    changed = clients[2]
    fake_twinfield.change(changed.client_code, name="Veranderd in Twinfield B.V.")
    _edit(clients, website="https://nieuw.example")
    fake_twinfield.requests.clear()

    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts) == (4, 1)
    assert _state(changed).status == SyncState.Status.CONFLICT
    record = fake_twinfield.customers[changed.client_code]
    assert record["name"] == "Veranderd in Twinfield B.V."
    assert record["website"] != "https://nieuw.example"
    # Counted, listed (the count was not Kring's own), and only that debtor read.
    assert fake_twinfield.requests["search"] == 2
    assert fake_twinfield.requests["read"] + fake_twinfield.requests["reads"] == 1


def test_a_change_in_the_ledger_after_krings_own_write_is_a_conflict_at_the_next_push(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 3)
    _edit(clients, website="https://een.example")
    assert drain.push_practice(practice).pushed == 3
    # Someone edits one in Twinfield a second after Kring wrote it. (Within the same second it
    # would be taken for Kring's own write: Twinfield's stamps go no finer.)
    target = clients[0]
    fake_twinfield.advance(1)
    fake_twinfield.change(target.client_code, name="Na Kring Gewijzigd B.V.")
    _edit(clients, website="https://twee.example")

    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts) == (2, 1)
    assert fake_twinfield.customers[target.client_code]["name"] == "Na Kring Gewijzigd B.V."
    assert _state(target).status == SyncState.Status.CONFLICT


def test_what_kring_wrote_itself_is_written_again_without_a_read(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 30)
    _edit(clients, website="https://een.example")
    drain.push_practice(practice)
    fake_twinfield.advance(3)  # a later drain, in later seconds
    _edit(clients, website="https://twee.example")
    fake_twinfield.requests.clear()
    fake_twinfield.soap_calls.clear()

    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts) == (30, 0)
    assert fake_twinfield.requests["read"] + fake_twinfield.requests["reads"] == 0
    assert fake_twinfield.requests["dimensions"] == 2
    # Counts only (G, and the second after each one Kring's writes were stamped in), no listing.
    assert 2 <= fake_twinfield.requests["search"] <= 1 + feed.FEED_SECONDS
    assert _listings(fake_twinfield) == 0
    assert {r["website"] for r in fake_twinfield.customers.values()} == {"https://twee.example"}


def test_a_change_to_a_client_that_is_not_due_marks_it_to_be_read_at_its_next_push(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 4)
    idle, busy = clients[0], clients[1:]
    fake_twinfield.change(idle.client_code, name="Elders Gewijzigd B.V.")
    _edit(busy, website="https://nieuw.example")

    assert drain.push_practice(practice).pushed == 3
    assert not _state(idle).remote_verified  # the feed reported it; no push was due

    _edit([idle], website="https://later.example")
    report = drain.push_practice(practice)
    assert report.conflicts == 1
    assert fake_twinfield.customers[idle.client_code]["name"] == "Elders Gewijzigd B.V."


def test_when_the_finder_cannot_answer_every_debtor_is_read(
    practice, owner, twinfield_connection, fake_twinfield
):
    clients = _imported(practice, owner, fake_twinfield, 3)
    fake_twinfield.change(clients[1].client_code, name="Veranderd B.V.")
    _edit(clients, website="https://nieuw.example")
    fake_twinfield.next_raw_reply(
        b"<html>Service Unavailable</html>", 503, content_type="text/html"
    )
    fake_twinfield.requests.clear()

    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts) == (2, 1)
    assert fake_twinfield.requests["read"] + fake_twinfield.requests["reads"] >= 1


def test_another_office_starts_the_feed_over(practice, owner, twinfield_connection, fake_twinfield):
    _imported(practice, owner, fake_twinfield, 2)
    assert twinfield_connection.__class__.objects.get(pk=twinfield_connection.pk).changes_since
    connection = LedgerConnection.objects.get(pk=twinfield_connection.pk)
    connection.office_code = "NLA000999"
    connection.save()
    connection.refresh_from_db()
    assert connection.changes_since == ""
    assert not SyncState.objects.filter(practice=practice, remote_verified=True).exists()


def test_a_change_made_in_the_ledger_during_a_drain_is_seen_before_the_next_batch(
    practice, owner, twinfield_connection, fake_twinfield, monkeypatch
):
    clients = _imported(practice, owner, fake_twinfield, 30)
    last = max(clients, key=lambda r: r.pk)  # in the second batch (due rows go by pk)
    _edit(clients, website="https://nieuw.example")
    monkeypatch.setattr(drain, "CHANGE_CHECK_SECONDS", 0)  # a check before every batch
    check = drain.check_ledger_changes
    calls = []

    def someone_edits_in_twinfield_after_the_first_batch(connection, feed):
        calls.append(connection)
        if len(calls) == 2:
            fake_twinfield.advance(1)
            fake_twinfield.change(last.client_code, name="Tussendoor Gewijzigd B.V.")
        check(connection, feed)

    monkeypatch.setattr(
        drain, "check_ledger_changes", someone_edits_in_twinfield_after_the_first_batch
    )
    report = drain.push_practice(practice)

    assert len(calls) == 2
    assert (report.pushed, report.conflicts) == (29, 1)
    assert _state(last).status == SyncState.Status.CONFLICT
    assert fake_twinfield.customers[last.client_code]["name"] == "Tussendoor Gewijzigd B.V."


@pytest.mark.django_db(transaction=True)
def test_a_drain_in_autocommit_writes_while_it_prepares_the_next_batch_one_request_at_a_time(
    practice, owner, twinfield_connection, fake_twinfield, monkeypatch
):
    """Outside a transaction the Twinfield writes run on a writer thread, overlapping the next
    batch's claim and load; outcomes, conflicts and failures land as in a drain without it."""
    clients = _imported(practice, owner, fake_twinfield, 80)
    by_pk = sorted(clients, key=lambda r: r.pk)  # due rows go by pk: batches of 25
    conflicting, failing = by_pk[30], by_pk[60]  # in the second and third batch
    fake_twinfield.advance(1)
    fake_twinfield.change(conflicting.client_code, name="Tussendoor Gewijzigd B.V.")
    _edit(clients, website="https://nieuw.example")
    fake_twinfield.latency = 0.02  # the write is in flight while the next batch is prepared
    fake_twinfield.max_in_flight = 0
    writes = []

    original = drain._write_in_thread

    def spy(adapter, batch):
        writes.append(threading.current_thread().name)
        if any(c.code == failing.client_code for c in batch):
            fake_twinfield.fail_next_write()
        return original(adapter, batch)

    monkeypatch.setattr(drain, "_write_in_thread", spy)
    report = drain.push_practice(practice)

    assert len(writes) == 4  # 25, 24 (one conflict), 25 (refused by the ledger), 5
    assert all(name.startswith("ledger-write") for name in writes)
    assert fake_twinfield.max_in_flight == 1
    assert (report.pushed, report.conflicts, report.retried) == (25 + 24 + 5, 1, 25)
    assert _state(conflicting).status == SyncState.Status.CONFLICT
    assert fake_twinfield.customers[conflicting.client_code]["name"] == "Tussendoor Gewijzigd B.V."
    failed = _state(failing)
    assert failed.status == SyncState.Status.PENDING
    assert "fault 100" in failed.last_error
    synced = SyncState.objects.filter(practice=practice, status=SyncState.Status.SYNCED)
    codes = set(synced.values_list("relation__client_code", flat=True))
    assert len(codes) == 54
    assert {fake_twinfield.customers[code]["website"] for code in codes} == {
        "https://nieuw.example"
    }
