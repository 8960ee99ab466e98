"""The outbox and its drain against the embedded local ledger: every change arrives, nothing twice,
conflicts are never overwritten, failures are visible and retried."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from relations import services as relations_services
from relations.models import BankAccount, Relation
from sync import drain, outbox, services
from sync import models as sync_models
from sync.adapters.base import RetryableLedgerError
from sync.adapters.local import LocalAdapter
from sync.models import LedgerConnection, LocalDebtor, SyncState
from tests.factories import AddressFactory, BankAccountFactory, RelationFactory, created_relation

pytestmark = pytest.mark.django_db


def make_client(practice, user, **fields):
    return created_relation(practice, user, **fields)


def ledger(practice, code):
    return LocalDebtor.objects.get(practice=practice, code=code)


def state(relation):
    return SyncState.objects.get(relation=relation)


def rename(relation, user, name):
    relation.refresh_from_db()
    relation.legal_name = name
    relations_services.update_relation(
        relation=relation, user=user, version=relation.version, changed=["legal_name"]
    )


def test_a_new_client_is_pushed_with_its_addresses_and_banks(practice, staff):
    relation = make_client(practice, staff, legal_name="Bakkerij B.V.")
    AddressFactory(relation=relation, street="Keizersgracht", house_number="1", city="Amsterdam")
    BankAccountFactory(relation=relation, holder="Bakkerij B.V.")
    report = drain.push_practice(practice)
    assert report.pushed == 1
    record = ledger(practice, relation.client_code).record
    assert record["name"] == "Bakkerij B.V."
    assert record["addresses"][0]["line"] == "Keizersgracht 1"
    assert record["banks"][0]["iban"] == "NL91ABNA0417164300"
    assert "bsn" not in str(record)
    current = state(relation)
    assert current.status == SyncState.Status.SYNCED
    assert current.pushed_version == Relation.objects.get(pk=relation.pk).ledger_version
    assert Relation.objects.get(pk=relation.pk).code_frozen


def test_an_edit_is_pushed_once_and_nothing_twice(practice, staff):
    relation = make_client(practice, staff, legal_name="Oud B.V.")
    drain.push_practice(practice)
    rename(relation, staff, "Nieuw B.V.")
    assert drain.push_practice(practice).pushed == 1
    assert drain.push_practice(practice).pushed == 0  # nothing due any more
    debtor = ledger(practice, relation.client_code)
    assert debtor.record["name"] == "Nieuw B.V."
    assert debtor.touched == 1
    assert LocalDebtor.objects.filter(practice=practice).count() == 1


def test_the_commit_nudges_a_push(practice, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        relation = make_client(practice, staff, legal_name="Direct B.V.")
    assert ledger(practice, relation.client_code).record["name"] == "Direct B.V."


def test_contacts_and_other_practices_are_not_pushed(practice, other_practice, staff, outsider):
    RelationFactory(practice=practice, contact=True)
    foreign = make_client(other_practice, outsider, legal_name="Elders B.V.")
    drain.push_practice(practice)
    assert not LocalDebtor.objects.filter(practice=practice).exists()
    assert not LocalDebtor.objects.filter(code=foreign.client_code, practice=practice).exists()


def test_a_change_made_in_the_ledger_is_a_conflict_not_an_overwrite(practice, staff):
    relation = make_client(practice, staff, legal_name="Kring B.V.")
    drain.push_practice(practice)
    debtor = ledger(practice, relation.client_code)
    debtor.record = {**debtor.record, "email": "boekhouding@ledger.nl"}
    debtor.save()
    rename(relation, staff, "Kring Nieuw B.V.")
    report = drain.push_practice(practice)
    assert report.conflicts == 1
    assert ledger(practice, relation.client_code).record["name"] == "Kring B.V."
    assert state(relation).status == SyncState.Status.CONFLICT


def test_keep_kring_overwrites_the_ledger(practice, staff):
    relation = make_client(practice, staff, legal_name="Kring B.V.")
    drain.push_practice(practice)
    debtor = ledger(practice, relation.client_code)
    debtor.record = {**debtor.record, "name": "Ledger B.V."}
    debtor.save()
    rename(relation, staff, "Kring Twee B.V.")
    drain.push_practice(practice)
    services.keep_kring(relation=Relation.objects.get(pk=relation.pk), user=staff)
    drain.push_practice(practice)
    assert ledger(practice, relation.client_code).record["name"] == "Kring Twee B.V."
    assert state(relation).status == SyncState.Status.SYNCED


def test_take_the_ledgers_version(practice, staff):
    relation = make_client(practice, staff, legal_name="Kring B.V.")
    drain.push_practice(practice)
    debtor = ledger(practice, relation.client_code)
    debtor.record = {**debtor.record, "name": "Ledger B.V.", "kvk_number": "87654321"}
    debtor.save()
    rename(relation, staff, "Kring Twee B.V.")
    drain.push_practice(practice)
    services.take_ledger(relation=Relation.objects.get(pk=relation.pk), user=staff)
    relation.refresh_from_db()
    assert relation.display_name == "Ledger B.V."
    assert relation.kvk_number == "87654321"
    assert state(relation).status == SyncState.Status.SYNCED
    assert drain.push_practice(practice).pushed == 0  # nothing to send back


def test_a_refused_item_fails_visibly_and_the_others_land(practice, staff):
    good = make_client(practice, staff, legal_name="Goed B.V.")
    bad = make_client(practice, staff, legal_name="Fout B.V.")
    BankAccount.objects.create(relation=bad, iban="NL00BANK0000000000", holder="x")
    report = drain.push_practice(practice)
    assert (report.pushed, report.failed) == (1, 1)
    assert LocalDebtor.objects.filter(practice=practice, code=good.client_code).exists()
    failed = state(bad)
    assert failed.status == SyncState.Status.FAILED
    assert "IBAN" in failed.last_error
    # A later change (the IBAN fixed) makes it due again without anyone pressing Retry.
    BankAccount.objects.filter(relation=bad).delete()
    Relation.objects.filter(pk=bad.pk).update(ledger_version=failed.failed_version + 1)
    assert drain.push_practice(practice).pushed == 1
    assert state(bad).status == SyncState.Status.SYNCED


class FlakyLedger(LocalAdapter):
    """The ledger's network edge failing: the local ledger behind a link that is down."""

    def get_customers(self, codes):
        raise RetryableLedgerError("503 Service Unavailable", retry_after=120)


