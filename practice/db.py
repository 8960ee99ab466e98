"""Database upkeep after Kring's own bulk loads: fresh data is fast data.

PostgreSQL plans a query from the statistics ANALYZE gathers. After a COPY of 100,000 rows into a
table it knew as empty, the planner still thinks the table is empty (or holds whatever it held
before) until autovacuum gets round to it, a minute later, or never where autovacuum is off: the
first searches after a go-live import then run on plans made for another table. PostgreSQL's own
guidance after a bulk load is to ANALYZE; Kring does that itself at the end of every bulk load
(`seed_demo --relations`, the ledger import, a bulk action over many rows) through `analyze()`.

Outside a transaction `analyze()` runs VACUUM (ANALYZE): the vacuum also sets the visibility map (so
the list's covering indexes answer index-only, without a visit to the table per row) and writes the
hint bits the first readers would otherwise write. Inside a transaction (VACUUM cannot run there),
and where `vacuum=False` asks for it (in a request: vacuuming a big table takes seconds), plain
ANALYZE. On SQLite it does nothing: its planner needs no statistics for Kring's queries.
"""

from __future__ import annotations

from django.db import connection, models

# A bulk action analyses what it changed when it changed at least this many rows, and at least the
# share of the table autovacuum waits for (autovacuum_analyze_scale_factor): fewer leave the
# statistics as good as they were, and analysing costs about the same at any size.
ANALYZE_AFTER_ROWS = 1_000
ANALYZE_SCALE_FACTOR = 0.1


def analyze(*model_classes: type[models.Model], vacuum: bool | None = None) -> list[str]:
    """ANALYZE (and, where it can, VACUUM) the tables of `model_classes`: the tables done, in order.

    `vacuum` None means "when outside a transaction". [] on a database other than PostgreSQL.
    """
    if connection.vendor != "postgresql":
        return []
    tables = list(dict.fromkeys(model._meta.db_table for model in model_classes))
    if not tables:
        return []
    if vacuum is None or vacuum:
        vacuum = not connection.in_atomic_block
    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    names = ", ".join(connection.ops.quote_name(table) for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {names}")
    return tables


def analyze_after_change(
    changed: int, *model_classes: type[models.Model], vacuum: bool = False
) -> list[str]:
    """`analyze()` when `changed` rows of the first model's table are enough to make its statistics
    stale, as autovacuum reckons it: at least ANALYZE_AFTER_ROWS, and at least ANALYZE_SCALE_FACTOR
    of the rows the statistics counted. [] when not (or not on PostgreSQL)."""
    if connection.vendor != "postgresql" or not model_classes or changed < ANALYZE_AFTER_ROWS:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass",
            [model_classes[0]._meta.db_table],
        )
        counted = cursor.fetchone()[0]
    if changed < ANALYZE_SCALE_FACTOR * max(counted, 0):
        return []
    return analyze(*model_classes, vacuum=vacuum)
