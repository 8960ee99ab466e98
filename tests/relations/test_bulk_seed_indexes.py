"""A big seed drops the secondary indexes for the load and builds them again exactly as they were.

`relations.bulk.without_secondary_indexes`: on PostgreSQL, maintaining the trigram index row by row
was most of a million-relation seed's time. Nothing may be lost on the way: every index comes back
with its definition, even when the load fails, and search finds the seeded rows through it.
"""

import pytest
from django.core.management import call_command
from django.db import connection

from relations import bulk, bulk_seed
from relations.models import Relation

pytestmark = pytest.mark.django_db

SEEDED_TABLES = [model._meta.db_table for model in bulk_seed.SEEDED]


def index_definitions() -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            [SEEDED_TABLES],
        )
        return set(cursor.fetchall())


def test_the_indexes_are_dropped_for_the_load_and_built_again_as_they_were():
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"
        with bulk.without_secondary_indexes(Relation) as dropped:
            assert dropped == []  # nothing to gain on SQLite: it is left alone
        return
    before = index_definitions()
    names = {name for name, _definition in before}

    with bulk.without_secondary_indexes(Relation) as dropped:
        during = {name for name, _definition in index_definitions()}

    assert "relation_search_trgm" in dropped
    assert "relation_practice_name" in dropped
    assert not set(dropped) & during
    # What guards the data stays: the primary key and the unique indexes.
    assert {"relations_relation_pkey", "relations_relation_public_id_key"} <= during
    assert "relations_relation_client_code_unique" in during
    assert set(dropped) | during == names
    assert index_definitions() == before


def test_the_indexes_come_back_when_the_load_fails():
    before = index_definitions() if connection.vendor == "postgresql" else set()

    with pytest.raises(RuntimeError, match="load failed"), bulk.without_secondary_indexes(Relation):
        raise RuntimeError("load failed")

    if connection.vendor == "postgresql":
        assert index_definitions() == before


def test_a_big_seed_rebuilds_the_indexes_and_search_finds_its_rows(monkeypatch):
    monkeypatch.setattr(bulk_seed, "REBUILD_INDEXES_FROM", 1)
    dropped: list[str] = []
    original = bulk.without_secondary_indexes

    def recording(model):
        context = original(model)
        dropped.append(model._meta.db_table)
        return context

    monkeypatch.setattr(bulk_seed, "without_secondary_indexes", recording)
    before = index_definitions() if connection.vendor == "postgresql" else set()

    call_command("seed_demo", "--relations", "120", "--practice", "groot")

    assert dropped == SEEDED_TABLES  # a seed bigger than the table: every seeded table's
    relations = Relation.objects.filter(practice__slug="groot")
    assert relations.count() == 120
    rare = relations.filter(display_name__icontains=bulk_seed.RARE_WORD)
    assert list(relations.search(bulk_seed.RARE_WORD)) == list(rare)
    some = relations.exclude(client_code="").order_by("pk").first()
    assert list(relations.search(some.client_code)) == [some]
    if connection.vendor == "postgresql":
        assert index_definitions() == before

    # A seed smaller than what the table holds keeps the indexes and maintains them.
    dropped.clear()
    call_command("seed_demo", "--relations", "150", "--practice", "groot")
    assert dropped == []
    assert relations.count() == 150
