"""Integration: the real Redis, real Celery worker and beat processes, the real database.

Every test here waits for a condition (bounded), and checks the end state: what the ledger holds
equals what Kring holds, with no client written under two codes and no change lost.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from relations import services as relations_services
from relations.models import Relation
from sync.models import LocalDebtor, SyncState
from tests.factories import created_relation
from tests.forms import company_edit_post
from tests.sync.harness import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Several processes writing one SQLite file while some are SIGKILLed corrupts the test database
    # ("disk I/O error"); CI runs these on PostgreSQL, where they belong.
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="the worker tests need PostgreSQL (DATABASE_URL); CI runs them there",
    ),
]


def make_client(practice, user, name):
    return created_relation(practice, user, legal_name=name)


def local_name(practice, code):
    debtor = LocalDebtor.objects.filter(practice=practice, code=code).first()
    return debtor.record["name"] if debtor else None


def test_an_edit_in_the_browser_view_reaches_the_ledger_through_the_worker(
    celery_processes, staff_client, practice, staff
):
    celery_processes.start_worker()
    celery_processes.start_beat()
    relation = make_client(practice, staff, "Voor B.V.")
    wait_for(lambda: local_name(practice, relation.client_code) == "Voor B.V.", what="the create")
    relation.refresh_from_db()
    response = staff_client.post(
        reverse("relations-edit", args=[relation.public_id]),
        company_edit_post(relation, legal_name="Na B.V."),
    )
    assert response.status_code == 302
    wait_for(lambda: local_name(practice, relation.client_code) == "Na B.V.", what="the edit")
    # The ledger commits the write before the drain records it: wait for the record too.
    wait_for(lambda: all_synced(practice), what="the edit recorded as pushed")
    assert SyncState.objects.get(relation=relation).status == SyncState.Status.SYNCED


def test_with_the_broker_down_an_edit_still_arrives_after_it_is_back(
    celery_processes, redis_broker, staff_client, practice, staff
):
    relation = make_client(practice, staff, "Eerst B.V.")  # queued; no worker yet
    redis_broker.stop()
    relation.refresh_from_db()
    response = staff_client.post(
        reverse("relations-edit", args=[relation.public_id]),
        company_edit_post(relation, legal_name="Tijdens Storing B.V."),
    )
    assert response.status_code == 302  # the page works while the broker is down
    assert Relation.objects.get(pk=relation.pk).legal_name == "Tijdens Storing B.V."
    redis_broker.start()  # an empty Redis: every queued nudge is gone
    celery_processes.start_worker()
    celery_processes.start_beat()
    wait_for(
        lambda: local_name(practice, relation.client_code) == "Tijdens Storing B.V.",
        timeout=60,
        what="the beat sweep to push the edit",
    )


# --- against the fake Twinfield -------------------------------------------------------------------


def twinfield_name(fake, code):
    with fake.lock:
        record = fake.customers.get(code)
        return record and record.get("name")


def assert_ledger_equals_kring(fake, practice):
    """Every client's name, e-mail, address lines and IBANs in the fake equal Kring's; no code twice."""
    from sync.adapters.twinfield import TwinfieldAdapter
    from sync.mapping import customer_for
    from sync.models import LedgerConnection

    adapter = TwinfieldAdapter(LedgerConnection.objects.get(practice=practice))
    clients = list(Relation.objects.filter(practice=practice, kind="client").order_by("pk"))
    remote = adapter.get_customers([c.client_code for c in clients])
    for relation in clients:
        ours, theirs = customer_for(relation), remote[relation.client_code]
        assert theirs is not None, f"{relation.client_code} never reached the ledger"
        assert (theirs.name, theirs.email) == (ours.name, ours.email), relation.client_code
        assert {b.iban for b in theirs.banks} == {b.iban for b in ours.banks}, relation.client_code
        assert {a.line for a in ours.addresses} <= {a.line for a in theirs.addresses}
    with fake.lock:
        assert len(fake.created) == len(set(fake.created)), "a client was created twice"
        assert sorted(fake.created) == sorted(c.client_code for c in clients)


def sync_summary(practice):
    """What the states look like, for a timeout's message."""
    from collections import Counter

    from sync.outbox import due_states

    rows = SyncState.objects.filter(practice=practice).exclude(status=SyncState.Status.SYNCED)
    return (
        f"states {dict(Counter(SyncState.objects.filter(practice=practice).values_list('status', flat=True)))}, "
        f"due {due_states(practice).count()}, not synced: "
        + "; ".join(
            f"{s.relation_id} {s.status} x{s.attempts} {s.last_error[:120]}" for s in rows[:5]
        )
    )