def test_a_retryable_failure_backs_off_and_ends_failed_after_the_budget(
    practice, staff, monkeypatch
):
    relation = make_client(practice, staff, legal_name="Later B.V.")
    monkeypatch.setattr(drain, "adapter_for", lambda p: FlakyLedger(p))
    report = drain.push_practice(practice)
    assert report.retried == 1
    current = state(relation)
    assert current.status == SyncState.Status.PENDING
    assert current.attempts == 1
    assert current.next_attempt_at >= timezone.now() + timedelta(seconds=119)
    assert "503" in current.last_error
    assert drain.push_practice(practice).batches == 0  # not due before its time
    for _ in range(sync_models.RETRY_BUDGET - 1):
        SyncState.objects.filter(pk=current.pk).update(next_attempt_at=None)
        drain.push_practice(practice)
    assert state(relation).status == SyncState.Status.FAILED
    monkeypatch.undo()
    services.retry(relation=Relation.objects.get(pk=relation.pk), user=staff)
    assert drain.push_practice(practice).pushed == 1
    assert state(relation).status == SyncState.Status.SYNCED


def test_backoff_grows_with_jitter_and_a_cap():
    for attempts in range(1, 15):
        delay = sync_models.backoff(attempts).total_seconds()
        step = min(sync_models.BACKOFF_CAP, sync_models.BACKOFF_BASE * 2 ** (attempts - 1))
        assert step / 2 <= delay <= step
    assert sync_models.backoff(1, retry_after=600).total_seconds() >= 600


