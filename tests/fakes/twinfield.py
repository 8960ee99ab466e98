"""A fake Twinfield on loopback that speaks the protocol and checks what TWINFIELD.md §6 lists, so
that adapter tests fail where the real service would.

One real HTTP server (port 0, a daemon thread) plays both hosts: the login host
(`/auth/authentication/connect/token` and `…/accesstokenvalidation`) and the organisation's cluster,
served under `cluster_path` so that a client which ignores the discovered cluster is caught
(fault 108). The validation reply names the cluster with a trailing `/`, as Twinfield does.

Switches for tests: `latency`, `multi_read`, `fail_next()`, `fail_next_write()`,
`rate_limit_next()`, `next_raw_reply()`, `hold_next()`, `expire_tokens()`, `revoke_refresh_tokens()`,
`organisation_active`, `concurrency_limit`, and Twinfield's fair-use limits (TWINFIELD.md §4.3):
`rate_limit_every` (every Nth ledger call answered 429 with `Retry-After: rate_limit_retry_after`),
`rate_limit(n, window)` (at most n ledger calls per `window` seconds of the fake's clock, else 429
with the seconds until a call is free again), `unavailable_next()` (a burst of 503s with a
`Retry-After`); `token_ttl` (tokens of a few seconds, on the fake's clock) and `tick` (seconds of
the fake's clock each ledger call takes, so that a run outlives its tokens without waiting for
it). `advance()` moves the fake's clock: tests hand it to the adapter as its `sleep`, and time
passes for the ledger while Kring waits, none for the test.
Counters: `requests` (by operation), `writes` (successful writes per code), `created` (codes
created, in order), `faults` (by code), `soap_calls` (what each SOAP call carried; a Search its
`rows`),
`max_in_flight`. `customers` is the ledger itself, keyed on code, for inspection and seeding.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import json
import re
import secrets
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import defusedxml
import defusedxml.ElementTree as SafeET
import phonenumbers

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TWF = "http://www.twinfield.com/"
TOKEN_PATH = "/auth/authentication/connect/token"
VALIDATION_PATH = "/auth/authentication/connect/accesstokenvalidation"
SERVICES = {
    "processxml.asmx": {"ProcessXmlString", "ProcessXmlDocument"},
    "finder.asmx": {"Search"},
    "session.asmx": set(),  # session login is deprecated; the fake refuses it
}
MAX_REQUEST = 5 * 1024 * 1024
MAX_BATCH = 25
MULTI_READ = "reads"  # the root of a combined read (sync.adapters.twinfield._read_many)

READ_ONLY = {"uid", "inuse", "behaviour", "touched", "modified", "editdimensionname"}
WRITABLE = {
    "office",
    "type",
    "code",
    "name",
    "shortname",
    "website",
    "beginperiod",
    "beginyear",
    "endperiod",
    "endyear",
    "financials",
    "creditmanagement",
    "remittanceadvice",
    "addresses",
    "banks",
    "invoicing",
    "groups",
    "vatnumber",  # obsolete, accepted and ignored
    "cocnumber",
}
ADDRESS_TYPES = {"invoice", "postal", "contact"}
ADDRESS_FIELDS = [
    "name",
    "country",
    "city",
    "postcode",
    "telephone",
    "telefax",
    "email",
    "contact",
    "field1",
    "field2",
    "field3",
    "field4",
    "field5",
    "field6",
]
BANK_FIELDS = [
    "ascription",
    "accountnumber",
    "bankname",
    "biccode",
    "city",
    "country",
    "iban",
    "natbiccode",
    "postcode",
    "state",
]
FINANCIALS_READ_ONLY = {"level", "matchtype", "childvalidations"}
FINANCIALS_BOOLEANS = {"payavailable", "ebilling"}
FINDER_OPTIONS = {
    "dimtype",
    "office",
    "level",
    "section",
    "modifiedsince",
    "group",
    "matchtype",
    "includehidden",
}
COUNTRIES = {r for r in phonenumbers.SUPPORTED_REGIONS if len(r) == 2 and r.isalpha()}
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24,
}  # fmt: skip
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _mod97(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: the country's length and the mod-97 check digits."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]+", compact):
        return False
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    return _mod97(compact[4:] + compact[:4]) == 1


def make_iban(account: int, *, bank: str = "ABNA") -> str:
    """A Dutch IBAN with correct check digits (schwifty accepts these banks too)."""
    bban = f"{bank}{account:010d}"
    return f"NL{98 - _mod97(bban + 'NL00'):02d}{bban}"


def _mask_positions(mask: str) -> list[str] | None:
    """The characters each position of a code mask allows; None when the mask cannot allocate."""
    positions, i = [], 0
    while i < len(mask):
        ch = mask[i]
        if ch == "*":
            return None
        if ch == "#":
            positions.append("0123456789")
        elif ch == "[":
            end = mask.index("]", i)
            allowed: list[str] = []
            for lo, _, hi in re.findall(r"(.)(-(.))?", mask[i + 1 : end]):
                allowed.extend(chr(c) for c in range(ord(lo), ord(hi or lo) + 1))
            positions.append("".join(sorted(set(allowed))))
            i = end
        else:
            positions.append(ch)
        i += 1
    return positions


def _mask_regex(mask: str) -> re.Pattern[str]:
    parts, i = [], 0
    while i < len(mask):
        ch = mask[i]
        if ch == "*":
            parts.append(".*")
        elif ch == "#":
            parts.append("[0-9]")
        elif ch == "[":
            end = mask.index("]", i)
            parts.append(mask[i : end + 1])
            i = end
        else:
            parts.append(re.escape(ch))
        i += 1
    return re.compile("".join(parts))


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
        re.IGNORECASE | re.DOTALL,
    )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: object) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _twf_text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = element.find(f"{{{TWF}}}{name}")
    return None if found is None else (found.text or "")


class _Reply:
    def __init__(
        self,
        status: int,
        body: bytes | Iterable[bytes] = b"",
        content_type: str = "text/xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = {"Content-Type": content_type, **(headers or {})}


def _json(status: int, data: dict[str, Any]) -> _Reply:
    return _Reply(status, json.dumps(data).encode(), "application/json; charset=utf-8")


def _envelope(body_child: ET.Element) -> bytes:
    envelope = ET.Element(
        "soap:Envelope",
        {"xmlns:soap": SOAP11, "xmlns:xsi": XSI, "xmlns:xsd": "http://www.w3.org/2001/XMLSchema"},
    )
    _sub(envelope, "soap:Body").append(body_child)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def _fault(status: int, code: str, message: str, source: str = "ProcessXmlString") -> _Reply:
    fault = ET.Element("soap:Fault")
    _sub(fault, "faultcode", "soap:Client" if status < 500 or code == "101" else "soap:Server")
    _sub(fault, "faultstring", message)
    detail = _sub(fault, "detail")
    if code:
        _sub(detail, "message", message)
        _sub(detail, "code", code)
        _sub(detail, "source", source)
    return _Reply(status, _envelope(fault))


_Error = Callable[[ET.Element | None, str], None]
_Boolean = Callable[[ET.Element, str | None], bool]


class Hold:
    """A ledger call parked until the test releases it (`FakeTwinfield.hold_next`)."""

    def __init__(self, *, after_write: bool) -> None:
        self.after_write = after_write
        self.reached = threading.Event()  # a call is parked here now
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def park(self, stopping: threading.Event) -> None:
        self.reached.set()
        while not self._released.wait(0.05):
            if stopping.is_set():  # a stopped fake leaves no thread behind
                return


class FakeTwinfield:
    def __init__(
        self,
        *,
        office_code: str = "NLA000123",
        office_name: str = "Voorbeeld BV",
        client_id: str = "kring-test-client",
        client_secret: str = "fake-client-secret-3c1e",  # noqa: S107
        refresh_token: str = "fake-refresh-token-9b2d",  # noqa: S107
        token_ttl: int = 3600,
        code_mask: str = "1[0-9][0-9][0-9]",
        cluster_path: str = "/cluster1",
        rotate_refresh_tokens: bool = False,
    ) -> None:
        self.office_code = office_code
        self.offices = {office_code: office_name}  # offices the token may use
        self.inaccessible_offices: dict[str, str] = {}  # offices that exist, without access
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.refresh_tokens = {refresh_token}
        self.auth_codes: set[str] = set()
        self.token_ttl = token_ttl
        self.code_mask = code_mask
        self.cluster_path = cluster_path.rstrip("/")
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.organisation_active = True
        self.organisation_id = str(uuid.uuid4())
        self.latency = 0.0
        self.concurrency_limit: int | None = None
        # False plays a Twinfield that refuses combined reads, as an unknown request.
        self.multi_read = True
        self.clock_ahead = timedelta(0)  # see advance()
        self.tick = 0.0  # seconds of the fake's clock each ledger call takes
        self.rate_limit_every: int | None = None
        self.rate_limit_retry_after: float = 1
        self._window_limit: tuple[int, float] | None = None
        self._window_calls: deque[float] = deque()

        self.customers: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, float] = {}  # token → expiry (time.time())
        self.issued_tokens: list[str] = []
        self.requests: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.created: list[str] = []
        self.faults: Counter[str] = Counter()
        self.soap_calls: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0

        self.lock = threading.RLock()
        self._failures: deque[Any] = deque()
        self._write_failures: deque[int] = deque()
        self._rate_limits: deque[float] = deque()
        self._raw_replies: deque[_Reply] = deque()
        self._holds: list[Hold] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Life cycle -----------------------------------------------------------------------------

    def start(self) -> FakeTwinfield:
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
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:  # keep-alive connections too: a stopped Twinfield answers nothing
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> FakeTwinfield:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def cluster_url(self) -> str:
        return self.url + self.cluster_path

    # Switches -------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        """The next n ledger (SOAP) calls fail with this HTTP status (500 carries fault 100)."""
        with self.lock:
            self._failures.extend([status] * n)

    def fail_next_write(self, n: int = 1) -> None:
        """The next n writes (reads still answer) fail with fault 100, HTTP 500, unprocessed."""
        with self.lock:
            self._write_failures.extend([500] * n)

    def rate_limit_next(self, n: int = 1, retry_after: float = 1) -> None:
        with self.lock:
            self._rate_limits.extend([retry_after] * n)

    def rate_limit(self, n: int, window: float) -> None:
        """At most n ledger calls per `window` seconds (the fake's clock); a call over it gets a
        429 whose `Retry-After` is the time until the oldest call in the window leaves it."""
        with self.lock:
            self._window_limit = (n, window)
            self._window_calls.clear()

    def unavailable_next(self, n: int = 1, retry_after: float | None = None) -> None:
        """A burst: the next n ledger calls get HTTP 503, with `Retry-After` when given."""
        with self.lock:
            self._failures.extend([(503, retry_after)] * n)

    def next_raw_reply(
        self,
        body: bytes | str | Iterable[bytes],
        status: int = 200,
        *,
        content_type: str = "text/xml; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ledger call gets exactly this reply. An iterable of chunks is streamed without
        a Content-Length (the connection closes at its end)."""
        if isinstance(body, str):
            body = body.encode()
        with self.lock:
            self._raw_replies.append(_Reply(status, body, content_type, headers))

    def hold_next(self, *, after_write: bool = False) -> Hold:
        """Park the next ledger (SOAP) call until `release()`: before the ledger looks at it, or,
        with `after_write`, the next call that stores a debtor, after storing it and before the reply
        goes out (the ledger has the write; the caller does not know yet)."""
        hold = Hold(after_write=after_write)
        with self.lock:
            self._holds.append(hold)
        return hold

    def _take_hold(self, *, after_write: bool) -> Hold | None:
        with self.lock:
            for hold in self._holds:
                if hold.after_write == after_write:
                    self._holds.remove(hold)
                    return hold
        return None

    def _held_call(self, service: str, headers: Any, body: bytes) -> _Reply:
        if hold := self._take_hold(after_write=False):
            hold.park(self._stopping)
        with self.lock:
            writes = sum(self.writes.values())
        reply = self._ledger_call(service, headers, body)
        with self.lock:
            wrote = sum(self.writes.values()) > writes
        if wrote and (hold := self._take_hold(after_write=True)):
            hold.park(self._stopping)
        return reply

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.access_tokens:
                self.access_tokens[token] = 0.0

    def clock(self) -> float:
        """The fake's clock as seconds since the epoch (tokens expire in it)."""
        return time.time() + self.clock_ahead.total_seconds()

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh_tokens.clear()

    def seed_customers(self, n: int) -> list[str]:
        """n debtors with invoice, postal and visiting addresses and a valid IBAN each, last
        modified over the two years before yesterday, as an office's debtors are."""
        codes = []
        now = self.now()
        with self.lock:
            free = self._free_codes()  # one pass over the mask, not one per debtor
            for i in range(n):
                code = next(free, None)
                assert code is not None, f"the mask {self.code_mask} cannot allocate"
                name = f"Klant {code} B.V."
                addresses = [
                    self._address(1, "invoice", True, name, f"Factuurstraat {i + 1}", "3511 AB",
                                  "Utrecht", email=f"info{code}@example.nl",
                                  vat=f"NL{100000000 + i:09d}B01", kvk=f"{30000000 + i}"),
                    self._address(2, "postal", False, name, f"Postbus {i + 100}", "3500 AA",
                                  "Utrecht"),
                    self._address(3, "contact", False, name, f"Bezoekweg {i + 1}", "3512 CD",
                                  "Utrecht"),
                ]  # fmt: skip
                bank: dict[str, Any] = dict.fromkeys(BANK_FIELDS, "")
                bank.update(id=1, default=True, ascription=name[:40], iban=make_iban(i + 1),
                            biccode="ABNANL2A", bankname="ABN AMRO", country="NL")  # fmt: skip
                self._store(code, name=name, addresses=addresses, banks=[bank])
                stamp = now - timedelta(days=2 + i % 730, minutes=i % 1440)
                self.customers[code]["modified"] = stamp.strftime("%Y%m%d%H%M%S")
                codes.append(code)
        return codes

    def now(self) -> datetime:
        """The fake's clock, in which it stamps `modified` (local time, to the second)."""
        return datetime.now() + self.clock_ahead

    def advance(self, seconds: float) -> None:
        """Time passes for the ledger (a test cannot wait for the next second)."""
        with self.lock:
            self.clock_ahead += timedelta(seconds=seconds)

    def change(self, code: str, **fields: Any) -> dict[str, Any]:
        """Someone edits the debtor in Twinfield: as a write does, it bumps `touched` and
        `modified` (a test must change the fake this way, or the change feed cannot see it)."""
        with self.lock:
            record = {k: v for k, v in self.customers[code].items() if k != "code"}
            return self._store(code, **{**record, **fields})

    def change_address(self, code: str, address_id: int, **fields: Any) -> dict[str, Any]:
        """A bookkeeper edits one address of a debtor in Twinfield (a telephone number, an e-mail
        address): fields Kring may not own, which Twinfield keeps until a write replaces them."""
        with self.lock:
            addresses = [dict(a) for a in self.customers[code]["addresses"]]
            for address in addresses:
                if address["id"] == address_id:
                    address.update(fields)
            return self.change(code, addresses=addresses)

    # Helpers on the ledger --------------------------------------------------------------------

    @staticmethod
    def _address(
        id_: int,
        type_: str,
        default: bool,
        name: str,
        line: str,
        postcode: str,
        city: str,
        *,
        email: str = "",
        vat: str = "",
        kvk: str = "",
        country: str = "NL",
    ) -> dict[str, Any]:
        address: dict[str, Any] = dict.fromkeys(ADDRESS_FIELDS, "")
        address.update(id=id_, type=type_, default=default, name=name, country=country, city=city,
                       postcode=postcode, email=email, field2=line, field4=vat, field5=kvk)  # fmt: skip
        return address

    def _store(self, code: str, **record: Any) -> dict[str, Any]:
        existing = self.customers.get(code)
        stored = {
            "code": code,
            "name": "",
            "shortname": "",
            "website": "",
            "status": "active",
            "inuse": False,
            "financials": {},
            "addresses": [],
            "banks": [],
            **record,
            "uid": existing["uid"] if existing else str(uuid.uuid4()),
            "touched": existing["touched"] + 1 if existing else 0,
            "modified": self.now().strftime("%Y%m%d%H%M%S"),
        }
        if existing:
            stored["inuse"] = existing["inuse"]
        else:
            self.created.append(code)
        self.customers[code] = stored
        return stored

    def _allocate_code(self) -> str | None:
        return next(self._free_codes(), None)

    def _free_codes(self) -> Iterator[str]:
        """The codes the mask allows that are not taken, lowest first."""
        positions = _mask_positions(self.code_mask)
        for chars in itertools.product(*positions) if positions is not None else ():
            code = "".join(chars)
            if code not in self.customers:
                yield code

    def _token_is_valid(self, token: str) -> bool:
        return self.access_tokens.get(token, 0.0) > self.clock()

    # HTTP routing ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> _Reply:
        path, _, query = path.partition("?")
        if path == TOKEN_PATH:
            if method != "POST":
                return _Reply(405, b"", "text/plain")
            return self._token(headers, body)
        if path == VALIDATION_PATH:
            if method != "GET":
                return _Reply(405, b"", "text/plain")
            return self._validate(headers, query)
        service = None
        if path.startswith(self.cluster_path + "/webservices/"):
            service = path.removeprefix(self.cluster_path + "/webservices/")
        elif path.startswith("/webservices/"):
            self.faults["108"] += 1  # a host that is not the organisation's cluster
            return _fault(500, "108", "Cluster is invalid.")
        if service not in SERVICES:
            return _Reply(404, b"Not Found", "text/plain")
        if method != "POST":
            return _Reply(405, b"", "text/plain")
        return self._held_call(service, headers, body)

    def _ledger_call(self, service: str, headers: Any, body: bytes) -> _Reply:
        with self.lock:
            self.requests["soap"] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            over_limit = (
                self.concurrency_limit is not None and self.in_flight > self.concurrency_limit
            )
        # `latency`: the reply leaves that long after the request arrived, the fake's own work
        # included, as a distant Twinfield's would (its processing is part of what it costs).
        arrived = time.monotonic()
        try:
            reply = self._answer(service, headers, body, over_limit)
            if self.latency:
                self._stopping.wait(max(0.0, arrived + self.latency - time.monotonic()))
            return reply
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, service: str, headers: Any, body: bytes, over_limit: bool) -> _Reply:
        with self.lock:
            if self.tick:
                self.clock_ahead += timedelta(seconds=self.tick)
            if over_limit:
                return self._too_many(1)
            if self._raw_replies:
                return self._raw_replies.popleft()
            if self._failures:
                failure: Any = self._failures.popleft()
                status, retry_after = failure if isinstance(failure, tuple) else (failure, None)
                if status == 500:
                    self.faults["100"] += 1
                    return _fault(500, "100", "An unexpected exception occurred.")
                self.requests[str(status)] += 1
                extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
                return _Reply(status, b"<html><body>Service Unavailable</body></html>",
                              "text/html", extra)  # fmt: skip
            if self._rate_limits:
                return self._too_many(self._rate_limits.popleft())
            self.requests["counted"] += 1  # calls that reached the limits below
            if self.rate_limit_every and self.requests["counted"] % self.rate_limit_every == 0:
                return self._too_many(self.rate_limit_retry_after)
            if self._window_limit is not None:
                limit, window = self._window_limit
                now = self.clock()
                while self._window_calls and self._window_calls[0] <= now - window:
                    self._window_calls.popleft()
                if len(self._window_calls) >= limit:
                    return self._too_many(max(0.0, self._window_calls[0] + window - now))
                self._window_calls.append(now)
            return self._soap(service, headers, body)

    def _too_many(self, retry_after: float) -> _Reply:
        self.requests["429"] += 1
        return _Reply(
            429,
            b"Too Many Requests",
            "text/plain",
            {
                "Retry-After": f"{retry_after:g}",
                "X-RateLimit-Limit": "25",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Credited": "3",
            },
        )

    # OAuth2 ---------------------------------------------------------------------------------

    def _client_ok(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(client_id, self.client_id) and secrets.compare_digest(
            secret, self.client_secret
        )

    def _token(self, headers: Any, body: bytes) -> _Reply:
        with self.lock:
            self.requests["token"] += 1
            if not self._client_ok(headers.get("Authorization", "")):
                return _json(401, {"error": "invalid_client"})
            if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                return _json(400, {"error": "invalid_request"})
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            if any(len(values) > 1 for values in form.values()):
                return _json(400, {"error": "invalid_request"})
            grant = form.get("grant_type", [""])[0]
            if grant == "refresh_token":
                refresh_token = form.get("refresh_token", [""])[0]
                if refresh_token not in self.refresh_tokens:
                    return _json(400, {"error": "invalid_grant"})
            elif grant == "authorization_code":
                code = form.get("code", [""])[0]
                if code not in self.auth_codes or not form.get("redirect_uri"):
                    return _json(400, {"error": "invalid_grant"})
                self.auth_codes.discard(code)
                refresh_token = secrets.token_urlsafe(24)
                self.refresh_tokens.add(refresh_token)
            else:
                return _json(400, {"error": "unsupported_grant_type"})
            if self.rotate_refresh_tokens:
                self.refresh_tokens.discard(refresh_token)
                refresh_token = secrets.token_urlsafe(24)
                self.refresh_tokens.add(refresh_token)
                self.refresh_token = refresh_token
            access_token = "fake-access-" + secrets.token_urlsafe(24)
            self.access_tokens[access_token] = self.clock() + self.token_ttl
            self.issued_tokens.append(access_token)
            return _json(
                200,
                {
                    "access_token": access_token,
                    "expires_in": self.token_ttl,
                    "token_type": "Bearer",
                    "refresh_token": refresh_token,
                    "scope": "openid twf.user twf.organisation twf.organisationUser offline_access",
                },
            )

    def _validate(self, headers: Any, query: str) -> _Reply:
        with self.lock:
            self.requests["validate"] += 1
            authorization = headers.get("Authorization")
            if authorization is not None and not self._client_ok(authorization):
                return _json(401, {"error": "invalid_client"})
            token = parse_qs(query).get("token", [""])[0]
            if not self._token_is_valid(token):
                return _json(400, {"Message": "The access token is invalid or has expired."})
            now = int(self.clock())
            return _json(
                200,
                {
                    "exp": int(self.access_tokens[token]),
                    "nbf": now,
                    "client_id": self.client_id,
                    "scope": ["openid", "twf.organisation", "twf.organisationUser"],
                    "sub": "fake-user",
                    "twf.organisationUserCode": "KRING",
                    "twf.organisationCode": "FAKEORG",
                    "twf.organisationId": self.organisation_id,
                    "twf.clusterUrl": self.cluster_url + "/",  # clients must strip the slash
                },
            )

    # SOAP -----------------------------------------------------------------------------------

    def _soap(self, service: str, headers: Any, body: bytes) -> _Reply:
        content_type = headers.get("Content-Type", "")
        action = headers.get("SOAPAction")
        if content_type.startswith("text/xml"):
            envelope_ns = SOAP11
        elif content_type.startswith("application/soap+xml"):
            envelope_ns = SOAP12
            found = re.search(r'action="?([^";]+)"?', content_type)
            action = found.group(1) if found else None
        else:
            return _Reply(415, b"Unsupported Media Type", "text/plain")
        try:
            envelope = SafeET.fromstring(body, forbid_dtd=True)
        except (ET.ParseError, defusedxml.DefusedXmlException):
            return _Reply(400, b"Bad Request", "text/plain")
        soap_body = envelope.find(f"{{{envelope_ns}}}Body")
        if envelope.tag != f"{{{envelope_ns}}}Envelope" or soap_body is None or len(soap_body) != 1:
            return _Reply(400, b"Bad Request", "text/plain")
        operation_element = soap_body[0]
        operation = _local(operation_element.tag)
        if _ns(operation_element.tag) != TWF:
            return _fault(500, "", f"Server did not recognize the body element {operation}.")
        if action is not None and action.strip().strip('"') != TWF + operation:
            return _fault(500, "", f"Server did not recognize the value of SOAPAction: {action}.")
        if operation not in SERVICES[service]:
            return _fault(500, "", f"Server did not recognize the operation {operation}.")

        header = None
        soap_header = envelope.find(f"{{{envelope_ns}}}Header")
        if soap_header is not None:
            header = soap_header.find(f"{{{TWF}}}Header")
        token = (_twf_text(header, "AccessToken") or "").strip()
        company = (_twf_text(header, "CompanyCode") or "").strip()
        company_id = header.find(f"{{{TWF}}}CompanyId") if header is not None else None
        if company_id is not None and company_id.get(f"{{{XSI}}}nil") != "true":
            company = company or (company_id.text or "").strip()
        call: dict[str, Any] = {
            "operation": operation,
            "soap_action": action,
            "content_type": content_type,
            "token": token,
            "company": company,
            "payload": None,
        }
        self.soap_calls.append(call)
        if not token:
            self.faults["101"] += 1
            return _fault(
                500, "101", "Access token and company, or session id, missing.", operation
            )
        if not self._token_is_valid(token):
            self.faults["354"] += 1
            return _fault(401, "354", "Access denied. Token invalid.", operation)
        if not self.organisation_active:
            self.faults["106"] += 1
            return _fault(403, "106", "The organisation is no longer active.", operation)

        if operation == "Search":
            self.requests["search"] += 1
            call["rows"] = (_twf_text(operation_element, "maxRows") or "").strip()
            if not company:
                self.faults["101"] += 1
                return _fault(500, "101", "Toegang geweigerd. Company ontbreekt in request header.")
            return _Reply(200, _envelope(self._search(operation_element, company)))

        request = operation_element.find(f"{{{TWF}}}xmlRequest")
        if request is None:
            return _Reply(400, b"Bad Request", "text/plain")
        if operation == "ProcessXmlString":
            if len(request):
                return _Reply(400, b"Bad Request", "text/plain")  # literal XML, not a string
            call["payload"] = request.text or ""
            try:
                payload = SafeET.fromstring(request.text or "", forbid_dtd=True)
            except (ET.ParseError, defusedxml.DefusedXmlException):
                self.faults["187"] += 1
                return _fault(500, "187", "Invalid XML data.", operation)
        else:
            if len(request) != 1 or _ns(request[0].tag):
                self.faults["187"] += 1
                return _fault(500, "187", "The payload must be one element in no namespace.")
            payload = request[0]
            call["payload"] = ET.tostring(payload, encoding="unicode")

        is_office_list = payload.tag == "list" and payload.findtext("type") == "offices"
        if not company and not is_office_list:
            self.faults["101"] += 1
            return _fault(500, "101", "Toegang geweigerd. Company ontbreekt in request header.")
        self.requests[payload.tag] += 1
        if payload.tag in ("dimension", "dimensions") and self._write_failures:
            self._write_failures.popleft()
            self.faults["100"] += 1
            return _fault(500, "100", "An unexpected exception occurred.", operation)
        result = self._process(payload, company)
        response = ET.Element(f"{operation}Response", xmlns=TWF)
        if operation == "ProcessXmlString":
            _sub(response, f"{operation}Result", ET.tostring(result, encoding="unicode"))
        else:
            _sub(response, f"{operation}Result").append(result)
        return _Reply(200, _envelope(response))

    def _office_error(self, office: str) -> str | None:
        if office in self.offices:
            return None
        if office in self.inaccessible_offices:
            return "U hebt geen toegang tot deze administratie."
        return "De administratie bestaat niet."

    @staticmethod
    def _fail(element: ET.Element, message: str) -> ET.Element:
        element.set("result", "0")
        element.set("msgtype", "error")
        previous = element.get("msg")
        element.set("msg", f"{previous}//{message}" if previous else message)
        return element

    # ProcessXml -----------------------------------------------------------------------------

    def _process(self, payload: ET.Element, company: str) -> ET.Element:
        if payload.tag == "list" and payload.findtext("type") == "offices":
            offices = ET.Element("offices", result="1")
            for code, name in self.offices.items():
                _sub(offices, "office", code, name=name, shortname=name[:20])
            return offices
        if company and (message := self._office_error(company)):
            # The root of the reply carries the error: <dimension> for a read, else the request's.
            return self._fail(
                ET.Element("dimension" if payload.tag == "read" else payload.tag), message
            )
        if payload.tag == "read":
            return self._read(payload, company)
        if payload.tag == MULTI_READ and self.multi_read:
            # Several reads in one document: each answered as alone, in order (a query costs one
            # request however many reads it holds; the fair-use limit of 25 children applies).
            return self._each(
                payload, "read", lambda item: self._read(item, company), "verzoeken per bericht"
            )
        if payload.tag == "list":
            return self._list(payload, company)
        if payload.tag == "dimension":
            return self._write(payload, company)
        if payload.tag == "dimensions":
            return self._each(
                payload,
                "dimension",
                lambda item: self._write(item, company),
                "dimensies per verzoek",
            )
        return self._fail(payload, f"Onbekend verzoek '{payload.tag}'.")

    def _each(
        self,
        payload: ET.Element,
        child: str,
        answer: Callable[[ET.Element], ET.Element],
        what: str,
    ) -> ET.Element:
        """A document of several `child` items (at most 25): each answered as alone, in order,
        under a root like the request's that fails when any item failed."""
        items = list(payload)
        if len(items) > MAX_BATCH:
            return self._fail(payload, f"Er mogen maximaal {MAX_BATCH} {what} worden verwerkt.")
        reply = ET.Element(payload.tag)
        for item in items:
            if item.tag != child:
                reply.append(self._fail(item, f"Het element '{item.tag}' is onbekend."))
            else:
                reply.append(answer(item))
        failed = any(item.get("result") == "0" for item in reply)
        reply.set("result", "0" if failed else "1")
        return reply

    def _read(self, payload: ET.Element, company: str) -> ET.Element:
        office = (payload.findtext("office") or company).strip()
        code = (payload.findtext("code") or "").strip()
        reply = ET.Element("dimension")
        if payload.findtext("type") != "dimensions":
            return self._fail(reply, f"Onbekend type '{payload.findtext('type')}'.")
        if message := self._office_error(office):
            return self._fail(reply, message)
        _sub(reply, "office", office, name=self.offices[office], shortname=self.offices[office])
        dimtype = (payload.findtext("dimtype") or "").strip()
        type_element = _sub(reply, "type", dimtype, name="Debiteuren", shortname="Debiteuren")
        if dimtype != "DEB":
            self._fail(type_element, f"Dimensietype {dimtype} bestaat niet.")
            reply.set("result", "0")
            return reply
        record = self.customers.get(code)
        if record is None:
            self._fail(_sub(reply, "code", code), f"Dimensie {code} bestaat niet.")
            reply.set("result", "0")
            return reply
        return self._record_element(record)

    def _list(self, payload: ET.Element, company: str) -> ET.Element:
        office = (payload.findtext("office") or company).strip()
        if message := self._office_error(office):
            return self._fail(payload, message)
        dimtype = (payload.findtext("dimtype") or "").strip()
        reply = ET.Element("dimensions", office=office, type=dimtype, result="1")
        if dimtype == "DEB":
            for code in sorted(self.customers):
                record = self.customers[code]
                if record["status"] == "active":
                    _sub(
                        reply, "dimension", code, name=record["name"], shortname=record["shortname"]
                    )
        _sub(reply, "dimension", dimtype, name="", shortname="")  # the type marker
        return reply

    def _record_element(self, record: dict[str, Any]) -> ET.Element:
        """A customer as Twinfield echoes and reads it: with read-only fields and decorations."""
        status = "hide" if record["status"] == "hide" else "active"
        dimension = ET.Element("dimension", status=status, result="1")
        name = self.offices[self.office_code]
        _sub(dimension, "office", self.office_code, name=name, shortname=name)
        _sub(dimension, "type", "DEB", name="Debiteuren", shortname="Debiteuren")
        _sub(dimension, "code", record["code"])
        _sub(dimension, "uid", record["uid"])
        _sub(dimension, "name", record["name"])
        _sub(dimension, "shortname", record["shortname"])
        _sub(dimension, "inuse", "true" if record["inuse"] else "false")
        _sub(dimension, "behaviour", "normal")
        _sub(dimension, "touched", str(record["touched"]))
        _sub(dimension, "beginperiod", "0")
        _sub(dimension, "beginyear", "0")
        _sub(dimension, "endperiod", "0")
        _sub(dimension, "endyear", "0")
        _sub(dimension, "website", record["website"])
        _sub(dimension, "modified", record["modified"])
        financials = _sub(dimension, "financials")
        _sub(financials, "matchtype", "customersupplier")
        _sub(financials, "level", "2")
        for key, value in record["financials"].items():
            _sub(financials, key, value)
        _sub(financials, "substitutewith", "1300", name="Debiteuren", shortname="",
             dimensiontype="BAS")  # fmt: skip
        credit = _sub(dimension, "creditmanagement")
        for _ in range(2):  # real replies duplicate these; clients must take the first
            _sub(credit, "responsibleuser")
            _sub(credit, "basecreditlimit", "0.00")
        addresses = _sub(dimension, "addresses")
        for address in record["addresses"]:
            element = _sub(addresses, "address", id=str(address["id"]), type=address["type"],
                           default="true" if address["default"] else "false")  # fmt: skip
            for field in ADDRESS_FIELDS:
                if field == "country":
                    _sub(element, "country", address["country"], name="Nederland",
                         shortname="Nederland")  # fmt: skip
                    _sub(element, "ictcountrycode", address["country"])
                else:
                    _sub(element, field, address[field])
        banks = _sub(dimension, "banks")
        for bank in record["banks"]:
            element = _sub(banks, "bank", id=str(bank["id"]),
                           default="true" if bank["default"] else "false", destination="1")  # fmt: skip
            for field in BANK_FIELDS:
                _sub(element, field, bank[field])
            address = _sub(element, "address")
            _sub(address, "field2")
            _sub(address, "field3")
        return dimension

    # Dimension writes -----------------------------------------------------------------------

    def _write(self, item: ET.Element, company: str) -> ET.Element:
        """Validate and upsert one `<dimension>`. On failure the request element comes back with
        `result="0"` and `msgtype`/`msg` on each offending element."""
        errors: list[tuple[ET.Element, str]] = []

        def error(element: ET.Element | None, message: str) -> None:
            errors.append((element if element is not None else item, message))

        def boolean(element: ET.Element, value: str | None) -> bool:
            if value not in ("true", "false"):
                error(element, f"'{value}' is geen geldige booleaanse waarde (true/false).")
            return value == "true"

        status = item.get("status", "active")
        if status not in ("active", "deleted"):
            error(item, f"Status '{status}' is ongeldig.")
        seen_tags: set[str] = set()
        for child in item:
            if child.tag in READ_ONLY:
                error(child, f"Het element '{child.tag}' mag niet worden aangeleverd.")
            elif child.tag not in WRITABLE:
                error(child, f"Het element '{child.tag}' is onbekend.")
            elif child.tag in seen_tags:
                error(child, f"Het element '{child.tag}' komt meer dan eens voor.")
            seen_tags.add(child.tag)

        office_element = item.find("office")
        office = (office_element.text or "").strip() if office_element is not None else company
        if message := self._office_error(office):
            error(office_element if office_element is not None else item, message)

        type_element = item.find("type")
        if type_element is None:
            error(item, "Dimensietype moet worden ingevuld.")
        elif (type_element.text or "").strip() != "DEB":
            error(type_element, f"Dimensietype {type_element.text} is hier niet toegestaan.")

        code_element = item.find("code")
        code: str | None = None
        if code_element is not None:
            code = (code_element.text or "").strip()
            if not code:
                error(code_element, "Code moet worden ingevuld.")
            elif not _mask_regex(self.code_mask).fullmatch(code):
                error(code_element, f"De code voldoet niet aan het formaat {self.code_mask}.")

        name_element = item.find("name")
        name = (name_element.text or "").strip() if name_element is not None else ""
        if not name:
            error(name_element if name_element is not None else item, "Naam moet worden ingevuld.")
        elif len(name) > 80:
            error(name_element, "Naam mag maximaal 80 tekens bevatten.")
        shortname = (item.findtext("shortname") or "").strip()
        if len(shortname) > 20:
            error(item.find("shortname"), "Zoeknaam mag maximaal 20 tekens bevatten.")

        financials: dict[str, str] = {}
        financials_element = item.find("financials")
        if financials_element is not None:
            for child in financials_element:
                text = (child.text or "").strip()
                if child.tag in FINANCIALS_READ_ONLY:
                    error(child, f"Het element '{child.tag}' mag niet worden aangeleverd.")
                elif child.tag in FINANCIALS_BOOLEANS:
                    boolean(child, text)
                elif child.tag == "duedays" and not text.isdigit():
                    error(child, "Betalingstermijn moet een getal zijn.")
                elif child.tag == "collectmandate":
                    for date_tag in ("signaturedate", "firstrundate"):
                        value = child.findtext(date_tag)
                        if value:
                            try:
                                datetime.strptime(value, "%Y%m%d")
                            except ValueError:
                                error(child.find(date_tag), f"Datum '{value}' is ongeldig.")
                    continue
                financials[child.tag] = text
            if financials.get("ebilling") == "true" and not financials.get("ebillmail"):
                error(
                    financials_element,
                    "Als Elektronisch factureren is ingeschakeld, mag het e-mailadres niet leeg zijn.",
                )

        addresses = self._addresses(item.find("addresses"), name, error, boolean)
        banks = self._banks(item.find("banks"), error, boolean)

        if not errors and status == "active" and code is None:
            code = self._allocate_code()
            if code is None:
                error(
                    item,
                    "Het is niet gelukt de eerste vrije code aan te maken die voldoet aan het "
                    f"formaat '{self.code_mask}'.",
                )
        existing = self.customers.get(code or "")
        if not errors and status == "deleted" and existing is None:
            error(
                code_element if code_element is not None else item, f"Dimensie {code} bestaat niet."
            )

        if errors:
            parents = {child: parent for parent in item.iter() for child in parent}
            for element, message in errors:
                self._fail(element, message)
                while element in parents:
                    element = parents[element]
                    element.set("result", "0")
            item.set("result", "0")
            return item

        assert code is not None
        self.writes[code] += 1
        if status == "deleted":
            assert existing is not None
            if existing["inuse"]:
                existing["status"] = "hide"
                return self._record_element(existing)
            del self.customers[code]
            reply = ET.Element("dimension", status="deleted", result="1")
            _sub(reply, "code", code)
            return reply
        if addresses is None:  # no <addresses> at all: an update keeps what is there
            addresses = existing["addresses"] if existing else []
        if not addresses:  # Twinfield always keeps one address
            addresses = [self._address(1, "invoice", True, name, "", "", "")]
        if banks is None:
            banks = existing["banks"] if existing else []
        record = self._store(
            code,
            name=name,
            shortname=shortname,
            website=(item.findtext("website") or "").strip(),
            financials=financials,
            addresses=addresses,
            banks=banks,
            status="active",
        )
        return self._record_element(record)

    def _addresses(
        self, element: ET.Element | None, name: str, error: _Error, boolean: _Boolean
    ) -> list[dict[str, Any]] | None:
        if element is None:
            return None
        addresses: list[dict[str, Any]] = []
        ids: set[int] = set()
        for child in element:
            if child.tag != "address":
                error(child, f"Het element '{child.tag}' is onbekend.")
                continue
            raw_id = child.get("id")
            if raw_id is None:
                address_id = max(ids, default=0) + 1
            elif not raw_id.isdigit() or int(raw_id) < 1 or int(raw_id) in ids:
                error(child, f"Adres-id '{raw_id}' is ongeldig.")
                continue
            else:
                address_id = int(raw_id)
            ids.add(address_id)
            address_type = child.get("type")
            if address_type not in ADDRESS_TYPES:
                error(child, f"Adrestype '{address_type}' is ongeldig.")
            default = boolean(child, child.get("default", "false"))
            address: dict[str, Any] = dict.fromkeys(ADDRESS_FIELDS, "")
            for field in child:
                if field.tag not in ADDRESS_FIELDS:
                    error(field, f"Het element '{field.tag}' is onbekend.")
                    continue
                address[field.tag] = (field.text or "").strip()
            address["country"] = address["country"].upper() or "NL"
            if address["country"] not in COUNTRIES:
                error(child.find("country"), f"Land '{address['country']}' bestaat niet.")
            if address["email"] and not EMAIL.match(address["email"]):
                error(child.find("email"), "E-mailadres is ongeldig.")
            address.update(id=address_id, type=address_type, default=default)
            address["name"] = address["name"] or name
            addresses.append(address)
        return addresses

    def _banks(
        self, element: ET.Element | None, error: _Error, boolean: _Boolean
    ) -> list[dict[str, Any]] | None:
        if element is None:
            return None
        banks: list[dict[str, Any]] = []
        ids: set[int] = set()
        for child in element:
            if child.tag != "bank":
                error(child, f"Het element '{child.tag}' is onbekend.")
                continue
            raw_id = child.get("id")
            if raw_id is None:
                bank_id = max(ids, default=0) + 1
            elif not raw_id.isdigit() or int(raw_id) < 1 or int(raw_id) in ids:
                error(child, f"Bank-id '{raw_id}' is ongeldig.")
                continue
            else:
                bank_id = int(raw_id)
            ids.add(bank_id)
            bank: dict[str, Any] = dict.fromkeys(BANK_FIELDS, "")
            for field in child:
                if field.tag == "address":
                    continue
                if field.tag not in BANK_FIELDS:
                    error(field, f"Het element '{field.tag}' is onbekend.")
                    continue
                bank[field.tag] = (field.text or "").strip()
            bank["iban"] = bank["iban"].replace(" ", "").upper()
            if bank["iban"] and not iban_is_valid(bank["iban"]):
                error(child.find("iban"), f"IBAN {bank['iban']} is ongeldig.")
            if not bank["iban"] and not bank["accountnumber"]:
                error(child, "Rekeningnummer of IBAN moet worden ingevuld.")
            bic = bank["biccode"]
            if bic and not (len(bic) in (8, 11) and bic.isalnum()):
                error(child.find("biccode"), f"BIC-code {bic} is ongeldig.")
            if len(bank["ascription"]) > 40:
                error(child.find("ascription"), "Begunstigde is ongeldig.")
            bank.update(id=bank_id, default=boolean(child, child.get("default", "false")))
            banks.append(bank)
        if sum(bank["default"] for bank in banks) > 1:
            error(element, "Er mag maar één standaardbankrekening zijn.")
        return banks

    # Finder ---------------------------------------------------------------------------------

    def _search(self, search: ET.Element, company: str) -> ET.Element:
        def text(name: str) -> str:
            return (_twf_text(search, name) or "").strip()

        problems: list[tuple[str, str]] = []
        if text("type") != "DIM":
            problems.append(("InvalidFinderType", f"Finder type '{text('type')}' is not valid."))
        numbers = {}
        for name in ("firstRow", "maxRows", "field"):
            try:
                numbers[name] = int(text(name))
            except ValueError:
                problems.append(("ParameterOutOfRange", f"{name} is not a number."))
        if numbers.get("firstRow", 1) < 1:
            problems.append(("ParameterTooSmall", "firstRow must be at least 1."))
        if numbers.get("maxRows", 1) < 1:
            problems.append(("ParameterTooSmall", "maxRows must be at least 1."))
        if not 0 <= numbers.get("field", 0) <= 4:
            problems.append(("ParameterOutOfRange", "field must be 0 to 4."))
        options: dict[str, str] = {}
        options_element = search.find(f"{{{TWF}}}options")
        for pair in options_element if options_element is not None else []:
            strings = [(s.text or "").strip() for s in pair.findall(f"{{{TWF}}}string")]
            if _local(pair.tag) != "ArrayOfString" or len(strings) != 2:
                problems.append(("OptionNotAllowed", "An option is a name and a value."))
                continue
            key, value = strings
            if key not in FINDER_OPTIONS or key in options:
                problems.append(("OptionNotAllowed", f"Option '{key}' is not allowed."))
            options[key] = value
        if "dimtype" not in options:
            problems.append(("OptionMandatory", "Option 'dimtype' is mandatory."))
        office = options.get("office", company)
        if self._office_error(office):
            problems.append(("NoAccessToOffice", f"No access to office {office}."))
        since = options.get("modifiedsince", "")
        if since and not re.fullmatch(r"\d{8}|\d{14}", since):
            problems.append(("InvalidModifiedSinceOptionValue", "modifiedsince is not a date."))
        hidden = options.get("includehidden", "0")
        if hidden not in ("0", "1"):
            problems.append(("InvalidIncludeHiddenOptionValue", "includehidden is 0 or 1."))

        response = ET.Element("SearchResponse", xmlns=TWF)
        result = _sub(response, "SearchResult")
        if problems:
            for code, message in problems:
                entry = _sub(result, "MessageOfErrorCodes")
                _sub(entry, "Type", "Error")
                _sub(entry, "Text", message)
                _sub(entry, "Code", code)
                _sub(entry, "Parameters")
            return response

        pattern = _wildcard(text("pattern") or "*")
        field = numbers["field"]
        rows = []
        for code in sorted(self.customers) if options["dimtype"] == "DEB" else []:
            record = self.customers[code]
            if record["status"] == "hide" and hidden != "1":
                continue
            if since and record["modified"] < since.ljust(14, "0"):
                continue
            haystacks = {
                0: [code, record["name"]],
                1: [code],
                2: [record["name"]],
                3: [b["iban"] for b in record["banks"]]
                + [b["accountnumber"] for b in record["banks"]],
                4: [a[f] for a in record["addresses"] for f in ADDRESS_FIELDS],
            }[field]
            if any(pattern.fullmatch(h) for h in haystacks):
                rows.append([code, record["name"]] + ([record["status"]] if hidden == "1" else []))
        first = numbers["firstRow"]
        window = rows[first - 1 : first - 1 + numbers["maxRows"]]
        data = _sub(response, "data")
        _sub(data, "TotalRows", str(len(rows)))
        columns = _sub(data, "Columns")
        for column in ["Code", "Naam"] + (["Status"] if hidden == "1" else []):
            _sub(columns, "string", column)
        items = _sub(data, "Items")
        for row in window:
            array = _sub(items, "ArrayOfString")
            for cell in row:
                _sub(array, "string", cell)
        return response


class _Handler(BaseHTTPRequestHandler):
    fake: FakeTwinfield
    protocol_version = "HTTP/1.1"
    timeout = 5  # idle keep-alive connections end on their own
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

    def setup(self) -> None:
        super().setup()
        with self.fake.lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake.lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: test output is for assertions

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = self.headers.get("Content-Length")
        if method != "GET" and length is None:
            self._send(_Reply(411, b"Length Required", "text/plain"))
            return
        size = int(length or 0)
        if size > MAX_REQUEST:
            self.close_connection = True
            self._send(_Reply(413, b"Payload Too Large", "text/plain"))
            return
        body = self.rfile.read(size) if size else b""
        self._send(self.fake.handle(method, self.path, self.headers, body))

    def _send(self, reply: _Reply) -> None:
        try:
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            if isinstance(reply.body, bytes | bytearray):
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            for chunk in reply.body:
                self.wfile.write(chunk)
        except OSError:  # the client gave up (timeout, size cap): nothing left to tell it
            self.close_connection = True


def connect(practice: Any, fake: Any) -> Any:
    """Connect `practice` to the fake (a FakeTwinfield, or anything with its address and credentials)
    as after the OAuth consent: a refresh token, no access token or cluster yet."""
    from sync.models import LedgerConnection  # Django is set up by whoever asks for a connection

    connection = LedgerConnection(
        practice=practice,
        adapter=LedgerConnection.Adapter.TWINFIELD,
        office_code=fake.office_code,
        login_url=fake.url,
        client_id=fake.client_id,
    )
    connection.client_secret = fake.client_secret
    connection.refresh_token = fake.refresh_token
    connection.save()
    return connection