def all_synced(practice):
    from sync.outbox import due_states

    states = SyncState.objects.filter(practice=practice)
    return (
        states.count() == Relation.objects.filter(practice=practice, kind="client").count()
        and not states.exclude(status=SyncState.Status.SYNCED).exists()
        and not due_states(practice).exists()
    )


def test_an_edit_reaches_the_fake_twinfield_through_the_worker(
    celery_processes, twinfield_connection, fake_twinfield, staff_client, practice, staff
):
    celery_processes.start_worker()
    celery_processes.start_beat()
    relation = make_client(practice, staff, "Twinfield B.V.")
    wait_for(lambda: twinfield_name(fake_twinfield, relation.client_code) == "Twinfield B.V.")
    relation.refresh_from_db()
    staff_client.post(
        reverse("relations-edit", args=[relation.public_id]),
        company_edit_post(relation, legal_name="Tw Nieuw B.V."),
    )
    wait_for(lambda: twinfield_name(fake_twinfield, relation.client_code) == "Tw Nieuw B.V.")
    wait_for(lambda: all_synced(practice), what="every client synced")
    assert_ledger_equals_kring(fake_twinfield, practice)


def test_killing_the_worker_mid_push_loses_nothing(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff
):
    worker = celery_processes.start_worker()
    celery_processes.start_beat()
    fake_twinfield.latency = 2.0  # long enough to be killed while the request is in flight
    relation = make_client(practice, staff, "Onderweg B.V.")
    wait_for(lambda: fake_twinfield.in_flight > 0, what="a request in flight")
    celery_processes.kill(worker)
    fake_twinfield.latency = 0.0
    celery_processes.start_worker(name="second-worker")
    wait_for(lambda: all_synced(practice), timeout=60, what="the push after the lease ran out")
    assert twinfield_name(fake_twinfield, relation.client_code) == "Onderweg B.V."
    assert_ledger_equals_kring(fake_twinfield, practice)


def test_ledger_5xx_bursts_end_in_the_same_final_state(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff
):
    celery_processes.start_worker()
    celery_processes.start_beat()
    fake_twinfield.fail_next(3, status=503)
    fake_twinfield.fail_next(3, status=500)
    fake_twinfield.rate_limit_next(2, retry_after=1)
    clients = [make_client(practice, staff, f"Storing {i} B.V.") for i in range(5)]
    for relation in clients:
        rename(relation, staff, relation.legal_name.replace("Storing", "Hersteld"))
    wait_for(
        lambda: all_synced(practice),
        timeout=90,
        what="every client synced after the bursts",
        explain=lambda: sync_summary(practice),
    )
    assert_ledger_equals_kring(fake_twinfield, practice)
    assert fake_twinfield.faults["100"] == 3  # the bursts really happened
    assert not fake_twinfield._failures


def rename(relation, user, name):
    relation.refresh_from_db()
    relation.legal_name = name
    relations_services.update_relation(
        relation=relation, user=user, version=relation.version, changed=["legal_name"]
    )


