"""`make bench`: Kring's pages timed server-side at office scale, side by side with Django admin.

Everything goes through Django's test `Client` in-process: no network, no browser, so the figures are
what the server spends (URL routing, middleware, queries, templates). Each page is requested a few
times to warm caches and then `iterations` times for p50/p95; the queries of one more request are
counted separately, because capturing them switches on the debug cursor.

`python -m bench` is the entry point (see `__main__.py`); `tests/test_bench.py` runs the same code on a
small practice so that it cannot rot.
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Max, Min
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from practice.db import analyze
from practice.management.commands.seed_demo import Command as SeedDemo
from practice.models import Membership, Practice
from relations.bulk_seed import RARE_WORD
from relations.models import Relation, TeamAssignment, TeamRole

DEFAULT_SLUG = "bench"
DEFAULT_RELATIONS = 100_000
STAFF_USERNAME = "bench-staff"
ADMIN_USERNAME = "bench-admin"
COMMON_WORD = "bakkerij"
COMMON_SURNAME = "jansen"
MINE = 10_000  # the staff member's own relations: what the CSV export exports
BULK_ROWS = 1_000
WARMUP = 3


@dataclass
class Result:
    name: str
    url: str
    timings_ms: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.timings_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.timings_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Bench:
    practice: Practice
    staff: Any
    admin: Any
    relations: int
    iterations: int = 30
    bulk_iterations: int = 30
    results: list[Result] = field(default_factory=list)
    ratios: list[tuple[str, float]] = field(default_factory=list)
    seeded: bool = False  # in this run: the statistics are then Kring's own ANALYZE's alone


def prepare(
    *, slug: str = DEFAULT_SLUG, relations: int = DEFAULT_RELATIONS, stdout: Any = None
) -> Bench:
    """The practice with `relations` relations (seeded once, reused), a staff member and a superuser."""
    User = get_user_model()
    practice, _ = Practice.objects.get_or_create(slug=slug, defaults={"name": f"Bench {slug}"})
    staff, _ = User.objects.get_or_create(username=f"{STAFF_USERNAME}-{slug}")
    Membership.objects.get_or_create(
        user=staff, practice=practice, defaults={"role": Membership.Role.STAFF}
    )
    admin, _created = User.objects.get_or_create(
        username=f"{ADMIN_USERNAME}-{slug}", defaults={"is_staff": True, "is_superuser": True}
    )
    existing = Relation.objects.filter(practice=practice).count()
    seeded = existing < relations
    if seeded:
        # Seeded by the superuser, who manages every client: the staff member's own relations are
        # exactly the `MINE` assigned below, which is what the export exports. Seeded as
        # `seed_demo --relations` seeds, its ANALYZE of what it loaded included, and nothing more:
        # the concurrent part measures what Kring's own upkeep leaves (bench.load).
        SeedDemo(stdout=stdout or io.StringIO()).seed_at_scale(practice, admin, relations)
    mine = min(MINE, relations // 10)
    own = TeamAssignment.objects.filter(user=staff, role="accountant")
    ids = Relation.objects.filter(practice=practice).aggregate(first=Min("pk"), last=Max("pk"))
    highest = own.aggregate(highest=Max("relation_id"))["highest"]
    if highest is not None and highest < (ids["first"] + ids["last"]) // 2:
        own.delete()  # an earlier bench assigned the first ids: spread them instead (below)
    assigned = own.count()
    if assigned < mine:
        with transaction.atomic():
            taken = TeamAssignment.objects.filter(user=staff, role="accountant").values("relation")
            free = list(
                Relation.objects.filter(practice=practice)
                .active()
                .exclude(pk__in=taken)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            # Spread over the whole practice, as a member's clients are: the first 10,000 ids
            # would let a merge join stop early and flatter "my relations".
            step = max(1, len(free) // (mine - assigned))
            # bulk_create skips save(), which looks the practice's role up: looked up once here.
            TeamRole.objects.seed(practice.pk)
            accountant = TeamRole.objects.get(practice=practice, key="accountant")
            TeamAssignment.objects.bulk_create(
                TeamAssignment(
                    practice=practice,
                    relation_id=pk,
                    user=staff,
                    role="accountant",
                    team_role=accountant,
                )
                for pk in free[::step][: mine - assigned]
            )
        analyze(TeamAssignment)  # a bulk load of the bench's own: analysed as Kring's are
    return Bench(practice=practice, staff=staff, admin=admin, relations=relations, seeded=seeded)


def _client(user: Any) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def _consume(response: Any) -> int:
    """Read a streamed body to the end (the export does its work while streaming); the row count."""
    if response.streaming:
        return sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    return 0


def measure(
    bench: Bench,
    name: str,
    request: Callable[[], Any],
    *,
    url: str = "",
    iterations: int | None = None,
    after: Callable[[], Any] | None = None,
) -> Result:
    """Time `request` warm; `after` undoes what it changed (not timed). Queries of one extra call."""
    result = Result(name=name, url=url)
    rounds = iterations or bench.iterations
    for _ in range(WARMUP):
        response = request()
        assert response.status_code in (200, 302), (name, response.status_code)
        _consume(response)
        if after:
            after()
    with CaptureQueriesContext(connection) as captured:
        result.rows = _consume(request()) or None
    result.queries = len(captured.captured_queries)
    if after:
        after()
    for _ in range(rounds):
        start = time.perf_counter()
        _consume(request())
        result.timings_ms.append((time.perf_counter() - start) * 1000)
        if after:
            after()
    bench.results.append(result)
    return result


def run(bench: Bench, *, stdout: Any = None, admin: bool = True) -> Bench:
    """The list, search, detail, bulk and export figures, then the admin side by side."""
    staff = _client(bench.staff)

    def get(url: str, params: dict[str, Any] | None = None) -> Callable[[], Any]:
        return lambda: staff.get(url, params or {})

    def log(result: Result) -> None:
        if stdout is not None:
            stdout.write(f"  {result.name}: p50 {result.p50:.1f} ms ({result.queries} queries)")

    active = Relation.objects.filter(practice=bench.practice).active()
    deep = max(1, min(1_000, active.count() // 50 - 1))
    for name, params in (
        ("list, default (page 1, 50 rows)", {}),
        ("list, 25 rows", {"per_page": 25}),
        ("list, 100 rows", {"per_page": 100}),
        ("list, filtered kind=client", {"kind": "client"}),
        ("list, my relations", {"team": "mine"}),
        ("list, my relations, 100 rows", {"team": "mine", "per_page": 100}),
        (f"search, rare ({RARE_WORD.lower()})", {"q": RARE_WORD.lower()}),
        (f"search, common ({COMMON_WORD})", {"q": COMMON_WORD}),
        (f"search, common ({COMMON_WORD}), 100 rows", {"q": COMMON_WORD, "per_page": 100}),
        ("search, two words (bakkerij utrecht)", {"q": f"{COMMON_WORD} utrecht"}),
        (f"search, common surname ({COMMON_SURNAME})", {"q": COMMON_SURNAME}),
        ("search, one letter (j)", {"q": "j"}),
        ("search, two letters (ja)", {"q": "ja"}),
        ("search, two letters, rare (zw)", {"q": "zw"}),
        (f"list, deep page {deep}", {"page": deep}),
        ("list, sorted by code, deep page", {"sort": "code", "page": deep}),
    ):
        log(measure(bench, name, get("/relations/", params), url=f"/relations/?{_qs(params)}"))

    relation = active.filter(kind="client", entity="company").order_by("pk").first()
    if relation is not None:
        from relations.views.pages import tabs_for

        for tab, _label in tabs_for(relation):
            url = relation.get_absolute_url()
            if tab != "overview":
                url = f"{url}tab/{tab}/"
            log(measure(bench, f"detail, {tab}", get(url), url=url))

    ids = [str(pk) for pk in active.order_by("-pk").values_list("public_id", flat=True)[:BULK_ROWS]]
    # 1,000 ids are more form fields than Django accepts by default (the list selects at most 100
    # per page); the bench raises the limit to time the service at that size through the view.
    with override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=BULK_ROWS + 10):
        for action, undo in (("archive", "restore"), ("restore", "archive")):

            def post(action: str = action) -> Any:
                return staff.post("/relations/bulk/", {"action": action, "ids": ids})

            if action == "restore":
                post("archive")  # restoring needs archived rows: each timed restore is re-archived
            log(
                measure(
                    bench,
                    f"bulk {action}, {len(ids)} rows",
                    post,
                    url="/relations/bulk/",
                    iterations=bench.bulk_iterations,
                    after=partial(post, undo),
                )
            )
        post("restore")
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Each timed action rewrote 1,000 rows and their index entries (archived_at is in the sort
        # indexes, so no update is HOT). Autovacuum would clean up after such a burst within a
        # minute; without it the pages measured next, and the next run's, read the dead versions.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE relations_relation")

    export = measure(
        bench,
        "CSV export, my relations",
        get("/relations/export.csv", {"team": "mine"}),
        url="/relations/export.csv?team=mine",
        iterations=max(3, bench.iterations // 3),
    )
    log(export)

    if admin:
        compare(bench, staff, deep_page=max(1, deep // 2), log=log)
    return bench


def compare(bench: Bench, staff: Client, *, deep_page: int, log: Callable[[Result], None]) -> None:
    """The same search and page in Kring's list and in the admin changelist, 100 rows each."""
    superuser = _client(bench.admin)
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("page 1", {}, {}),
        (f"search {COMMON_WORD}", {"q": COMMON_WORD}, {"q": COMMON_WORD}),
        (f"search {RARE_WORD.lower()}", {"q": RARE_WORD.lower()}, {"q": RARE_WORD.lower()}),
        (f"page {deep_page}", {"page": deep_page}, {"p": deep_page}),
    ]
    for label, kring, admin in cases:
        kring = {**kring, "per_page": 100}
        mine = measure(
            bench,
            f"kring vs admin: {label} (kring)",
            partial(staff.get, "/relations/", kring),
            url=f"/relations/?{_qs(kring)}",
        )
        theirs = measure(
            bench,
            f"kring vs admin: {label} (admin)",
            partial(superuser.get, "/admin/relations/relation/", admin),
            url=f"/admin/relations/relation/?{_qs(admin)}",
        )
        log(mine)
        log(theirs)
        bench.ratios.append((label, theirs.p50 / mine.p50))


def _qs(params: dict[str, Any]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items())


def table(bench: Bench) -> str:
    width = max(len(r.name) for r in bench.results)
    lines = [f"{'page':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'queries':>7}  {'n':>4}"]
    lines.append("-" * len(lines[0]))
    for r in bench.results:
        lines.append(
            f"{r.name:<{width}}  {r.p50:>8.1f}  {r.p95:>8.1f}  {r.queries:>7}  {len(r.timings_ms):>4}"
        )
    if bench.ratios:
        lines.append("")
        lines.append("admin changelist p50 / Kring list p50 (same search and page, 100 rows):")
        for label, ratio in bench.ratios:
            lines.append(f"  {label:<24} {ratio:5.1f}x")
    return "\n".join(lines)
