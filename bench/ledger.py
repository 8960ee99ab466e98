"""`make bench`, the ledger part: import and push against the fake Twinfield with added latency.

The fake (tests/fakes/twinfield.py) runs in this process on loopback and waits `latency` seconds
before answering each SOAP call, as a distant Twinfield would; one request is in flight at a time
(the adapter's office lock), so `requests * latency` is the least time a run can take: the
latency-bound limit. Figures:

* import from Twinfield: debtors/s, and the share of the latency-bound limit reached;
* the import's database stage alone: the same debtors, already read, into an empty practice (and a
  second run over them, which must change nothing);
* peak memory of an import from Twinfield: Python's allocations as `tracemalloc` sees them (not the
  process's RSS), in an untimed run of its own, as tracing slows everything down;
* push: every client changed in Kring, pushed in batches of 25 with the conflict check and the
  write: clients/s and the share of the limit. The check is the change feed (sync.feed): a
  Finder count or two per second say nothing changed in Twinfield, so no debtor is read;
* push again: the same clients changed once more (what Kring wrote itself stays verified);
* push with every record read first (one combined read per batch, then the write): the conflict
  check by reading, as without a change feed or after changes in the ledger.

`tests/test_bench.py` runs this on a few hundred debtors without latency: request counts only.
"""

from __future__ import annotations

import multiprocessing
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.utils import timezone

from practice.models import Practice
from relations.models import Relation
from sync import drain
from sync.adapters.base import LedgerCustomer
from sync.adapters.twinfield import MAX_BATCH
from sync.importer import run_import
from sync.mapping import customer_from_dict
from sync.models import ImportRun, SyncState
from tests.fakes.twinfield import FakeTwinfield, connect

DEBTORS = 10_000
LATENCY = 0.05
SLUG = "bench-ledger"


@dataclass
class Figure:
    name: str
    items: int
    seconds: float
    requests: int | None = None
    latency: float = 0.0
    note: str = ""
    cpu_seconds: float = 0.0  # this process's CPU: steadier than wall time on a loaded machine

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def bound_share(self) -> float | None:
        """How close the run came to `requests * latency`, the least time it could take."""
        if not self.requests or not self.latency:
            return None
        return self.requests * self.latency / self.seconds


@dataclass
class LedgerBench:
    debtors: int
    latency: float
    figures: list[Figure] = field(default_factory=list)
    peak_bytes: int = 0
    push_requests: dict[str, int] = field(default_factory=dict)  # by operation
    repush_requests: dict[str, int] = field(default_factory=dict)  # by operation
    read_push_requests: dict[str, int] = field(default_factory=dict)  # by operation
    import_requests: dict[str, int] = field(default_factory=dict)  # by operation
    push_batches: int = 0


class _Listed:
    """Debtors already read: the importer's database stage without any network."""

    max_batch = 25

    def __init__(self, customers: Sequence[LedgerCustomer]) -> None:
        self.customers = customers

    def count_customers(self) -> int:
        return len(self.customers)

    def list_customers(self) -> Iterator[LedgerCustomer]:
        return iter(self.customers)


