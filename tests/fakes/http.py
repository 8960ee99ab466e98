"""A small HTTP server of ours on loopback (port 0, a daemon thread) for the fakes of public
registers (tests/fakes/pdok.py, tests/fakes/vies.py), with the switches every register needs:
`fail_next(n, status, retry_after)` (429, 503, ...), `hold_next()` (the next request waits until the
test releases it or the fake stops: a slow register, without a sleep), `oversize_next(bytes)` and
`raw_next(body)` (a reply not in the register's format). `requests` counts what was asked, by path.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

MAX_REQUEST = 64 * 1024


class Reply:
    def __init__(
        self, status: int, body: bytes, content_type: str = "application/json", **headers: str
    ) -> None:
        self.status = status
        self.body = body
        self.headers = {"Content-Type": content_type, **headers}


def json_reply(status: int, data: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(data).encode(), **headers)


class FakeServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.seen: list[tuple[str, str, dict[str, list[str]], bytes]] = []
        self._next: deque[Reply] = deque()
        self._holds: deque[threading.Event] = deque()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.held = threading.Event()  # set when a held request has arrived

    # life cycle ---------------------------------------------------------------------------------

    def start(self) -> Self:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        for hold in self._holds:
            hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    # switches -----------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, retry_after: float | None = None) -> None:
        headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
        for _ in range(n):
            self._next.append(Reply(status, self.error_body(status), "application/json", **headers))

    def raw_next(
        self, body: bytes, status: int = 200, content_type: str = "application/json"
    ) -> None:
        self._next.append(Reply(status, body, content_type))

    def oversize_next(self, size: int) -> None:
        self._next.append(Reply(200, b"[" + b" " * size + b"]"))

    def hold_next(self) -> threading.Event:
        """The next request waits until the returned event is set (or the fake stops)."""
        release = threading.Event()
        self._holds.append(release)
        return release

    def error_body(self, status: int) -> bytes:
        return json.dumps({"status": status}).encode()

    # serving ------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any
    ) -> Reply:
        raise NotImplementedError

    def serve(self, method: str, target: str, body: bytes, headers: Any = None) -> Reply:
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        with self.lock:
            self.requests[split.path] += 1
            self.seen.append((method, split.path, query, body))
            hold = self._holds.popleft() if self._holds else None
            canned = self._next.popleft() if self._next else None
        if hold is not None:
            self.held.set()
            hold.wait(timeout=30)
            if self._stopping.is_set():
                return Reply(503, b"", "text/plain")
        if canned is not None:
            return canned
        return self.handle(method, split.path, query, body, headers or {})


class _Handler(BaseHTTPRequestHandler):
    fake: FakeServer
    protocol_version = "HTTP/1.1"
    timeout = 5

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake.lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        if size > MAX_REQUEST:
            self.close_connection = True
            self._send(Reply(413, b"", "text/plain"))
            return
        body = self.rfile.read(size) if size else b""
        self._send(self.fake.serve(method, self.path, body, self.headers))

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True
