"""Writing many rows at once: COPY on PostgreSQL, `bulk_create` elsewhere.

The demo seeder (`relations.bulk_seed`, `connections.demo`) and the ledger import
(`relations.services.take_in_ledger_records`) load thousands of rows per transaction; compiling one
huge INSERT was most of `bulk_create`'s time there. Both write through here:

* `write(model, objs)` inserts model instances (their ids from the table's default);
* `insert_with_ids(model, objs)` first draws ids from the sequence, so that COPY can write the rows
  and their children can refer to them;
* `copy_rows(model, columns, rows)` writes plain tuples, no model instance built at all: the fast
  path for a load that composes its rows itself;
* `next_ids(model, count)` draws `count` ids from the table's sequence, and `column_defaults(model)`
  gives the values a plain row starts from;
* `without_secondary_indexes(model)` drops a table's secondary indexes for a load far bigger than
  what the table holds, and builds them again afterwards (PostgreSQL).

Database errors come out as Django's (`django.db.DatabaseError` and its kin), on PostgreSQL too, so
that a caller can catch them the way it catches an ORM write's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models
from django.utils import timezone

BATCH_SIZE = 5_000
# Memory for building an index again after a load: the trigram index of a million relations builds in
# a fraction of the time with room to sort in (PostgreSQL's default is 64 MB). Per session, not held.
INDEX_BUILD_MEMORY = "512MB"


def next_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh primary keys of `model`'s table (PostgreSQL: from its sequence)."""
    if not count:
        return []
    with connection.wrap_database_errors, connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [model._meta.db_table, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
    # SQLite (tests, the demo): no sequence to draw from. Ids above the highest in use, inside the
    # caller's transaction, which holds SQLite's one write lock once it has written.
    top = model._default_manager.aggregate(top=models.Max("pk"))["top"] or 0
    return list(range(top + 1, top + 1 + count))


def column_defaults(model: type[models.Model]) -> dict[str, Any]:
    """Each column's value (by attname, the primary key aside) in a row built from nothing, as the
    model's defaults give it: what a load that writes plain rows starts each row from."""
    return {
        f.attname: f.get_default() if f.has_default() or not f.null else None
        for f in model._meta.concrete_fields
        if not f.primary_key
    }


def _concrete(model: type[models.Model], attname: str) -> models.Field[Any, Any]:
    """The concrete field behind an attname ("relation_id" is the relation foreign key's)."""
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field
    raise LookupError(f"{model.__name__} has no column {attname}")


def copy_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Insert plain rows: `columns` are attnames of `model` ("relation_id"), each row holds their
    values in that order, already in database form except JSON, which is encoded here."""
    fields = [_concrete(model, name) for name in columns]
    json_columns = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        return
    names = ", ".join(connection.ops.quote_name(f.column or f.attname) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            if json_columns:
                row = list(row)
                for i in json_columns:
                    row[i] = json.dumps(row[i])
            copy.write_row(row)


def write(model: type[models.Model], objs: list[Any], *, with_pk: bool = False) -> None:
    """Insert the unsaved instances `objs` (`with_pk`: their ids are set already)."""
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        return
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    now = timezone.now()
    for f in fields:
        if getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
            for obj in objs:
                if getattr(obj, f.attname) is None:
                    setattr(obj, f.attname, now)
    attnames = [f.attname for f in fields]
    copy_rows(model, attnames, ([getattr(obj, name) for name in attnames] for obj in objs))


def insert_with_ids(model: type[models.Model], objs: list[Any]) -> None:
    """Give the unsaved instances `objs` their ids up front, then insert them (COPY can, so)."""
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=BATCH_SIZE)
        return
    for obj, pk in zip(objs, next_ids(model, len(objs)), strict=True):
        obj.pk = pk
    write(model, objs, with_pk=True)


@contextmanager
def without_secondary_indexes(model: type[models.Model]) -> Iterator[list[str]]:
    """Drop `model`'s secondary indexes for the time of a bulk load, then build them again as they
    were; yields the names dropped. PostgreSQL only ([] elsewhere).

    PostgreSQL maintains every index row by row during a COPY: the trigram GIN index of
    `search_text` most of all, whose every row adds some thirty trigram entries. Seeding a million
    relations ran at about 19,000 rows a minute that way, slower the bigger the table; building
    the index once afterwards sorts all entries in one pass. Primary keys and unique indexes stay
    (they guard the data during the load; the foreign keys of other tables need the primary key),
    and so does anything a constraint is built on. The definitions come from the catalogue
    (`pg_indexes`), so each index comes back exactly as the migrations made it; they are built
    again even when the load fails. The table is locked against readers meanwhile (DROP INDEX): for
    the seeder and loads into an empty table, not for a working office's import.
    """
    if connection.vendor != "postgresql":
        yield []
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        _check_deferred(cursor)
        cursor.execute(
            """
            SELECT i.indexname, i.indexdef FROM pg_indexes i
            JOIN pg_class c ON c.relname = i.indexname AND c.relkind = 'i'
            JOIN pg_index x ON x.indexrelid = c.oid
            WHERE i.schemaname = current_schema() AND i.tablename = %s
              AND NOT x.indisunique AND NOT x.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
            ORDER BY i.indexname
            """,
            [table],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield [name for name, _definition in indexes]
    finally:
        with connection.cursor() as cursor:
            _check_deferred(cursor)
            cursor.execute("SELECT current_setting('maintenance_work_mem')")
            (memory,) = cursor.fetchone()
            cursor.execute(
                "SELECT set_config('maintenance_work_mem', %s, false)", [INDEX_BUILD_MEMORY]
            )
            try:
                for _name, definition in indexes:
                    cursor.execute(definition)
            finally:
                cursor.execute("SELECT set_config('maintenance_work_mem', %s, false)", [memory])


def _check_deferred(cursor: Any) -> None:
    """Inside a transaction, run the foreign key checks deferred so far: PostgreSQL builds or drops
    no index of a table with checks pending ("pending trigger events"). Django's are deferred."""
    if connection.in_atomic_block:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