def test_one_drain_per_office_at_a_time(practice, staff):
    make_client(practice, staff, legal_name="Eén B.V.")
    connection = outbox.connection_for(practice)
    assert drain._claim_office(connection, "someone-else")
    report = drain.push_practice(practice)
    assert report.skipped_busy
    assert not LocalDebtor.objects.filter(practice=practice).exists()
    LedgerConnection.objects.filter(pk=connection.pk).update(
        drain_lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert drain.push_practice(practice).pushed == 1  # an expired lease is taken over


def test_a_worker_that_died_mid_push_leaves_the_row_due_after_the_lease(practice, staff):
    relation = make_client(practice, staff, legal_name="Weer B.V.")
    outbox.ensure_states(practice)
    claimed = drain._claim_batch(practice, 25)  # claimed, then the worker "dies"
    assert [s.relation_id for s, _v in claimed] == [relation.pk]
    assert drain.push_practice(practice).pushed == 0  # leased: not due yet
    SyncState.objects.filter(relation=relation).update(next_attempt_at=timezone.now())
    assert drain.push_practice(practice).pushed == 1
    assert state(relation).attempts == 0


def take_over(practice) -> None:
    """Another drain, after this one's lease ran out: it re-claims the rows and records its own
    outcome, as far as this drain can tell."""
    SyncState.objects.filter(practice=practice).update(
        next_attempt_at=timezone.now() + timedelta(minutes=5),
        sending_fingerprint="theirs",
        pushed_fingerprint="theirs",
        last_error="the drain that took over",
    )


def test_a_drain_held_past_its_claim_records_no_success_over_the_drain_that_took_over(
    practice, staff, monkeypatch
):
    clients = [make_client(practice, staff, legal_name=f"Traag {i} B.V.") for i in range(3)]
    upsert = LocalAdapter.upsert_customers

    def slow_upsert(self, batch):
        results = upsert(self, batch)
        take_over(practice)  # while this drain waited on the ledger's answer
        return results

    monkeypatch.setattr(LocalAdapter, "upsert_customers", slow_upsert)
    report = drain.push_practice(practice, max_batches=1)
    assert report.pushed == 3
    # The batch's outcome (one set-based UPDATE) is written only where the claim still stands.
    for relation in clients:
        current = state(relation)
        assert (current.pushed_fingerprint, current.last_error) == (
            "theirs",
            "the drain that took over",
        )
        assert current.pushed_version == 0
        assert current.next_attempt_at > timezone.now()
        # Frozen before it was sent: the ledger may hold the debtor under this code.
        assert Relation.objects.get(pk=relation.pk).code_frozen


def test_a_drain_that_lost_its_claim_before_sending_does_not_mark_what_it_sends(
    practice, staff, monkeypatch
):
    relation = make_client(practice, staff, legal_name="Ingehaald B.V.")
    get_customers = LocalAdapter.get_customers

    def slow_read(self, codes):
        found = get_customers(self, codes)
        take_over(practice)
        return found

    monkeypatch.setattr(LocalAdapter, "get_customers", slow_read)
    drain.push_practice(practice, max_batches=1)
    assert state(relation).sending_fingerprint == "theirs"


def test_a_client_whose_code_changed_after_the_claim_is_not_sent_and_its_claim_let_go(
    practice, staff, monkeypatch
):
    relation = make_client(practice, staff, legal_name="Nieuwe Code B.V.")
    old_code = relation.client_code
    get_customers = LocalAdapter.get_customers

    def read_then_retype(self, codes):
        found = get_customers(self, codes)
        current = Relation.objects.get(pk=relation.pk)
        current.client_code = "9999"
        relations_services.update_relation(
            relation=current, user=staff, version=current.version, changed=["client_code"]
        )
        return found

    monkeypatch.setattr(LocalAdapter, "get_customers", read_then_retype)
    report = drain.push_practice(practice, max_batches=1)
    assert (report.pushed, report.failed, report.retried) == (0, 0, 0)
    assert not LocalDebtor.objects.filter(practice=practice, code=old_code).exists()
    assert state(relation).next_attempt_at is None  # due again at once, under its new code
    monkeypatch.undo()
    assert drain.push_practice(practice).pushed == 1
    assert ledger(practice, "9999").record["name"] == "Nieuwe Code B.V."
    assert not LocalDebtor.objects.filter(practice=practice, code=old_code).exists()


def test_a_drain_whose_office_was_taken_over_stops_before_its_next_batch(
    practice, staff, monkeypatch
):
    for i in range(LocalAdapter.max_batch + 1):
        make_client(practice, staff, legal_name=f"Kantoor {i} B.V.")
    monkeypatch.setattr(drain, "LEASE", timedelta(milliseconds=200))
    upsert = LocalAdapter.upsert_customers

    def held_past_the_lease(self, batch):
        time.sleep(0.25)
        LedgerConnection.objects.filter(practice=practice).update(drain_owner="the next drain")
        return upsert(self, batch)

    monkeypatch.setattr(LocalAdapter, "upsert_customers", held_past_the_lease)
    report = drain.push_practice(practice)
    # Renewed at most every LEASE/4, but checked then: the lost office ends the drain.
    assert (report.batches, report.pushed) == (1, LocalAdapter.max_batch)
    assert LedgerConnection.objects.get(practice=practice).drain_owner == "the next drain"


# --- views and commands --------------------------------------------------------------------------


def test_ledger_tab_shows_the_state_and_a_retry_for_failures(
    staff_client, practice, staff, django_capture_on_commit_callbacks
):
    relation = make_client(practice, staff, legal_name="Tab B.V.")
    drain.push_practice(practice)
    url = reverse("relations-tab", args=[relation.public_id, "ledger"])
    assert "In the ledger" in staff_client.get(url).content.decode()
    SyncState.objects.filter(relation=relation).update(
        status="failed", last_error="Begunstigde is ongeldig."
    )
    page = staff_client.get(url).content.decode()
    assert "Begunstigde is ongeldig." in page
    assert reverse("sync-retry", args=[relation.public_id]) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sync-retry", args=[relation.public_id]))
    assert response.status_code == 302
    assert state(relation).status == SyncState.Status.SYNCED  # retried and pushed (eager)


def test_conflict_view_shows_both_sides(staff_client, practice, staff):
    relation = make_client(practice, staff, legal_name="Kring B.V.")
    drain.push_practice(practice)
    debtor = ledger(practice, relation.client_code)
    debtor.record = {**debtor.record, "name": "Ledger B.V."}
    debtor.save()
    rename(relation, staff, "Kring Nieuw B.V.")
    drain.push_practice(practice)
    page = staff_client.get(
        reverse("relations-tab", args=[relation.public_id, "ledger"])
    ).content.decode()
    assert "Kring Nieuw B.V." in page
    assert "Ledger B.V." in page
    assert "Keep Kring" in page


def test_ledger_actions_refuse_outsiders_and_read_only(
    outsider_client, readonly_client, practice, staff
):
    relation = make_client(practice, staff, legal_name="Veilig B.V.")
    for name in ("sync-retry", "sync-keep-kring", "sync-take-ledger"):
        url = reverse(name, args=[relation.public_id])
        assert outsider_client.post(url).status_code == 404
        assert readonly_client.post(url).status_code == 403


def test_ledger_settings_are_for_owners_and_never_show_secrets(
    owner_client, staff_client, practice
):
    url = reverse("sync-settings")
    assert staff_client.get(url).status_code == 403
    response = owner_client.post(
        url,
        {
            "adapter": "twinfield",
            "office_code": "NLA000123",
            "client_id": "kring-app",
            "client_secret": "s3cret-value-abcdef",
            "refresh_token": "refresh-token-123456",
            "login_url": "https://login.twinfield.com",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    connection = LedgerConnection.objects.get(practice=practice)
    assert connection.client_secret == "s3cret-value-abcdef"
    assert "s3cret" not in connection.client_secret_encrypted
    page = owner_client.get(url).content.decode()
    assert "s3cret-value-abcdef" not in page
    assert "refresh-token-123456" not in page
    assert "••••cdef" in page


def test_ledger_configure_push_and_status_commands(practice, staff, capsys):
    make_client(practice, staff, legal_name="Commando B.V.")
    with translation.override("en"):  # the summary is translated now; read it in English
        call_command("ledger_push", practice.slug)
    assert "1 pushed" in capsys.readouterr().out
    call_command("ledger_status", practice.slug)
    assert "synced     1" in capsys.readouterr().out
    call_command(
        "ledger_configure",
        practice.slug,
        "--adapter",
        "twinfield",
        "--office",
        "NLA1",
        "--client-id",
        "id",
        "--client-secret",
        "geheim-geheim-1234",
        "--refresh-token",
        "rt-rt-rt-5678",
    )
    out = capsys.readouterr().out
    assert "geheim" not in out
    assert "••••1234" in out
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="No practice"):
        call_command("ledger_configure", "elders-nope", "--adapter", "local")


def test_a_bulk_conversion_nudges_once_per_practice(
    practice, staff, django_capture_on_commit_callbacks
):
    contacts = [RelationFactory(practice=practice, contact=True) for _ in range(5)]
    with django_capture_on_commit_callbacks() as callbacks:
        relations_services.convert_to_client(practice=practice, user=staff, relations=contacts)
    nudges = [c for c in callbacks if getattr(c, "nudges_practice", None) == practice.pk]
    assert len(nudges) == 1


def test_a_rolled_back_change_does_not_swallow_the_next_nudge(
    practice, staff, django_capture_on_commit_callbacks
):
    from django.db import transaction

    first, second = (RelationFactory(practice=practice, contact=True) for _ in range(2))
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        try:
            with transaction.atomic():
                relations_services.convert_to_client(
                    practice=practice, user=staff, relations=[first]
                )
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        relations_services.convert_to_client(practice=practice, user=staff, relations=[second])
    assert [getattr(c, "nudges_practice", None) for c in callbacks] == [practice.pk]


def test_a_change_after_the_last_nudge_ran_nudges_again(
    practice, staff, django_capture_on_commit_callbacks
):
    first, second = (RelationFactory(practice=practice, contact=True) for _ in range(2))
    with django_capture_on_commit_callbacks(execute=True) as ran:
        relations_services.convert_to_client(practice=practice, user=staff, relations=[first])
    with django_capture_on_commit_callbacks() as callbacks:
        relations_services.convert_to_client(practice=practice, user=staff, relations=[second])
    assert [getattr(c, "nudges_practice", None) for c in ran] == [practice.pk]
    assert [getattr(c, "nudges_practice", None) for c in callbacks] == [practice.pk]
