"""Fixtures for the sync tests. Each block stands on its own; add yours below."""

from collections.abc import Iterator

import pytest

from practice.models import Practice
from sync.models import LedgerConnection
from tests.fakes.twinfield import FakeTwinfield, connect

# Twinfield: a fake server on loopback per test, and a practice connected to it ----------------


@pytest.fixture
def fake_twinfield() -> Iterator[FakeTwinfield]:
    with FakeTwinfield() as fake:
        yield fake


@pytest.fixture
def twinfield_connection(practice: Practice, fake_twinfield: FakeTwinfield) -> LedgerConnection:
    """Connected as after the OAuth consent: a refresh token, no access token or cluster yet."""
    return connect(practice, fake_twinfield)


# Real processes: a Redis of the test's own, Celery workers and beat (tests/sync/harness.py) ------

from tests.sync.harness import celery_processes, redis_broker  # noqa: E402, F401


@pytest.fixture(autouse=True)
def _forget_multi_read_refusals() -> Iterator[None]:
    """A cluster that refused a combined read is remembered per process; fakes reuse ports."""
    from sync.adapters import twinfield

    yield
    twinfield._NO_MULTI_READ.clear()
