"""Real processes for the integration tests: a Redis of their own (so stopping it harms no one),
Celery workers and beat started with `celery -A config`, all pointed at the test database.

Waiting is always for a condition (`wait_for`), bounded in time, never a fixed sleep.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu.pools
import pytest
from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(settings.BASE_DIR)


def wait_for(
    condition: Callable[[], object],
    *,
    timeout: float = 30,
    what: str = "condition",
    explain: Callable[[], str] | None = None,
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f": {explain()}" if explain else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=10, what="redis to answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        wait_for(lambda: not self.ping(), timeout=10, what="redis to stop")


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class CeleryProcesses:
    """Workers and beat as separate processes, the way production runs them."""

    def __init__(
        self, broker: RedisServer, *, lease_seconds: int = 3, sweep_seconds: float = 1
    ) -> None:
        self.broker = broker
        self.processes: list[subprocess.Popen] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="kring-celery-"))
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url,
            "SECRET_KEY": settings.SECRET_KEY,
            "LEDGER_CREDENTIALS_KEY": settings.LEDGER_CREDENTIALS_KEY,
            "SYNC_LEASE_SECONDS": str(lease_seconds),
            "SYNC_BACKOFF_BASE_SECONDS": "0.5",
            "SYNC_BACKOFF_CAP_SECONDS": "4",
            # The fault tests inject bursts on purpose; the budget is not what they are about.
            "SYNC_RETRY_BUDGET": "50",
            "LEDGER_SWEEP_SECONDS": str(sweep_seconds),
            "DEBUG": "false",
            "PYTHONPATH": str(ROOT),
        }

    def _start(self, *args: str, name: str) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_worker(self, name: str = "worker", *, pool: str = "solo") -> subprocess.Popen:
        """`pool="prefork"` (one child) where a test needs what only it does: time limits."""
        process = self._start(
            "worker",
            f"--pool={pool}",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{name}-{len(self.processes)}@%h",
            "--loglevel=INFO",
            name=name,
        )
        wait_for(
            lambda: b"ready" in (self.workdir / f"{name}.log").read_bytes(),
            timeout=60,
            what="the worker to be ready",
        )
        return process

    def start_beat(self) -> subprocess.Popen:
        return self._start(
            "beat",
            "--schedule",
            str(self.workdir / "beat-schedule"),
            "--max-interval",
            "1",
            "--loglevel=INFO",
            name="beat",
        )

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """As a crash would: SIGKILL, no chance to finish or acknowledge."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in self.workdir.glob("*.log")
        )


def _reset_connections() -> None:
    """Forget pooled broker connections, which point at the previous test's Redis."""
    # kombu keeps producer pools in a process-wide registry keyed by the broker URL; a later test
    # that happens to get the same port would otherwise be handed a closed pool.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_broker() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def celery_processes(redis_broker, transactional_db, monkeypatch) -> Iterator[CeleryProcesses]:
    """This process publishes to the test Redis (not eagerly) while workers run the tasks."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI exports
    # one): left in place, this process's nudges would go to that Redis, not the test's own.
    monkeypatch.setenv("CELERY_BROKER_URL", redis_broker.url)
    previous = {
        "broker_url": celery_app.conf.broker_url,
        "task_always_eager": celery_app.conf.task_always_eager,
    }
    _reset_connections()
    celery_app.conf.update(broker_url=redis_broker.url, task_always_eager=False)
    processes = CeleryProcesses(redis_broker)
    try:
        yield processes
    finally:
        processes.stop_all()
        _reset_connections()
        celery_app.conf.update(**previous)
        if os.environ.get("KRING_KEEP_CELERY_LOGS"):
            print(processes.logs())
        shutil.rmtree(processes.workdir, ignore_errors=True)
