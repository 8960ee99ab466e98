"""The ledger adapter protocol (DESIGN §5): what Kring needs from any ledger, and nothing more.

A ledger keeps debtors keyed on a code. Kring lists them (import), reads one (conflict checks) and
upserts batches (push). Every failure is either *retryable* (the ledger could not answer: network,
timeout, 5xx, 429, an expired token) or *rejected* (the ledger answered and refused the data); a
batch reports per item, so one bad debtor never holds back the good ones.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class LedgerAddress:
    type: str  # "visiting" | "postal" | "invoice" (Kring's words; adapters map them)
    line: str  # street and number, e.g. "Keizersgracht 123-A"
    postcode: str = ""
    city: str = ""
    country: str = "NL"
    default: bool = False


@dataclass(frozen=True)
class LedgerBank:
    iban: str
    bic: str = ""
    holder: str = ""
    bank_name: str = ""
    default: bool = False


@dataclass(frozen=True)
class LedgerCustomer:
    """One debtor as the ledger holds it: what Kring pushes and what an import reads."""

    code: str  # "" only when Kring has no code yet: the ledger allocates one
    name: str
    addresses: tuple[LedgerAddress, ...] = ()
    banks: tuple[LedgerBank, ...] = ()
    vat_number: str = ""
    kvk_number: str = ""
    email: str = ""
    website: str = ""
    # The ledger's last-modified stamp as it reported it (Twinfield: `yyyymmddHHMMSS`, in its own
    # clock), "" when it gives none. Not content: left out of equality, `as_dict` and `fingerprint`.
    modified: str = field(default="", compare=False)
    # The complete record as the ledger last gave it, opaque to everything but its adapter (the
    # Twinfield adapter keeps the `<dimension>` XML): the base of a read-modify-write, so that a
    # write changes only what Kring owns and sends every other field back as the ledger holds it.
    # Not content either: out of equality, `as_dict` and `fingerprint`.
    raw: str = field(default="", compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """`dataclasses.asdict`, without its deep copies (a push takes several per client)."""
        return {
            "code": self.code,
            "name": self.name,
            "addresses": [dict(vars(a)) for a in self.addresses],
            "banks": [dict(vars(b)) for b in self.banks],
            "vat_number": self.vat_number,
            "kvk_number": self.kvk_number,
            "email": self.email,
            "website": self.website,
        }

    def fingerprint(self) -> str:
        """A stable digest of the content; equal fingerprints mean the ledger needs no write.
        Computed once per (immutable) customer."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            data = self.as_dict()
            data["addresses"].sort(key=lambda a: (a["type"], a["line"]))
            data["banks"].sort(key=lambda b: b["iban"])
            encoded = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
            cached = hashlib.sha256(encoded).hexdigest()
            object.__setattr__(self, "_fingerprint", cached)
        return cached


@dataclass(frozen=True)
class UpsertResult:
    code: str  # the code the ledger holds the debtor under (allocated when none was sent)
    ok: bool
    messages: tuple[str, ...] = field(default=())
    record: LedgerCustomer | None = None  # the debtor as the ledger now holds it, if it echoes it


class LedgerError(Exception):
    """The ledger call failed as a whole (not one item of a batch)."""

    retryable: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class RetryableLedgerError(LedgerError):
    """Network, timeout, 5xx, 429 (with `retry_after` seconds when the ledger said), expired token.

    `transient`: a condition of the moment (429, 503, a timeout, a dropped connection) that the
    same request, repeated after a wait, may pass; `unprocessed`: the ledger certainly did not act
    on the request (429, 503, no connection made), so even a write that is not idempotent may be
    repeated."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        transient: bool = False,
        unprocessed: bool = False,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.transient = transient
        self.unprocessed = unprocessed


class RejectedLedgerError(LedgerError):
    """The ledger answered and refused: retrying the same request cannot help."""


Waited = Callable[[float, str], None]


@dataclass
class Patience:
    """How a ledger call waits when the ledger asks it to (429 with `Retry-After`, 503, a timeout)
    and repeats *that request*: up to `attempts` repeats and `budget` seconds of waiting per
    request, and never past `deadline` (a `clock()` value: the run's end, e.g. a task's time
    limit). Without a `Retry-After` the wait is exponential from `base`, with jitter, capped at
    `cap`. `sleep` and `clock` are injectable so that tests need not wait in real time;
    `on_wait(seconds, reason)` is told before each wait (the commands print it). `waits` and
    `waited` count what a run spent waiting."""

    attempts: int = 8
    budget: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    deadline: float | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    on_wait: Waited | None = None
    waits: int = 0
    waited: float = 0.0

    def delay(self, repeat: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(0.0, retry_after)
        step = min(self.cap, self.base * 2**repeat)
        return step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret

    def wait(self, error: RetryableLedgerError, repeat: int, spent: float) -> float | None:
        """Wait before repeat number `repeat + 1` of a request that has waited `spent` seconds;
        the seconds waited, or None when the request's budget or the run's deadline is spent."""
        seconds = self.delay(repeat, error.retry_after)
        if repeat >= self.attempts or spent + seconds > self.budget:
            return None
        if self.deadline is not None and self.clock() + seconds > self.deadline:
            return None
        if self.on_wait is not None:
            self.on_wait(seconds, error.message)
        self.sleep(seconds)
        self.waits += 1
        self.waited += seconds
        return seconds


class LedgerAdapter(Protocol):
    """What Kring needs from a ledger: three calls every ledger has, and what this one can do
    beyond them, declared by every adapter (the drain and the import ask, never guess)."""

    max_batch: int
    # A write may be in flight (on a drain's writer thread) while the drain prepares the next
    # batch: the adapter keeps its own requests one at a time, and the drain makes no other call
    # until the write is back.
    overlaps_writes: bool

    @property
    def patience(self) -> Patience | None:
        """How its requests wait when the ledger asks them to (a run sets its `deadline` and
        `on_wait`); None when they never wait."""
        ...

    def list_customers(self) -> Iterator[LedgerCustomer]:
        """Every debtor, paging inside."""
        ...

    def get_customers(self, codes: Sequence[str]) -> dict[str, LedgerCustomer | None]:
        """The current record of each code (None when the ledger has no such debtor)."""
        ...

    def upsert_customers(self, batch: Sequence[LedgerCustomer]) -> list[UpsertResult]:
        """Create or update; one result per item, in order. At most `max_batch` items."""
        ...

    def change_feed(self) -> ChangeFeed | None:
        """The ledger's change feed, or None when it has none (every debtor is then read before
        it is written)."""
        ...

    def count_customers(self) -> int | None:
        """How many debtors the ledger holds, when it can say so cheaply; None when it cannot."""
        ...


class ChangeFeed(Protocol):
    """What a ledger that stamps every change can tell (Twinfield's Finder can).

    `since` is a stamp in the ledger's own clock and format (as `LedgerCustomer.modified`); a
    debtor counts when its last change is at or after it, hidden debtors included. Kring then reads
    before writing only the debtors that may have changed since it last saw them
    (sync.feed.check_ledger_changes), instead of every debtor it pushes."""

    def count_changed_since(self, since: str) -> int:
        """How many debtors changed at or after `since` (one request)."""
        ...

    def codes_changed_since(self, since: str) -> set[str]:
        """Which debtors changed at or after `since` (paging inside)."""
        ...


def chunks[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