def test_500_random_edits_with_faults_leave_the_ledger_equal_to_kring(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff
):
    import random

    from relations.models import Address, BankAccount
    from tests.fakes.twinfield import make_iban

    rng = random.Random(20261128)
    worker = celery_processes.start_worker()
    celery_processes.start_beat()
    clients = [make_client(practice, staff, f"Klant {i} B.V.") for i in range(25)]
    for relation in clients:
        relations_services.save_address(
            relation=relation,
            user=staff,
            address=Address(
                type="visiting",
                street="Dorpsstraat",
                house_number="1",
                postcode="1234 AB",
                city="Ede",
            ),
        )
    for step in range(500):
        relation = rng.choice(clients)
        action = rng.random()
        if action < 0.5:
            rename(relation, staff, f"Klant {relation.pk}-{step} B.V.")
        elif action < 0.7:
            relation.refresh_from_db()
            relation.email = f"stap{step}@example.nl"
            relations_services.update_relation(
                relation=relation, user=staff, version=relation.version, changed=["email"]
            )
        elif action < 0.85:
            relations_services.save_bank_account(
                relation=relation,
                user=staff,
                account=BankAccount(
                    iban=make_iban(10_000 + step), holder="Klant", is_default=False
                ),
            )
        else:
            account = relation.bank_accounts.order_by("?").first()
            if account:
                relations_services.remove_bank_account(
                    relation=relation, user=staff, account=account
                )
        if step % 60 == 10:
            fake_twinfield.fail_next(rng.randint(1, 4), status=rng.choice([500, 502, 503]))
        if step % 90 == 30:
            fake_twinfield.rate_limit_next(1, retry_after=0.5)
        if step % 120 == 50:
            fake_twinfield.expire_tokens()
        if step == 250:
            celery_processes.kill(worker)
            worker = celery_processes.start_worker(name="replacement")
    wait_for(
        lambda: all_synced(practice),
        timeout=180,
        what="every client synced after 500 edits",
        explain=lambda: sync_summary(practice),
    )
    assert_ledger_equals_kring(fake_twinfield, practice)


def test_35_changed_clients_land_through_the_worker_under_a_rate_limit_and_short_tokens(
    celery_processes, practice, owner, staff
):
    """Issue 12: the push as the Celery task, against a 429 every 7th request (a short
    Retry-After, waited in real time by the worker) and tokens of five seconds."""
    from sync.importer import run_import
    from tests.fakes.twinfield import FakeTwinfield, connect

    with FakeTwinfield(code_mask="[0-9][0-9][0-9][0-9]", token_ttl=5) as fake:
        fake.rate_limit_every = 7
        fake.rate_limit_retry_after = 0.2
        connect(practice, fake)
        fake.seed_customers(300)
        assert run_import(practice=practice, user=owner).created == 300
        celery_processes.start_worker()
        new = [make_client(practice, staff, f"Nieuw {i} B.V.") for i in range(3)]
        edited = list(Relation.objects.filter(practice=practice).order_by("client_code")[:2])
        for relation in edited:
            rename(relation, staff, relation.legal_name + " (hernoemd)")
        contacts = [
            created_relation(practice, staff, kind=Relation.Kind.CONTACT, legal_name=f"C {i}")
            for i in range(30)
        ]
        relations_services.convert_to_client(practice=practice, user=staff, relations=contacts)
        changed = [*new, *edited, *contacts]

        wait_for(
            lambda: all_synced(practice),
            timeout=90,
            what="the 35 changed clients synced by the worker",
            explain=lambda: sync_summary(practice),
        )
        for relation in Relation.objects.filter(pk__in=[r.pk for r in changed]):
            assert twinfield_name(fake, relation.client_code) == relation.display_name
        assert fake.requests["429"] >= 1
        assert {code for code, n in fake.faults.items() if n} <= {"354"}
        writes = [c["payload"] for c in fake.soap_calls if (c["payload"] or "").startswith("<dim")]
        assert all(p.count("<dimension ") <= 25 for p in writes)
