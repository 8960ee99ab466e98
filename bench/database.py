"""`python -m bench.database`: create the database DATABASE_URL names if it does not exist yet.

`make bench` runs this before `migrate`, so that a fresh machine needs nothing but a PostgreSQL server.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import environ
import psycopg
from psycopg import sql


def ensure_database(url: str) -> bool:
    """True when the database had to be created."""
    config = environ.Env.db_url_config(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit("The bench needs DATABASE_URL on PostgreSQL.")
    server: dict[str, Any] = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    return not exists


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", "")
    if ensure_database(url):
        print(f"Created database {environ.Env.db_url_config(url)['NAME']!r}.", file=sys.stderr)
