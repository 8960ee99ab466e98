"""The look-up adapter protocols: what Kring asks of a public register, and nothing more.

Like the ledger adapters (sync/adapters/base.py), every register is behind a protocol, and every
failure is an exception: `LookupUnavailable` when the register could not answer (network, timeout,
5xx, 429, a reply too large or not in its documented format), `LookupRejected` when it answered and
refused the question (an invalid postcode or VAT number). Nothing here waits and repeats: a look-up
is asked for by a person at a form, who gets "not available" at once and types on.

Every call has a timeout (connect and read) and a cap on the size of the reply, read in chunks so
that a register that sends too much is cut off, never held in memory whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import requests
import urllib3

TIMEOUT = (3.05, 5.0)  # seconds to connect, seconds between bytes of the reply
MAX_REPLY_BYTES = 256 * 1024  # an address or a VAT check is a few kilobytes
CHUNK = 16 * 1024


class RegisterError(Exception):
    """A look-up failed. `message` is for the log, never shown as is."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class LookupUnavailable(RegisterError):
    """The register did not answer usefully: network, timeout, 5xx, 429, oversize, malformed."""


class LookupRejected(RegisterError):
    """The register answered and refused the question as asked (bad input)."""


@dataclass(frozen=True)
class FoundAddress:
    street: str
    city: str
    postcode: str
    house_number: str
    addition: str = ""
    municipality: str = ""


@dataclass(frozen=True)
class VatCheck:
    country: str
    number: str
    valid: bool
    name: str = ""
    address: str = ""
    requested_at: datetime | None = None
    reference: str = ""  # the register's request identifier, when it gives one
    data: dict[str, Any] = field(default_factory=dict, compare=False)


class AddressAdapter(Protocol):
    name: str

    def find(self, postcode: str, house_number: str, addition: str = "") -> FoundAddress | None:
        """The address at this postcode and number, None when the register knows none."""
        ...


class VatAdapter(Protocol):
    name: str

    def check(self, country: str, number: str) -> VatCheck:
        """Whether the register knows this VAT number as valid now."""
        ...


def _retry_after(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(moment.tzinfo)).total_seconds())


def request_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float] = TIMEOUT,
    max_bytes: int = MAX_REPLY_BYTES,
    ok_statuses: frozenset[int] = frozenset({200}),
    **kwargs: Any,
) -> tuple[int, Any]:
    """One request; (status, parsed JSON) for a status in `ok_statuses` or a 4xx, else an error.

    429 and every 5xx are LookupUnavailable (with the `Retry-After` the register gave); so are a
    timeout, a refused connection, a reply over `max_bytes` and a reply that is not JSON."""
    try:
        response = session.request(
            method,
            url,
            timeout=timeout,
            stream=True,
            allow_redirects=False,
            headers={"Accept": "application/json", **kwargs.pop("headers", {})},
            **kwargs,
        )
    except requests.Timeout as exc:
        raise LookupUnavailable(f"timeout: {exc}") from exc
    except requests.RequestException as exc:
        raise LookupUnavailable(f"no connection: {exc}") from exc
    with response:
        status = response.status_code
        if status == 429 or status >= 500 or 300 <= status < 400:
            body = _read(response, max_bytes, strict=False)
            raise LookupUnavailable(
                f"HTTP {status}: {body[:200].decode(errors='replace')}",
                retry_after=_retry_after(response),
            )
        if response.headers.get("Content-Encoding", "identity") not in ("identity", ""):
            raise LookupUnavailable("compressed reply refused")
        body = _read(response, max_bytes)
    try:
        return status, json.loads(body)
    except ValueError as exc:
        if status in ok_statuses:
            raise LookupUnavailable(f"HTTP {status}: not JSON") from exc
        return status, None


def _read(response: requests.Response, max_bytes: int, *, strict: bool = True) -> bytes:
    declared = response.headers.get("Content-Length")
    if strict and declared and declared.isdigit() and int(declared) > max_bytes:
        raise LookupUnavailable(f"reply of {declared} bytes is over the cap of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.raw.stream(CHUNK, decode_content=False):
            size += len(chunk)
            if size > max_bytes:
                if strict:
                    raise LookupUnavailable(f"reply over the cap of {max_bytes} bytes")
                break
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise LookupUnavailable(f"reply cut off: {exc}") from exc
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # read timeout, dropped connection
        raise LookupUnavailable(f"reply cut off: {exc}") from exc
    return b"".join(chunks)
