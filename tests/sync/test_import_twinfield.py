"""The go-live import against the fake Twinfield: 2,000 debtors with addresses and banks."""

import pytest

from relations.models import Address, BankAccount, Relation
from sync.importer import run_import
from sync.models import SyncState
from tests.fakes.twinfield import FakeTwinfield, connect

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_fake():
    with FakeTwinfield(code_mask="1[0-9][0-9][0-9][0-9]") as fake:
        fake.seed_customers(2000)
        yield fake


@pytest.fixture
def connected(practice, big_fake):
    return connect(practice, big_fake)


def counts(practice):
    return (
        Relation.objects.filter(practice=practice).count(),
        Address.objects.filter(relation__practice=practice).count(),
        BankAccount.objects.filter(relation__practice=practice).count(),
        SyncState.objects.filter(practice=practice).count(),
    )


def test_import_2000_debtors_from_twinfield_then_nothing_changes(
    practice, owner, connected, big_fake
):
    dry = run_import(practice=practice, user=owner, dry_run=True)
    assert dry.created == 2000
    assert counts(practice) == (0, 0, 0, 0)

    first = run_import(practice=practice, user=owner)
    assert (first.created, first.failed) == (2000, 0)
    relations, addresses, banks, states = counts(practice)
    assert relations == states == 2000
    assert addresses >= 2000
    assert banks == 2000
    assert set(Relation.objects.values_list("client_code", flat=True)) == set(big_fake.customers)
    assert not big_fake.writes  # an import only reads

    second = run_import(practice=practice, user=owner)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2000)
    assert counts(practice) == (relations, addresses, banks, states)
