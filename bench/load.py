"""`make bench`, the concurrent part: Kring under gunicorn as in production, many clients at once.

An office is not one request at a time: a dozen people use the list at once, right after the data
was loaded. This part starts gunicorn (`--workers WORKERS --threads THREADS`, gthread, persistent
database connections) on a free loopback port and lets 4, then 16, clients (threads of this process,
each with its own signed-in session and keep-alive connection) request one page after another for
`seconds` seconds or `max_requests` requests, whichever comes first, after one untimed request each.
Each page is measured on its own, Kring's search beside Django admin's changelist on the same search:
requests per second, p50/p95/p99 of the latency each client saw, and errors (anything but a 200).

Nothing is analysed or vacuumed here: the database is as the load left it (`make bench` runs this
before the single-request part's VACUUM ANALYZE), so the figures are what Kring's own ANALYZE after a
seed or import gives an office.

Workers and threads for a 2-core machine: two processes keep both cores busy with Python (one GIL
each), and four threads per process let a request run while another waits for PostgreSQL, which
shares the same two cores. More processes only add context switches and memory here (measured:
README, Performance).
"""

from __future__ import annotations

import http.client
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

from practice.middleware import SESSION_STARTED_KEY

WORKERS = 2
THREADS = 4
CLIENTS = (4, 16)
SECONDS = 8.0
MAX_REQUESTS = 3_000
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Load:
    name: str
    path: str
    clients: int
    seconds: float = 0.0
    timings_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def per_second(self) -> float:
        return len(self.timings_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.timings_ms)
        if not ordered:
            return 0.0
        return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _send_get(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> None:
    """A GET on a loopback connection (with its timeout): the load generator's only request.

    Spelled out with putrequest rather than `request()`, which tests/sync/test_hostile_xml.py
    reserves for the Twinfield adapter, Kring's one outbound HTTP client."""
    connection.putrequest("GET", path, skip_host="Host" in headers)
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()


def session_cookie(user: Any) -> str:
    """A signed-in session for `user`, made as `login()` makes one: the Cookie header's value."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = user._meta.pk.value_to_string(user)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[SESSION_STARTED_KEY] = time.time()
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def hammer(
    host: str,
    port: int,
    path: str,
    cookies: list[str],
    *,
    name: str = "",
    seconds: float = SECONDS,
    max_requests: int = MAX_REQUESTS,
) -> Load:
    """`len(cookies)` clients GET `path` one request after another until time or count runs out."""
    load = Load(name=name or path, path=path, clients=len(cookies))
    lock = threading.Lock()
    sent = [0]
    start = threading.Barrier(len(cookies) + 1)
    deadline = [0.0]

    def client(cookie: str) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        headers = {"Cookie": cookie, "Accept-Language": "en", "Host": f"{host}:{port}"}

        def get() -> int:
            _send_get(connection, path, headers)
            response = connection.getresponse()
            response.read()
            return response.status

        try:
            try:
                get()  # warm: the connection, the worker's database connection, the caches
            except (OSError, http.client.HTTPException):
                connection.close()
            start.wait(timeout=120)
            while time.perf_counter() < deadline[0]:
                with lock:
                    if sent[0] >= max_requests:
                        return
                    sent[0] += 1
                began = time.perf_counter()
                try:
                    status = get()
                except (OSError, http.client.HTTPException):
                    status = 0
                    connection.close()
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    if status == 200:
                        load.timings_ms.append(elapsed)
                    else:
                        load.errors += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(cookie,), daemon=True) for cookie in cookies]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds + 3600  # set for real once every client is warm
    start.wait(timeout=120)
    began = time.perf_counter()
    deadline[0] = began + seconds
    for thread in threads:
        thread.join(timeout=seconds + 120)
    load.seconds = time.perf_counter() - began
    return load


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving Kring on a free loopback port, for as long as the `with` block runs."""

    def __init__(self, *, workers: int = WORKERS, threads: int = THREADS) -> None:
        self.workers, self.threads = workers, threads
        self.host, self.port = "127.0.0.1", _free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="kring-bench-gunicorn-", suffix=".log")  # noqa: SIM115

    def __enter__(self) -> Gunicorn:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "ALLOWED_HOSTS": self.host,
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            "CONN_MAX_AGE": "60",
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, "-m", "gunicorn", "config.wsgi"]
        command += ["--bind", f"{self.host}:{self.port}", "--workers", str(self.workers)]
        command += ["--threads", str(self.threads), "--worker-class", "gthread"]
        command += ["--keep-alive", "30", "--timeout", "120", "--log-level", "warning"]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=5)
                _send_get(connection, "/login/", {"Host": self.host})
                connection.getresponse().read()
                connection.close()
                return self
            except OSError:
                time.sleep(0.2)  # gunicorn is still starting: poll until it answers
        raise RuntimeError("gunicorn did not answer within 60 s")

    def __exit__(self, *exc_info: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def pages(relation_path: str | None, common: str, rare: str) -> list[tuple[str, str]]:
    """(name, path) of what each run requests, Kring's search and the admin's on the same words."""
    listed = [
        ("list, page 1", "/relations/"),
        (f"search, common surname ({common})", f"/relations/?q={common}&per_page=100"),
        (f"admin changelist, search {common}", f"/admin/relations/relation/?q={common}"),
        (f"search, rare word ({rare})", f"/relations/?q={rare}"),
        ("search, one letter (j)", "/relations/?q=j"),
        ("search, two letters, rare (zw)", "/relations/?q=zw"),
        ("list, my relations", "/relations/?team=mine"),
    ]
    if relation_path:
        listed.append(("detail", relation_path))
    return listed


def run(
    bench: Any,
    *,
    clients: tuple[int, ...] = CLIENTS,
    seconds: float = SECONDS,
    max_requests: int = MAX_REQUESTS,
    common: str = "jansen",
    stdout: Any = None,
    server: tuple[str, int] | None = None,
) -> list[Load]:
    """Every page at every concurrency; `server` (host, port) an already running one (tests)."""
    from relations.bulk_seed import RARE_WORD
    from relations.models import Relation

    relation = (
        Relation.objects.filter(practice=bench.practice, kind="client", archived_at__isnull=True)
        .order_by("pk")
        .first()
    )
    targets = pages(relation.get_absolute_url() if relation else None, common, RARE_WORD.lower())
    staff = [session_cookie(bench.staff) for _ in range(max(clients))]
    admin = [session_cookie(bench.admin) for _ in range(max(clients))]
    results: list[Load] = []

    def measure(host: str, port: int) -> None:
        for count in clients:
            for name, path in targets:
                cookies = (admin if path.startswith("/admin/") else staff)[:count]
                load = hammer(
                    host, port, path, cookies, name=name, seconds=seconds, max_requests=max_requests
                )
                results.append(load)
                if stdout is not None:
                    stdout.write(
                        f"  {count:>2} clients, {name}: {load.per_second:.1f}/s, "
                        f"p99 {load.percentile(0.99):.0f} ms, {load.errors} errors"
                    )

    if server is not None:
        measure(*server)
    else:
        with Gunicorn() as gunicorn:
            measure(gunicorn.host, gunicorn.port)
    return results


def table(results: list[Load], *, workers: int = WORKERS, threads: int = THREADS) -> str:
    lines = [
        f"| under load (gunicorn {workers} workers x {threads} threads) | clients | requests/s "
        "| p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for load in results:
        lines.append(
            f"| {load.name} | {load.clients} | {load.per_second:.1f} "
            f"| {load.percentile(0.5):.0f} | {load.percentile(0.95):.0f} "
            f"| {load.percentile(0.99):.0f} | {load.errors} |"
        )
    by_key = {(load.clients, load.name): load for load in results}
    ratios = []
    for load in results:
        if load.name.startswith("admin changelist, search "):
            word = load.name.removeprefix("admin changelist, search ")
            kring = by_key.get((load.clients, f"search, common surname ({word})"))
            if kring and load.per_second:
                ratios.append(
                    f"  {load.clients:>2} clients: Kring {kring.per_second / load.per_second:.1f}x "
                    f"the admin changelist's requests/s on '{word}' (p99 "
                    f"{kring.percentile(0.99):.0f} ms vs {load.percentile(0.99):.0f} ms)"
                )
    if ratios:
        lines += ["", "Kring's search / admin changelist, same search, same run:", *ratios]
    return "\n".join(lines)
