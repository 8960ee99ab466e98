"""The benchmark, small, so that it cannot rot: it runs, and the list's queries do not grow with the page.

No timings are asserted: `make bench` measures them on PostgreSQL at 100,000 relations (README).
"""

import pytest
import schwifty
from django.core.management import call_command
from stdnum.nl import bsn

from bench import web
from connections.models import Connection
from relations.models import BankAccount, Relation
from relations.text import fold

pytestmark = pytest.mark.django_db

RELATIONS = 2_000


def test_bench_runs_and_list_queries_are_constant_per_page():
    bench = web.prepare(slug="bench-ci", relations=RELATIONS)
    bench.iterations = bench.bulk_iterations = 1

    web.run(bench)

    results = {result.name: result for result in bench.results}
    lists = [r for name, r in results.items() if name.startswith(("list,", "search,"))]
    kring = [r for name, r in results.items() if name.endswith("(kring)")]
    assert len(lists) == 10
    assert len(kring) == 4
    # Page size, depth, sort, filters and search: the same queries, never one per row.
    assert {r.queries for r in lists + kring} == {lists[0].queries}
    assert results[f"search, rare ({web.RARE_WORD.lower()})"].rows is None
    assert results["CSV export, my relations"].rows == RELATIONS // 10
    # The bulk action leaves the rows as it found them.
    assert Relation.objects.filter(practice=bench.practice).archived().count() < RELATIONS // 10
    assert "admin changelist" in web.table(bench)

    again = web.prepare(slug="bench-ci", relations=RELATIONS)
    assert Relation.objects.filter(practice=again.practice).count() == RELATIONS  # reused


def test_seed_demo_at_scale_builds_realistic_relations():
    call_command("seed_demo", "--relations", "300", "--practice", "groot", stdout=None)
    call_command("seed_demo", "--relations", "300", "--practice", "groot")  # idempotent

    relations = Relation.objects.filter(practice__slug="groot")
    assert relations.count() == 300
    assert {(r.kind, r.entity) for r in relations} == {
        ("client", "company"),
        ("client", "private"),
        ("contact", "company"),
        ("contact", "private"),
    }
    assert 0 < relations.archived().count() < 30
    for relation in relations.prefetch_related("addresses"):
        cities = [address.city for address in relation.addresses.all()]
        assert relation.display_name == relation.compose_display_name()
        assert relation.search_text == fold(relation.compose_search_text(cities=cities[:1]))
        assert not relation.bsn or bsn.is_valid(relation.bsn)
    ibans = BankAccount.objects.filter(relation__practice__slug="groot")
    assert ibans.exists()
    for iban in ibans.values_list("iban", flat=True):
        schwifty.IBAN(iban)  # raises on an invalid checksum
    assert Connection.objects.filter(practice__slug="groot").exists()
    codes = list(relations.clients().values_list("client_code", flat=True))
    assert len(codes) == len(set(codes))


def test_ledger_bench_runs_and_each_batch_costs_two_requests():
    from bench import ledger

    result = ledger.run(debtors=110, latency=0, slug="bench-ledger-ci")

    names = [figure.name for figure in result.figures]
    assert names == [
        "import from Twinfield",
        "import, database stage",
        "import, database stage, re-run",
        "push, batches of 25",
    ]
    assert all(figure.items == 110 for figure in result.figures)
    # Import: a Finder page of 25 codes, then one combined read of those 25 records.
    pages = -(-110 // 25)
    assert result.import_requests["search"] == pages
    assert result.import_requests["reads"] == pages
    assert result.import_requests.get("read", 0) == 0
    # Push: per batch one combined read (the conflict check) and one write, nothing per client.
    assert result.push_batches == pages
    assert result.push_requests["reads"] == pages
    assert result.push_requests["dimensions"] == pages
    assert result.push_requests["soap"] == 2 * pages
    assert result.peak_bytes > 0
    assert "share of latency bound" in ledger.table(result)
