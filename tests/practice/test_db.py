"""Fresh data is fast data (practice.db): every bulk load Kring does leaves the planner statistics of
the tables it loaded current: `seed_demo --relations`, the ledger import, a big bulk action.

On PostgreSQL (CI) the tests read `pg_stat_user_tables`; on SQLite, where there are no statistics to
keep, they check that the same calls are a no-op and the loads still work.
"""

from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import connection

from practice import db
from relations.models import Relation
from sync.models import ImportRun
from sync.tasks import analyze_imported, import_debtors
from tests.factories import RelationFactory
from tests.sync.test_import import debtor, seed

ON_POSTGRESQL = connection.vendor == "postgresql"
SEEDED = [
    "relations_relation",
    "relations_address",
    "relations_bankaccount",
    "relations_serviceagreement",
    "relations_teamassignment",
    "relations_timelineevent",
    "connections_connection",
]
IMPORTED = [
    "relations_relation",
    "relations_address",
    "relations_bankaccount",
    "sync_syncstate",
    "relations_timelineevent",
]


def _clock() -> datetime | None:
    if not ON_POSTGRESQL:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _stats(tables: list[str]) -> dict[str, tuple[datetime | None, datetime | None]]:
    """(last_analyze, last_vacuum) per table, read afresh (not the transaction's cached snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, last_analyze, last_vacuum FROM pg_stat_user_tables "
            "WHERE relname = ANY(%s)",
            [tables],
        )
        return {name: (analyzed, vacuumed) for name, analyzed, vacuumed in cursor.fetchall()}


def _analysed_since(since: datetime | None, tables: list[str]) -> list[str]:
    stats = _stats(tables)
    return [
        table
        for table in tables
        if (analysed := stats.get(table, (None, None))[0]) is not None
        and (since is None or analysed > since)
    ]


@pytest.mark.django_db
def test_seed_demo_at_scale_analyses_every_table_it_loaded():
    before = _clock()

    call_command("seed_demo", "--relations", "120", "--practice", "fresh", stdout=None)

    assert Relation.objects.filter(practice__slug="fresh").count() == 120
    if ON_POSTGRESQL:
        assert _analysed_since(before, SEEDED) == SEEDED
    else:
        assert db.analyze(Relation) == []  # no statistics to keep on SQLite


@pytest.mark.django_db
def test_seed_demo_that_adds_nothing_analyses_nothing():
    call_command("seed_demo", "--relations", "30", "--practice", "fresh", stdout=None)
    before = _clock()

    call_command("seed_demo", "--relations", "30", "--practice", "fresh", stdout=None)

    if ON_POSTGRESQL:
        assert _analysed_since(before, SEEDED) == []


# Outside a test transaction, as the worker runs it: VACUUM (ANALYZE), which also sets the
# visibility map the list's index-only scans need.
@pytest.mark.django_db(transaction=True)
def test_the_import_task_vacuums_and_analyses_what_it_loaded(practice, owner):
    seed(practice, [debtor(n) for n in range(12)])
    run = ImportRun.objects.create(practice=practice, started_by=owner)
    before = _clock()

    assert import_debtors(run.pk, "en")["created"] == 12

    assert Relation.objects.filter(practice=practice).count() == 12
    if ON_POSTGRESQL:
        stats = _stats(IMPORTED)
        assert {table: stats[table][0] > before for table in IMPORTED} == dict.fromkeys(
            IMPORTED, True
        )
        assert {table: stats[table][1] > before for table in IMPORTED} == dict.fromkeys(
            IMPORTED, True
        )
    else:
        assert analyze_imported() == []


@pytest.mark.django_db
def test_a_dry_run_import_analyses_nothing(practice, owner):
    seed(practice, [debtor(n) for n in range(3)])
    run = ImportRun.objects.create(practice=practice, started_by=owner, dry_run=True)
    before = _clock()

    assert import_debtors(run.pk, "en")["created"] == 3

    if ON_POSTGRESQL:
        assert _analysed_since(before, IMPORTED) == []


@pytest.mark.django_db
def test_a_bulk_change_analyses_when_autovacuum_would(practice, monkeypatch):
    monkeypatch.setattr(db, "ANALYZE_AFTER_ROWS", 2)
    RelationFactory.create_batch(30, practice=practice)
    db.analyze(Relation)  # the statistics now count the table's 30 rows

    # At least ANALYZE_AFTER_ROWS rows, and at least a tenth of the rows counted (autovacuum's
    # analyse threshold), or the statistics are as good as they were.
    assert db.analyze_after_change(1, Relation) == []
    assert db.analyze_after_change(2, Relation) == []
    expected = ["relations_relation"] if ON_POSTGRESQL else []
    assert db.analyze_after_change(3, Relation) == expected


@pytest.mark.django_db
def test_a_bulk_archive_of_many_rows_analyses_relations(practice, owner_client, monkeypatch):
    monkeypatch.setattr(db, "ANALYZE_AFTER_ROWS", 2)
    relations = RelationFactory.create_batch(10, practice=practice)
    db.analyze(Relation)
    before = _clock()

    response = owner_client.post(
        "/relations/bulk/",
        {"action": "archive", "confirmed": "1", "ids": [str(r.public_id) for r in relations[:4]]},
    )

    assert response.status_code == 302
    assert Relation.objects.filter(practice=practice).archived().count() == 4
    if ON_POSTGRESQL:
        assert _analysed_since(before, ["relations_relation"]) == ["relations_relation"]
