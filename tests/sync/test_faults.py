"""Faults, with the real Redis, real Celery worker and beat processes, the real PostgreSQL and the
fake Twinfield as the ledger: the broker goes down while staff work, a worker is SIGKILLed while the
ledger holds its batch, the worker's database connection is cut mid-drain, the ledger answers after
the task's time limit, and a push task is delivered twice.

Each test ends the same way: every client is synced and none is due or stuck, what the ledger holds
equals what Kring holds, and no customer was created twice. The fake parks a request (`hold_next`)
until the test releases it, so a fault always lands where the test means it to, with no timing
guesses.
"""

from __future__ import annotations

import itertools
import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from relations import services as relations_services
from relations.models import Relation
from sync.models import LedgerConnection, SyncState
from sync.tasks import push_practice
from tests.factories import RelationFactory, created_relation
from tests.forms import company_edit_post
from tests.sync.harness import wait_for
from tests.sync.test_worker import all_synced, assert_ledger_equals_kring, sync_summary

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="the fault tests need PostgreSQL (DATABASE_URL); CI runs them there",
    ),
]

_names = itertools.count(1)


def make_client(practice, user, name: str) -> Relation:
    """A client company with an e-mail of its own (a shared one would trip the duplicate check)."""
    return created_relation(
        practice, user, legal_name=name, email=f"klant{next(_names)}@example.nl"
    )


def rename(relation: Relation, user, name: str) -> None:
    relation.refresh_from_db()
    relation.legal_name = name
    relations_services.update_relation(
        relation=relation, user=user, version=relation.version, changed=["legal_name"]
    )


def office_is_free(practice) -> bool:
    lease = LedgerConnection.objects.get(practice=practice).drain_lease_until
    return lease is None or lease < timezone.now()


def settle(fake, practice, *, what: str, timeout: float = 120) -> None:
    """Every client synced, none due or stuck, the office's lease let go; then the ledger equals
    Kring for every client and no customer was created twice."""
    wait_for(
        lambda: all_synced(practice),
        timeout=timeout,
        what=what,
        explain=lambda: sync_summary(practice),
    )
    wait_for(lambda: office_is_free(practice), timeout=timeout, what="the drain to let go")
    assert not SyncState.objects.filter(practice=practice).exclude(status="synced").exists()
    assert_ledger_equals_kring(fake, practice)


def parked(hold, what: str) -> None:
    wait_for(hold.reached.is_set, timeout=90, what=what)


# (a) The broker is down while staff work -------------------------------------------------------


def test_with_the_broker_down_staff_keep_working_and_every_edit_reaches_the_ledger_later(
    celery_processes, redis_broker, twinfield_connection, fake_twinfield, staff_client, practice,
    staff,
):  # fmt: skip
    celery_processes.start_worker()
    celery_processes.start_beat()
    clients = [make_client(practice, staff, f"Voor Storing {i} B.V.") for i in range(3)]
    contact = RelationFactory(
        practice=practice, contact=True, legal_name="Wordt Klant", email="wordt@example.nl"
    )
    settle(fake_twinfield, practice, what="the clients before the outage")

    redis_broker.stop()
    responses = []
    for i, relation in enumerate(clients):
        relation.refresh_from_db()
        responses.append(staff_client.get(reverse("relations-detail", args=[relation.public_id])))
        responses.append(staff_client.get(reverse("relations-edit", args=[relation.public_id])))
        saved = staff_client.post(
            reverse("relations-edit", args=[relation.public_id]),
            company_edit_post(
                relation, legal_name=f"Tijdens Storing {i} B.V.", email=f"storing{i}@example.nl"
            ),
        )
        assert saved.status_code == 302, saved.content.decode()[:2000]
        added = staff_client.post(
            reverse("relations-address-new", args=[relation.public_id]),
            {
                "type": "visiting",
                "street": "Stationsweg",
                "house_number": str(i + 1),
                "postcode": "3811 AB",
                "city": "Amersfoort",
                "country": "NL",
            },
        )
        assert added.status_code == 302, added.content.decode()[:2000]
        responses.append(staff_client.get(reverse("relations-tab", args=[relation.public_id,
                                                                         "ledger"])))  # fmt: skip
    converted = staff_client.post(
        reverse("relations-bulk"),
        {"action": "convert_to_client", "ids": [str(contact.public_id)], "confirmed": "1"},
    )
    assert converted.status_code == 302
    responses.append(staff_client.get(reverse("relations-list")))

    # The pages worked: no error page, and every change is saved while the broker is away.
    assert [r.status_code for r in responses] == [200] * len(responses)
    for i, relation in enumerate(clients):
        relation.refresh_from_db()
        assert (relation.legal_name, relation.email) == (
            f"Tijdens Storing {i} B.V.",
            f"storing{i}@example.nl",
        )
        assert relation.addresses.filter(street="Stationsweg").count() == 1
    contact.refresh_from_db()
    assert contact.kind == Relation.Kind.CLIENT
    assert contact.client_code

    # Back again, empty (every nudge sent while it was away is gone): beat's sweep pushes them all,
    # through the worker and beat that lived through the outage.
    redis_broker.start()
    settle(fake_twinfield, practice, what="the sweep to push the edits made during the outage")
    with fake_twinfield.lock:
        for i, relation in enumerate(clients):
            record = fake_twinfield.customers[relation.client_code]
            assert record["name"] == f"Tijdens Storing {i} B.V."
        assert contact.client_code in fake_twinfield.customers


