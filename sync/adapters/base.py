"""The ledger adapter protocol (DESIGN §5): what Kring needs from any ledger, and nothing more.

A ledger keeps debtors keyed on a code. Kring lists them (import), reads one (conflict checks) and
upserts batches (push). Every failure is either *retryable* (the ledger could not answer: network,
timeout, 5xx, 429, an expired token) or *rejected* (the ledger answered and refused the data); a
batch reports per item, so one bad debtor never holds back the good ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
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
    """Network, timeout, 5xx, 429 (with `retry_after` seconds when the ledger said), expired token."""

    retryable = True


class RejectedLedgerError(LedgerError):
    """The ledger answered and refused: retrying the same request cannot help."""


class LedgerAdapter(Protocol):
    def list_customers(self) -> Iterator[LedgerCustomer]:
        """Every debtor, paging inside."""
        ...

    def get_customers(self, codes: Sequence[str]) -> dict[str, LedgerCustomer | None]:
        """The current record of each code (None when the ledger has no such debtor)."""
        ...

    def upsert_customers(self, batch: Sequence[LedgerCustomer]) -> list[UpsertResult]:
        """Create or update; one result per item, in order. At most `max_batch` items."""
        ...

    max_batch: int


class ChangeFeed(Protocol):
    """What a ledger that stamps every change can tell (optional; Twinfield's Finder can).

    `since` is a stamp in the ledger's own clock and format (as `LedgerCustomer.modified`); a
    debtor counts when its last change is at or after it, hidden debtors included. Kring then reads
    before writing only the debtors that may have changed since it last saw them
    (sync.services.check_ledger_changes), instead of every debtor it pushes."""

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
