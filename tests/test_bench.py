"""The benchmark, small, so that it cannot rot: it runs, and queries do not grow with the rows shown.

No timings are asserted: `make bench` measures them on PostgreSQL at 100,000 relations (README).
"""

import pytest
import schwifty
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from stdnum.nl import bsn

from bench import web
from connections.models import Connection
from relations.models import (
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TimelineEvent,
)
from relations.text import fold
from relations.views.pages import tabs_for
from sync import feed
from tests.factories import MembershipFactory, RelationFactory

pytestmark = pytest.mark.django_db

RELATIONS = 2_000


def test_bench_runs_and_list_queries_are_constant_per_page():
    bench = web.prepare(slug="bench-ci", relations=RELATIONS)
    bench.iterations = bench.bulk_iterations = 1

    web.run(bench)

    results = {result.name: result for result in bench.results}
    lists = [r for name, r in results.items() if name.startswith(("list,", "search,"))]
    kring = [r for name, r in results.items() if name.endswith("(kring)")]
    assert len(lists) == 16
    assert len(kring) == 4
    # Page size, depth, sort, filters and search: the same queries, never one per row.
    assert {r.queries for r in lists + kring} == {lists[0].queries}
    assert results[f"search, rare ({web.RARE_WORD.lower()})"].rows is None
    assert results["CSV export, my relations"].rows == RELATIONS // 10
    # The bulk action leaves the rows as it found them.
    assert Relation.objects.filter(practice=bench.practice).archived().count() < RELATIONS // 10
    assert "admin changelist" in web.table(bench)

    # "My relations" are spread over the practice, not its first ids (which flatter a merge join).
    mine = TeamAssignment.objects.filter(user=bench.staff, role="accountant")
    ids = sorted(Relation.objects.filter(practice=bench.practice).values_list("pk", flat=True))
    assert max(mine.values_list("relation_id", flat=True)) > ids[len(ids) * 3 // 4]

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


def _grow(relation, practice, numbers: range) -> None:
    """More of everything a tab lists: addresses, accounts, team, agreements, events, links."""

    for i in numbers:
        other = Relation.objects.create(
            practice=practice, kind="contact", entity="private", last_name=f"Lid {i}",
            display_name=f"Lid {i}", email=f"lid{i}@example.nl",
        )  # fmt: skip
        Address.objects.create(
            relation=relation,
            type="postal",
            street=f"Postbus {i}",
            city="Utrecht",
            is_default=False,
        )
        BankAccount.objects.create(relation=relation, iban=f"NL{i:02}TEST{i:010}", is_default=False)
        agreement = ServiceAgreement.objects.create(
            practice=practice, relation=relation, service="payroll"
        )
        user = MembershipFactory.create(practice=practice).user
        TeamAssignment.objects.create(
            practice=practice, relation=relation, user=user,
            role=["accountant", "assistant", "payroll", "tax_advisor"][i % 4],
        )  # fmt: skip
        Connection.objects.create(
            practice=practice, a=relation, b=other, type="contact_person", a_is_subject=False
        )
        for kind, refs in (
            ("agreement_added", {"agreement": agreement}),
            ("team_added", {"member": user}),
            ("connection_added", {"other_relation": other}),
            ("changed", {}),
        ):
            TimelineEvent.record(relation, kind, actor=user, fields=["email"], **refs)


def test_detail_tabs_do_not_query_per_row(staff_client, practice):

    relation = RelationFactory(practice=practice)
    queries: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for numbers in (range(1), range(1, 12)):
        _grow(relation, practice, numbers)
        for tab, _label in tabs_for(relation):
            url = relation.get_absolute_url() + ("" if tab == "overview" else f"tab/{tab}/")
            staff_client.get(url)  # the session's first write is not what is counted
            with CaptureQueriesContext(connection) as captured:
                response = staff_client.get(url)
            assert response.status_code == 200, (tab, response.status_code)
            queries.setdefault(tab, []).append(len(captured.captured_queries))
            shown[tab] = response.content.decode()

    # The rows are on the pages counted, related names and all.
    assert "Postbus 11" in shown["addresses"]
    assert "NL11 TEST 0000 0000 11" in shown["banks"]
    assert "Lid 11" in shown["connections"]
    assert "Lid 11" in shown["timeline"]
    assert {"overview", "addresses", "banks", "team", "agreements", "timeline"} <= queries.keys()
    assert {tab: counts[1] for tab, counts in queries.items()} == {
        tab: counts[0] for tab, counts in queries.items()
    }


def test_ledger_bench_runs_and_requests_per_batch_hold():
    from bench import ledger

    result = ledger.run(debtors=110, latency=0, slug="bench-ledger-ci")

    names = [figure.name for figure in result.figures]
    assert names == [
        "import from Twinfield",
        "import, database stage",
        "import, database stage, re-run",
        "push, batches of 25",
        "push again",
        "push, every record read first",
        "import, a 429 every 7th request",
        "push, a 429 every 7th request",
    ]
    assert all(figure.items == 110 for figure in result.figures)
    # Import: a Finder page of 25 codes, then one combined read of those 25 records.
    pages = -(-110 // 25)
    assert result.import_requests["search"] == pages
    assert result.import_requests["reads"] == pages
    assert result.import_requests.get("read", 0) == 0
    # Push, and push again: the change feed's counts (a Finder call each, a few per check
    # interval) vouch for every record, so one write per batch and no read.
    assert result.push_batches == pages
    for requests in (result.push_requests, result.repush_requests):
        counts = requests["search"]
        assert 1 <= counts <= pages * (1 + feed.FEED_SECONDS)
        assert requests.get("reads", 0) == requests.get("read", 0) == 0
        assert requests["dimensions"] == pages
        assert requests["soap"] == pages + counts
    # Every record to be read first: one combined read per batch.
    counts = result.read_push_requests["search"]
    assert result.read_push_requests["reads"] == pages
    assert result.read_push_requests["dimensions"] == pages
    assert result.read_push_requests["soap"] == 2 * pages + counts
    assert result.peak_bytes > 0
    assert "share of latency bound" in ledger.table(result)


@pytest.mark.django_db(transaction=True)
def test_the_load_part_runs_every_page_without_errors(live_server):
    from urllib.parse import urlsplit

    from bench import load

    bench = web.prepare(slug="bench-load-ci", relations=200)
    url = urlsplit(live_server.url)

    results = load.run(
        bench, clients=(2,), seconds=0.5, max_requests=4, server=(url.hostname, url.port)
    )

    names = [name for name, _path in load.pages("/detail/", "jansen", web.RARE_WORD.lower())]
    assert [r.name for r in results] == names
    assert {r.name: (r.errors, r.clients) for r in results} == dict.fromkeys(names, (0, 2))
    assert all(1 <= len(r.timings_ms) <= 4 for r in results)  # bounded in count as in time
    assert "the admin changelist's requests/s on 'jansen'" in load.table(results)


def test_the_baseline_tables_are_read_back_row_by_row():
    from bench import baseline

    bench = web.Bench(practice=None, staff=None, admin=None, relations=0)
    bench.results = [
        web.Result(
            name="list, default (page 1, 50 rows)", url="", timings_ms=[9.5, 10.5], queries=6
        ),
        web.Result(name="search, rare (zwaluwstaart)", url="", timings_ms=[4.0], queries=6),
    ]
    ledger_table = "\n".join(
        [
            "| ledger (10 debtors) | per second | requests | share | CPU |",
            "|---|---:|---:|---:|---:|",
            "| import, database stage | 1,234 | - | - | 500 |",
        ]
    )

    assert baseline.parse_pages(web.table(bench)) == {
        "list, default (page 1, 50 rows)": (10.0, 10.5, 6),
        "search, rare (zwaluwstaart)": (4.0, 4.0, 6),
    }
    assert baseline.parse_ledger(ledger_table) == {"import, database stage": "1,234"}
    assert baseline.baseline_url("postgres://u@h:5432/kring_bench") == (
        "postgres://u@h:5432/kring_bench_baseline"
    )