# (b) A worker is killed mid-batch ----------------------------------------------------------------

WHERE = pytest.mark.parametrize(
    "after_write",
    [False, True],
    ids=["before-the-ledger-wrote", "after-the-ledger-wrote"],
)


@WHERE
def test_a_worker_killed_mid_batch_is_replaced_and_the_ledger_ends_equal_to_kring(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff, after_write
):
    # Thirty new clients before any worker runs: the first drain takes a full batch of 25.
    clients = [make_client(practice, staff, f"Batch {i} B.V.") for i in range(30)]
    hold = fake_twinfield.hold_next(after_write=after_write)
    worker = celery_processes.start_worker()
    celery_processes.start_beat()
    parked(hold, "the first batch to reach the ledger")
    celery_processes.kill(worker)
    hold.release()  # the reply goes nowhere: the worker is gone
    for relation in clients[::7]:  # and Kring moves on meanwhile
        rename(relation, staff, relation.legal_name.replace("Batch", "Later"))
    # Someone retypes a code the dead worker may have sent: once it may be in the ledger, it is
    # frozen (a new code would leave the old debtor behind: the client twice in the ledger).
    relation = clients[0]
    relation.refresh_from_db()
    relation.client_code = "1900"  # free, and within the fake ledger's code mask
    if after_write:
        with pytest.raises(ValidationError, match="cannot change"):
            relations_services.update_relation(
                relation=relation, user=staff, version=relation.version, changed=["client_code"]
            )
    else:  # only read so far: the ledger has never seen it, and the code may still change
        relations_services.update_relation(
            relation=relation, user=staff, version=relation.version, changed=["client_code"]
        )
    celery_processes.start_worker(name="replacement")
    settle(fake_twinfield, practice, what="the replacement worker to push every client")
    assert fake_twinfield.max_in_flight == 1


# (c) The worker's database connection is dropped mid-drain ---------------------------------------


