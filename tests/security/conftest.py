"""Two practices built once per test module, inside a transaction that is rolled back at its end.

Every test still runs in its own savepoint (pytest-django's `db`), so what a test changes is undone
before the next one; building the world once keeps a matrix of hundreds of requests quick.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction

from tests.security.world import Side, build_side


@dataclass
class World:
    a: Side  # the practice whose people make the requests
    b: Side  # the other practice, whose objects they must never reach


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            # The same client codes in both practices: a code is only unique within one.
            built = World(a=build_side("a", code_base=7000), b=build_side("b", code_base=7000))
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)