def _practice(slug: str, owner: Any) -> Practice:
    """A fresh, empty practice for each run: relations are never deleted (DESIGN §3; PostgreSQL
    refuses it too), so an earlier run's practices stay in the bench database."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    return Practice.objects.create(slug=f"{slug}-{stamp}", name=f"Bench {slug} {stamp}")


def _serve_fake(pipe: Connection, options: dict[str, Any]) -> None:
    """The child process: a fake Twinfield, steered over the pipe until told to stop."""
    with FakeTwinfield(**options) as fake:
        pipe.send(
            {
                "url": fake.url,
                "office_code": fake.office_code,
                "client_id": fake.client_id,
                "client_secret": fake.client_secret,
                "refresh_token": fake.refresh_token,
            }
        )
        while True:
            command, argument = pipe.recv()
            if command == "stop":
                pipe.send(None)
                return
            if command == "seed":
                pipe.send(len(fake.seed_customers(argument)))
            elif command == "latency":
                fake.latency = argument
                pipe.send(None)
            elif command == "rate_limit":  # (every Nth call a 429, its Retry-After) or None
                fake.rate_limit_every, fake.rate_limit_retry_after = argument or (None, 1)
                fake.requests["counted"] = 0
                pipe.send(None)
            elif command == "requests":
                pipe.send(dict(fake.requests))
                fake.requests.clear()
            elif command == "websites":
                pipe.send(sorted({record["website"] for record in fake.customers.values()}))


class FakeProcess:
    """The fake Twinfield in a process of its own, as the real one is: its parsing and checking
    then do not take turns with Kring's for this process's GIL, which would count them twice."""

    def __init__(self, **options: Any) -> None:
        context = multiprocessing.get_context("fork")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve_fake, args=(child, options), daemon=True)
        self._process.start()
        info = self._pipe.recv()
        self.url: str = info["url"]
        self.office_code: str = info["office_code"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]
        self.refresh_token: str = info["refresh_token"]

    def call(self, command: str, argument: Any = None) -> Any:
        self._pipe.send((command, argument))
        return self._pipe.recv()

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.is_alive():
            self.call("stop")
        self._process.join(timeout=10)


def _timed_push(
    practice: Practice, fake: FakeProcess, latency: float, version: str, name: str
) -> tuple[Figure, dict[str, int], int]:
    """Every client of the practice changed in Kring, then drained against the slow ledger:
    the figure, the requests by operation and the batches."""
    website = f"https://bench.example/{version}"
    Relation.objects.filter(practice=practice).update(
        website=website, ledger_version=F("ledger_version") + 1
    )
    fake.call("latency", latency)
    started, cpu = time.perf_counter(), time.process_time()
    report = drain.push_practice(practice)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    fake.call("latency", 0)
    clients = Relation.objects.filter(practice=practice).count()
    assert report.pushed == clients, (report.pushed, report.failed, report.errors[:3])
    requests = fake.call("requests")
    assert fake.call("websites") == [website]
    figure = Figure(
        name,
        report.pushed,
        seconds,
        requests["soap"],
        latency,
        note=f"{report.batches} batches",
        cpu_seconds=cpu,
    )
    return figure, requests, report.batches


def _timed_import(practice: Practice, owner: Any, **kwargs: Any) -> tuple[ImportRun, float, float]:
    started, cpu = time.perf_counter(), time.process_time()
    run = run_import(practice=practice, user=owner, **kwargs)
    return run, time.perf_counter() - started, time.process_time() - cpu


def run(
    *, debtors: int = DEBTORS, latency: float = LATENCY, slug: str = SLUG, stdout: Any = None
) -> LedgerBench:
    def log(text: str) -> None:
        if stdout is not None:
            stdout.write(text)

    bench = LedgerBench(debtors=debtors, latency=latency)
    owner, _ = get_user_model().objects.get_or_create(username=f"{slug}-owner")
    with FakeProcess(code_mask="1" + "#" * max(4, len(str(debtors)))) as fake:
        fake.call("seed", debtors)

        # Memory first, untimed and without latency: it also leaves practice A equal to the fake.
        ours = _practice(f"{slug}-a", owner)
        connect(ours, fake)
        tracemalloc.start()
        try:
            first = run_import(practice=ours, user=owner)
            bench.peak_bytes = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert first.created == debtors, first.report[:3]
        log(f"  import peak memory (tracemalloc): {bench.peak_bytes / 2**20:.1f} MiB")

        # Import from Twinfield with latency, into an empty practice.
        fresh = _practice(f"{slug}-b", owner)
        connect(fresh, fake)
        fake.call("latency", latency)
        fake.call("requests")
        done, seconds, cpu = _timed_import(fresh, owner)
        fake.call("latency", 0)
        bench.import_requests = fake.call("requests")
        figure = Figure(
            "import from Twinfield",
            done.created,
            seconds,
            bench.import_requests["soap"],
            latency,
            cpu_seconds=cpu,
        )
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} debtors/s")

        # The database stage alone: the same debtors, already read.
        listed = [
            customer_from_dict(record or {})
            for record in SyncState.objects.filter(practice=ours)
            .order_by("relation__client_code")
            .values_list("remote_record", flat=True)
        ]
        alone = _practice(f"{slug}-c", owner)
        created, seconds, cpu = _timed_import(alone, owner, adapter=_Listed(listed))
        bench.figures.append(
            Figure("import, database stage", created.created, seconds, cpu_seconds=cpu)
        )
        again, seconds, cpu = _timed_import(alone, owner, adapter=_Listed(listed))
        assert again.unchanged == debtors, (again.created, again.updated, again.failed)
        bench.figures.append(
            Figure(
                "import, database stage, re-run",
                again.unchanged,
                seconds,
                note="unchanged",
                cpu_seconds=cpu,
            )
        )
        for figure in bench.figures[-2:]:
            log(f"  {figure.name}: {figure.per_second:,.0f} debtors/s")

        # Push: every client of A changed in Kring, then drained against the slow ledger.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # as autovacuum would after the import's load
                cursor.execute(
                    "ANALYZE sync_syncstate, relations_relation, relations_address, "
                    "relations_bankaccount"
                )
        figure, bench.push_requests, bench.push_batches = _timed_push(
            ours, fake, latency, "v2", f"push, batches of {MAX_BATCH}"
        )
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} clients/s")

        # Again: what Kring wrote itself a moment ago, verified by the change feed, not read.
        figure, bench.repush_requests, _ = _timed_push(ours, fake, latency, "v3", "push again")
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} clients/s")

        # And with every record to be read first: a conflict check by reading, as without a feed.
        SyncState.objects.filter(practice=ours).update(remote_verified=False)
        figure, bench.read_push_requests, _ = _timed_push(
            ours, fake, latency, "v4", "push, every record read first"
        )
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} clients/s")

        # Issue 12: the same import and push under Twinfield's fair-use limit, a 429 on every 7th
        # request with a Retry-After of one latency, beside the runs without it above.
        limited = _practice(f"{slug}-d", owner)
        connect(limited, fake)
        fake.call("rate_limit", (7, latency))
        fake.call("latency", latency)
        fake.call("requests")
        done, seconds, cpu = _timed_import(limited, owner)
        fake.call("latency", 0)
        requests = fake.call("requests")
        assert done.created == debtors, done.error
        figure = Figure(
            "import, a 429 every 7th request",
            done.created,
            seconds,
            requests["soap"],
            latency,
            note=f"{requests.get('429', 0)} answered 429",
            cpu_seconds=cpu,
        )
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} debtors/s")
        figure, requests, _ = _timed_push(
            limited, fake, latency, "v5", "push, a 429 every 7th request"
        )
        figure.note += f", {requests.get('429', 0)} answered 429"
        bench.figures.append(figure)
        log(f"  {figure.name}: {figure.per_second:,.0f} clients/s")
        fake.call("rate_limit", None)
    return bench


def table(bench: LedgerBench) -> str:
    lines = [
        f"| ledger ({bench.debtors:,} debtors, {bench.latency * 1000:.0f} ms latency per request) "
        "| per second | requests | share of latency bound | Kring CPU ms per 1,000 |",
        "|---|---:|---:|---:|---:|",
    ]
    for figure in bench.figures:
        share = figure.bound_share
        lines.append(
            f"| {figure.name}{f' ({figure.note})' if figure.note else ''} "
            f"| {figure.per_second:,.0f} "
            f"| {figure.requests if figure.requests is not None else '-'} "
            f"| {f'{share:.0%}' if share is not None else '-'} "
            f"| {figure.cpu_seconds * 1e6 / max(figure.items, 1):,.0f} |"
        )
    lines.append(
        f"| import peak memory (tracemalloc, Python allocations) | {bench.peak_bytes / 2**20:.1f} MiB"
        " | | | |"
    )
    return "\n".join(lines)