def terminate_other_backends() -> int:
    """pg_terminate_backend on every other session of the test database: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


@WHERE
def test_the_workers_database_connection_dropped_mid_drain_loses_nothing(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff, after_write
):
    celery_processes.start_worker()
    celery_processes.start_beat()
    hold = fake_twinfield.hold_next(after_write=after_write)
    clients = [make_client(practice, staff, f"Verbinding {i} B.V.") for i in range(5)]
    parked(hold, "the drain to wait on the ledger")
    assert terminate_other_backends() >= 1, "the worker had no database session to cut"
    hold.release()
    rename(clients[0], staff, "Verbinding Hersteld B.V.")
    settle(fake_twinfield, practice, what="every client pushed after the connection came back")


# (d) The ledger answers after the task's time limit ----------------------------------------------


@WHERE
def test_a_ledger_slower_than_the_task_time_limit_cuts_the_task_off_and_the_push_is_retried(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff, after_write,
    monkeypatch,
):  # fmt: skip
    # Only the prefork pool enforces time limits (as `celery worker` runs in production). The
    # hard limit stays within the lease, as the settings ask. A task message carries the limits
    # of the process that sends it, so this one (the nudges) has them too, as in production.
    celery_processes.env.update(
        SYNC_TASK_SOFT_TIME_LIMIT_SECONDS="3",
        SYNC_TASK_TIME_LIMIT_SECONDS="6",
        SYNC_LEASE_SECONDS="6",
    )
    monkeypatch.setattr(push_practice, "soft_time_limit", 3)
    monkeypatch.setattr(push_practice, "time_limit", 6)
    monkeypatch.setattr(push_practice, "_exec_options", None)  # Celery caches the options
    hold = fake_twinfield.hold_next(after_write=after_write)
    clients = [make_client(practice, staff, f"Traag {i} B.V.") for i in range(3)]
    celery_processes.start_worker(pool="prefork")
    celery_processes.start_beat()
    parked(hold, "the push to wait on the slow ledger")
    cut_off = wait_for(
        lambda: (
            SyncState.objects.filter(practice=practice)
            .exclude(last_error="")
            .values_list("last_error", flat=True)
            .first()
        ),
        timeout=90,
        what="the soft time limit to cut the push off and record a retry",
        explain=lambda: sync_summary(practice),
    )
    # Recorded in the worker's language, the site's default (Dutch since it has a translation).
    with translation.override(settings.LANGUAGE_CODE):
        expected = translation.gettext(
            "The ledger did not answer within the time limit; it will be tried again."
        )
    assert cut_off == expected
    hold.release()  # the slow answer comes in after all, to no one
    rename(clients[1], staff, "Traag Maar Zeker B.V.")
    settle(fake_twinfield, practice, what="the retry after the cut-off")


@WHERE
def test_a_ledger_slower_than_the_hard_time_limit_gets_the_task_killed_and_the_lease_runs_out(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff, after_write,
    monkeypatch,
):  # fmt: skip
    # No soft limit: the pool kills the task's process, which records nothing; what it had
    # claimed (the office, the rows) comes free when the lease runs out.
    celery_processes.env.update(
        SYNC_TASK_SOFT_TIME_LIMIT_SECONDS="0",
        SYNC_TASK_TIME_LIMIT_SECONDS="4",
        SYNC_LEASE_SECONDS="5",
    )
    monkeypatch.setattr(push_practice, "soft_time_limit", None)
    monkeypatch.setattr(push_practice, "time_limit", 4)
    monkeypatch.setattr(push_practice, "_exec_options", None)
    hold = fake_twinfield.hold_next(after_write=after_write)
    clients = [make_client(practice, staff, f"Te Traag {i} B.V.") for i in range(3)]
    celery_processes.start_worker(pool="prefork")
    celery_processes.start_beat()
    parked(hold, "the push to wait on the slow ledger")
    log = celery_processes.workdir / "worker.log"
    wait_for(
        lambda: "Hard time limit" in log.read_text(errors="replace"),
        timeout=90,
        what="the hard time limit to kill the push",
        explain=celery_processes.logs,
    )
    hold.release()
    rename(clients[2], staff, "Te Traag Maar Zeker B.V.")
    settle(fake_twinfield, practice, what="the push after the lease ran out")


def finished_pushes(processes, name: str) -> int:
    log = (processes.workdir / f"{name}.log").read_text(errors="replace")
    return len(re.findall(r"Task sync\.push_practice\[[^]]+\] (?:succeeded|raised)", log))


# (e) Duplicate delivery, two workers ------------------------------------------------------------


def test_the_same_push_delivered_twice_to_two_workers_drains_once(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff
):
    # A lease far longer than the test: the office stays the first drain's throughout.
    celery_processes.env["SYNC_LEASE_SECONDS"] = "600"
    hold = fake_twinfield.hold_next()
    first = celery_processes.start_worker(name="first")
    clients = [make_client(practice, staff, f"Dubbel {i} B.V.") for i in range(5)]
    parked(hold, "the first worker's drain to wait on the ledger")
    celery_processes.start_worker(name="second")
    # A redelivered message carries the same task id: deliver one twice more, to the idle worker.
    task_id = "push-delivered-twice"
    for _attempt in range(2):
        push_practice.apply_async(args=[practice.pk], task_id=task_id)
    log = celery_processes.workdir / "second.log"
    wait_for(
        lambda: len(re.findall(rf"\[{task_id}\] succeeded", log.read_text(errors="replace"))) == 2,
        timeout=90,
        what="the second worker to run both deliveries",
        explain=celery_processes.logs,
    )
    assert first.poll() is None
    hold.release()
    celery_processes.start_beat()
    settle(fake_twinfield, practice, what="the first drain to finish")
    # The duplicates found the office busy: never two requests at once for one office.
    assert fake_twinfield.max_in_flight == 1
    with fake_twinfield.lock:
        assert all(fake_twinfield.writes[c.client_code] == 1 for c in clients)


def test_two_workers_draining_one_practice_after_a_lease_ran_out_leave_no_false_conflict(
    celery_processes, twinfield_connection, fake_twinfield, practice, staff
):
    """A drain that lost its lease (held past it by the ledger) must not record outcomes over the
    drain that took over: its stale view of a row would read as someone else's change."""
    clients = [make_client(practice, staff, f"Overlap {i} B.V.") for i in range(3)]
    hold = fake_twinfield.hold_next()
    celery_processes.start_worker(name="first")
    parked(hold, "the first drain to wait on the ledger")
    first_owner = LedgerConnection.objects.get(practice=practice).drain_owner
    assert first_owner
    for relation in clients:  # Kring moves on while the first drain waits
        rename(relation, staff, relation.legal_name.replace("Overlap", "Nieuwer"))
    celery_processes.start_worker(name="second")
    celery_processes.start_beat()
    # The lease runs out (3 s in the harness); the sweep's push takes the office over.
    wait_for(
        lambda: (
            all_synced(practice)
            and LedgerConnection.objects.get(practice=practice).drain_owner != first_owner
        ),
        timeout=90,
        what="the second drain to take over and push every client",
        explain=lambda: sync_summary(practice),
    )
    hold.release()  # the first drain wakes up with an old view of every row
    wait_for(
        lambda: finished_pushes(celery_processes, "first") >= 1,
        timeout=90,
        what="the first drain to finish",
        explain=celery_processes.logs,
    )
    settle(fake_twinfield, practice, what="both drains to finish")
    with fake_twinfield.lock:
        for relation in clients:
            relation.refresh_from_db()
            assert fake_twinfield.customers[relation.client_code]["name"] == relation.legal_name
