"""Twinfield (Wolters Kluwer) as the ledger: the ProcessXml and Finder SOAP services with OAuth2.

The protocol facts and their sources are in TWINFIELD.md; the points that shape this module:

* Every call needs a one-hour OAuth2 access token and the organisation's *cluster* host, which only
  the login host's token validation tells. Both are cached on the LedgerConnection row; the token is
  refreshed five minutes early, and once more if Twinfield refuses it mid-run (fault 354 / HTTP 401).
* ProcessXmlString takes the request as an *escaped string* and answers with one, so every reply is
  parsed twice. Replies come from the network: no DTDs (billion laughs, external entities), and a
  cap on their size.
* Business refusals arrive as HTTP 200 with `result="0"` and `msgtype="error"` on the offending
  element; auth and transport trouble as SOAP faults with HTTP 401/403/500, rate limits as 429.
* Writes are upserts on (office, code): an omitted `<code>` makes Twinfield allocate one, an empty
  `<code/>` is an error. Addresses and banks are replaced by what is sent, so every write sends the
  complete sets.

Concurrency: Twinfield asks for one concurrent action per organisation, and two workers refreshing
the same token race each other. Inside one process, calls for an office are serialised by a lock in
`_OFFICE_LOCKS`. Across processes the caller serialises: the drain holds the practice's
LedgerConnection row locked (`select_for_update`) while it uses this adapter, so one adapter per
office is at work at a time.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET
import requests
import urllib3
from django.utils import timezone

from sync.adapters.base import (
    ChangeFeed,
    LedgerAddress,
    LedgerBank,
    LedgerCustomer,
    Patience,
    RejectedLedgerError,
    RetryableLedgerError,
    UpsertResult,
)

if TYPE_CHECKING:
    from sync.models import LedgerConnection

log = logging.getLogger(__name__)

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TWF_NS = "http://www.twinfield.com/"
TOKEN_PATH = "/auth/authentication/connect/token"  # noqa: S105 - a path, not a secret
VALIDATION_PATH = "/auth/authentication/connect/accesstokenvalidation"
PROCESS_XML_PATH = "/webservices/processxml.asmx"
FINDER_PATH = "/webservices/finder.asmx"

MAX_BATCH = 25  # Twinfield's fair-use limit on children per parent
REFRESH_MARGIN = timedelta(minutes=5)
MAX_REPLY_BYTES = 10 * 1024 * 1024
FINDER_PAGE = 25  # the page size Wolters Kluwer's best-practice article asks for
MAX_MESSAGE = 500  # characters of a ledger message kept in an exception

# Kring's address types and Twinfield's.
TO_TWINFIELD_TYPE = {"visiting": "contact", "postal": "postal", "invoice": "invoice"}
FROM_TWINFIELD_TYPE = {v: k for k, v in TO_TWINFIELD_TYPE.items()}

# 354: the access token expired or was revoked; a refresh cures it.
TOKEN_FAULTS = frozenset({"354"})
# Faults about the request or the account (missing header, access denied, log-on deleted or
# disabled, organisation inactive, scope lacks a claim, invalid XML): no retry can cure them.
REJECTED_FAULTS = frozenset({"101", "102", "104", "105", "106", "187", "351", "352", "353"})
CLUSTER_FAULT = "108"
# HTTP statuses of the moment, worth repeating the same request for after a wait (429 and 503
# promise the request was not processed); a 500 (fault 100) is left to the drain's backoff.
TRANSIENT_STATUSES = frozenset(
    {408, 429, 502, 503, 504}
)  # the cached cluster is wrong: forget it, the next attempt re-discovers it

# The root of a request holding several <read>s (see TwinfieldAdapter._read_many); clusters that
# did not answer one in kind are remembered here and read one code per request.
MULTI_READ = "reads"
_NO_MULTI_READ: set[str] = set()

_OFFICE_LOCKS: dict[str, threading.Lock] = {}
_OFFICE_LOCKS_GUARD = threading.Lock()


def _office_lock(office_code: str) -> threading.Lock:
    with _OFFICE_LOCKS_GUARD:
        return _OFFICE_LOCKS.setdefault(office_code, threading.Lock())


_TOKEN_IN_URL = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


def _redact(text: str) -> str:
    return _TOKEN_IN_URL.sub(r"\1[redacted]", text)


class _RedactTokenQuery(logging.Filter):
    """urllib3 logs each request line, query string included, at DEBUG; the token validation call
    carries the access token in its query, and tokens must never reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


_urllib3_log = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactTokenQuery) for f in _urllib3_log.filters):
    _urllib3_log.addFilter(_RedactTokenQuery())


class UnsafeReplyError(RejectedLedgerError):
    """A reply refused unparsed or unread (a DTD, too large, compressed): not an answer at all."""


class _TokenRefused(Exception):
    """Twinfield refused the access token: refresh once, then give up."""


# Characters XML 1.0 cannot carry at all; a name pasted from a PDF sometimes holds one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element: ET.Element | None, name: str) -> ET.Element | None:
    """The first child with this local name, whatever its namespace (replies are not strict).
    An un-namespaced child, the usual case inside ProcessXml results, is found by C code."""
    if element is None:
        return None
    found = element.find(name)
    if found is not None:
        return found
    return next((c for c in element if _local(c.tag) == name), None)


def _children(element: ET.Element | None, name: str) -> list[ET.Element]:
    if element is None:
        return []
    return element.findall(name) or [c for c in element if _local(c.tag) == name]


def _text(element: ET.Element | None, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def _errors(element: ET.Element) -> list[str]:
    """Every error message in the tree; Twinfield joins several on one element with `//`."""
    messages = []
    for node in element.iter():
        if node.get("msgtype") == "error":
            for message in (node.get("msg") or "").split("//"):
                if message.strip():
                    messages.append(message.strip())
    return messages


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _retry_after(response: requests.Response) -> float | None:
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


# A document type declaration: the only place entities (billion laughs) and external entities
# (file or network reads) can be declared. Matched loosely; a false alarm only refuses a reply.
_DOCTYPE = re.compile(r"<!\s*DOCTYPE", re.IGNORECASE)


def parse_xml(data: bytes | str, *, what: str) -> ET.Element:
    """Parse XML from the network: any DTD is refused, so neither entity expansion (billion laughs)
    nor external entities can happen. SOAP forbids DTDs, and Twinfield never sends one.

    Text (UTF-8 bytes are decoded first: what Twinfield sends) is searched for a DOCTYPE and then
    parsed by ElementTree's C parser, which parses a str as the very text searched, whatever
    encoding it declares; without a DTD no entity can be declared, so a reference to one is a
    parse error. Other bytes go through defusedxml, whose Python-level callbacks per element
    were a quarter of a push's CPU at two replies of 25 full records per batch."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return _parse_defused(data, what=what)
    else:
        text = data
    if _DOCTYPE.search(text):
        raise UnsafeReplyError(
            f"Twinfield's {what} contained a DTD or entity declaration; refused to parse it."
        )
    try:
        return ET.fromstring(text.removeprefix("\ufeff"))  # noqa: S314 - no DTD: checked above
    except ET.ParseError as exc:
        raise RetryableLedgerError(f"Twinfield's {what} is not readable XML ({exc}).") from None


def _parse_defused(data: bytes, *, what: str) -> ET.Element:
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeReplyError(
            f"Twinfield's {what} contained a DTD or entity declaration ({type(exc).__name__}); "
            "refused to parse it."
        ) from None
    except ET.ParseError as exc:
        raise RetryableLedgerError(f"Twinfield's {what} is not readable XML ({exc}).") from None


def _raise_if_login_unavailable(response: requests.Response, what: str) -> None:
    """The login service's answers that a later try may cure: its rate limit, an outage, a timeout."""
    status = response.status_code
    if status == 429:
        raise RetryableLedgerError(
            "Twinfield's login rate limit was reached (HTTP 429).",
            retry_after=_retry_after(response),
            transient=True,
            unprocessed=True,
        )
    if status >= 500 or status == 408:
        raise RetryableLedgerError(
            f"Twinfield's {what} answered HTTP {status}.",
            retry_after=_retry_after(response) if status == 503 else None,
            transient=status in TRANSIENT_STATUSES,
            unprocessed=status == 503,
        )


_STAMP = re.compile(r"\d{14}")


def _stamp(since: str) -> str:
    """A `modifiedsince` value as the Finder documents it (`yyyyMMddHHmmss`), or a refusal: a
    malformed stamp would be a Finder error at best, and at worst read as another moment."""
    if not _STAMP.fullmatch(since):
        raise RejectedLedgerError(f"Not a Twinfield timestamp: {since[:20]!r}.")
    return since


# Read-modify-write (TWINFIELD.md §2.1, sync/TWINFIELD_NOTES.md): what Kring owns of a debtor, and
# what it sends back exactly as Twinfield holds it. Kring owns the name, the website, and of each
# address its type, default flag, country, city, postcode, street line (field2), VAT (field4) and
# KvK number (field5), and the e-mail address of the default one; of each bank its holder
# (ascription), IBAN, BIC, bank name and country. Everything else in the record is preserved.
READ_ONLY_ELEMENTS = frozenset(
    {"uid", "inuse", "behaviour", "touched", "modified", "editdimensionname"}
)
OWNED_ELEMENTS = frozenset({"office", "type", "code", "name", "website", "addresses", "banks"})
READ_ONLY_FINANCIALS = frozenset({"level", "matchtype", "childvalidations"})
OWNED_ADDRESS_FIELDS = ("country", "city", "postcode", "field2", "field4", "field5")
OWNED_BANK_FIELDS = ("ascription", "iban", "biccode", "bankname", "country")
# Decorations a read adds that a write must not carry.
READ_ONLY_ADDRESS_CHILDREN = frozenset({"ictcountrycode"})


def _writable_copy(element: ET.Element, *, keep_attributes: bool = False) -> ET.Element:
    """A copy for sending back: the read's decorations (`name`/`shortname`/… attributes, and
    children repeated in a reply: the first of each counts) left out."""
    copy = ET.Element(element.tag, dict(element.attrib) if keep_attributes else {})
    copy.text = element.text
    seen: set[str] = set()
    for child in element:
        if child.tag in seen:
            continue
        seen.add(child.tag)
        copy.append(_writable_copy(child))
    return copy


def _base_element(raw: str) -> ET.Element | None:
    if not raw:
        return None
    try:
        return parse_xml(raw, what="stored record")
    except (RetryableLedgerError, RejectedLedgerError):
        return None  # no base: the write is built from Kring's record alone


def _set(parent: ET.Element, tag: str, text: str) -> None:
    """Set a child's text, adding the child where the base has none."""
    found = parent.find(tag)
    if found is None:
        found = ET.SubElement(parent, tag)
    found.attrib.clear()
    found.text = _NOT_XML.sub("", text)


def _id_of(element: ET.Element) -> int:
    try:
        return int(element.get("id") or 0)
    except ValueError:
        return 0


def customer_to_element(customer: LedgerCustomer, office_code: str) -> ET.Element:
    """One `<dimension>` with the complete address and bank sets (Twinfield replaces them).

    With `customer.raw` (the record as Twinfield last gave it) the write is a read-modify-write:
    every element Kring does not own goes back as Twinfield holds it, and each address and bank
    keeps its id and the fields Kring does not manage (telephone, fax, e-mail on other addresses,
    field1, field3, field6, a bank's account number, …)."""
    base = _base_element(customer.raw)
    dimension = ET.Element("dimension", status="active")
    _sub(dimension, "office", office_code)
    _sub(dimension, "type", "DEB")
    if customer.code:  # omitted, Twinfield allocates one; an empty <code/> is an error
        _sub(dimension, "code", customer.code)
    _sub(dimension, "name", customer.name)
    _sub(dimension, "website", customer.website)
    if base is not None:
        seen: set[str] = set()
        for child in base:
            if child.tag in OWNED_ELEMENTS or child.tag in READ_ONLY_ELEMENTS or child.tag in seen:
                continue
            seen.add(child.tag)
            copy = _writable_copy(child)
            if child.tag == "financials":
                for item in [c for c in copy if c.tag in READ_ONLY_FINANCIALS]:
                    copy.remove(item)
            dimension.append(copy)

    base_addresses = sorted(_children(_child(base, "addresses"), "address"), key=_id_of)
    # Addresses Kring does not see (Twinfield's automatic one, a VAT/KvK carrier) stay as they are.
    carriers = [e for e in base_addresses if _address_of(e) is None]
    visible = [e for e in base_addresses if _address_of(e) is not None]
    addresses = list(customer.addresses)
    if (
        not addresses
        and not carriers
        and (customer.vat_number or customer.kvk_number or customer.email)
    ):
        # Twinfield keeps VAT, KvK and e-mail on an address; without one they would be lost.
        # The read side drops such an empty carrier again (see customer_from_element).
        addresses = [LedgerAddress(type="invoice", line="", default=True)]
    default_index = next((i for i, a in enumerate(addresses) if a.default), 0)
    next_id = max((_id_of(e) for e in base_addresses), default=0) + 1
    chosen: list[tuple[int, ET.Element]] = []
    unused = list(visible)
    for index, address in enumerate(addresses):
        kind = TO_TWINFIELD_TYPE.get(address.type, "invoice")
        match = next(
            (e for e in unused if e.get("type") == kind and _text(e, "field2") == address.line),
            None,
        )
        if match is None:
            match = next((e for e in unused if e.get("type") == kind), None)
        if match is not None:
            unused.remove(match)
            element = _writable_copy(match)
            for decoration in [c for c in element if c.tag in READ_ONLY_ADDRESS_CHILDREN]:
                element.remove(decoration)
            address_id = _id_of(match)
        else:
            element = ET.Element("address")
            _sub(element, "name", customer.name)
            address_id, next_id = next_id, next_id + 1
        element.attrib.update(id=str(address_id), type=kind, default=_bool(address.default))
        values = dict(
            zip(
                OWNED_ADDRESS_FIELDS,
                (
                    address.country or "NL",
                    address.city,
                    address.postcode,
                    address.line,
                    customer.vat_number,
                    customer.kvk_number,
                ),
                strict=True,
            )
        )
        for tag, text in values.items():
            _set(element, tag, text)
        if index == default_index:
            _set(element, "email", customer.email)
        chosen.append((address_id, element))
    for carrier in carriers:
        element = _writable_copy(carrier, keep_attributes=True)
        for decoration in [c for c in element if c.tag in READ_ONLY_ADDRESS_CHILDREN]:
            element.remove(decoration)
        if (country := element.find("country")) is not None:
            country.attrib.clear()
        if chosen and element.get("default") == "true":
            element.set("default", "false")  # Kring's default address is the default
        _set(element, "field4", customer.vat_number)
        _set(element, "field5", customer.kvk_number)
        if not chosen and not addresses:
            _set(element, "email", customer.email)
        chosen.append((_id_of(carrier), element))
    addresses_element = _sub(dimension, "addresses")
    for _id, element in sorted(chosen, key=lambda pair: pair[0]):
        addresses_element.append(element)

    base_banks = {
        _text(e, "iban"): e for e in _children(_child(base, "banks"), "bank") if _text(e, "iban")
    }
    next_bank = max((_id_of(e) for e in base_banks.values()), default=0) + 1
    banks_element = _sub(dimension, "banks")
    for bank in customer.banks:
        match = base_banks.pop(bank.iban, None)
        if match is not None:
            element = _writable_copy(match)
            bank_id = _id_of(match)
        else:
            element = ET.Element("bank")
            bank_id, next_bank = next_bank, next_bank + 1
        element.attrib.update(id=str(bank_id), default=_bool(bank.default))
        bank_values = (bank.holder, bank.iban, bank.bic, bank.bank_name, bank.iban[:2].upper())
        for tag, text in zip(OWNED_BANK_FIELDS, bank_values, strict=True):
            _set(element, tag, text)
        banks_element.append(element)
    return dimension


def _address_of(element: ET.Element) -> LedgerAddress | None:
    """The address as Kring sees it, or None for one it does not (Twinfield's automatic one, a
    VAT/KvK carrier)."""
    kind = FROM_TWINFIELD_TYPE.get(element.get("type") or "")
    line, postcode, city = (
        _text(element, "field2"),
        _text(element, "postcode"),
        _text(element, "city"),
    )
    if kind is None or not (line or postcode or city):
        return None
    return LedgerAddress(
        type=kind,
        line=line,
        postcode=postcode,
        city=city,
        country=(_text(element, "country") or "NL").upper(),
        default=element.get("default") == "true",
    )


def customer_from_element(dimension: ET.Element) -> LedgerCustomer:
    """A `<dimension>` as read back. VAT, KvK and e-mail live on addresses: the default address's
    value wins, else the first address that has one."""

    def sort_key(element: ET.Element) -> int:
        try:
            return int(element.get("id") or 0)
        except ValueError:
            return 0

    address_elements = sorted(_children(_child(dimension, "addresses"), "address"), key=sort_key)
    ordered = sorted(address_elements, key=lambda e: e.get("default") != "true")

    def first(field: str) -> str:
        return next((v for e in ordered if (v := _text(e, field))), "")

    addresses = [a for e in address_elements if (a := _address_of(e)) is not None]
    banks = tuple(
        LedgerBank(
            iban=_text(element, "iban"),
            bic=_text(element, "biccode"),
            holder=_text(element, "ascription"),
            bank_name=_text(element, "bankname"),
            default=element.get("default") == "true",
        )
        for element in _children(_child(dimension, "banks"), "bank")
    )
    # The change feed compares stamps as text: anything but `yyyymmddHHMMSS` is no stamp at all.
    modified = _text(dimension, "modified")
    return LedgerCustomer(
        code=_text(dimension, "code"),  # a string: leading zeros are part of the code
        name=_text(dimension, "name"),
        addresses=tuple(addresses),
        banks=banks,
        vat_number=first("field4"),
        kvk_number=first("field5"),
        email=first("email"),
        website=_text(dimension, "website"),
        modified=modified if _STAMP.fullmatch(modified) else "",
        raw=ET.tostring(dimension, encoding="unicode"),
    )


class TwinfieldAdapter:
    """The ledger protocol (sync.adapters.base) over Twinfield's web services.

    `timeout` is requests' (connect, read) pair for every call; once a reply's headers are in, its
    whole body must also arrive within the read timeout, and be at most `max_reply_bytes`.
    """

    max_batch = MAX_BATCH
    # A write may run on a drain's writer thread while the drain prepares the next batch: every
    # call holds the office lock, and the drain makes no other call until the write is back.
    overlaps_writes = True
    patience: Patience

    def __init__(
        self,
        connection: LedgerConnection,
        *,
        timeout: tuple[float, float] | float = (5, 30),
        max_reply_bytes: int = MAX_REPLY_BYTES,
        page_size: int = FINDER_PAGE,
        patience: Patience | None = None,
    ) -> None:
        self.connection = connection
        self.patience = patience or Patience()
        self._token_life: timedelta | None = None  # of the token this adapter was issued
        self.timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.max_reply_bytes = max_reply_bytes
        self.page_size = page_size
        self.session = requests.Session()
        # Uncompressed replies: the size cap then bounds memory without trusting a decompressor.
        self.session.headers.update({"Accept-Encoding": "identity", "User-Agent": "Kring"})
        self._lock = _office_lock(connection.office_code)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> TwinfieldAdapter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The protocol -------------------------------------------------------------------------------

    def list_customers(self) -> Iterator[LedgerCustomer]:
        """Finder pages of codes (1-based `firstRow`), then the page's records in one combined
        read (`_read_many`); the undocumented read-all has no paging."""
        seen: set[str] = set()
        for codes in self._search_pages():
            fresh = [code for code in dict.fromkeys(codes) if code not in seen]
            seen.update(fresh)  # a customer created mid-listing shifts the pages
            for start in range(0, len(fresh), MAX_BATCH):
                records = self._read_many(fresh[start : start + MAX_BATCH])
                for code in fresh[start : start + MAX_BATCH]:
                    if (customer := records[code]) is not None:  # None: deleted meanwhile
                        yield customer

    def get_customers(self, codes: Sequence[str]) -> dict[str, LedgerCustomer | None]:
        """The current records, up to MAX_BATCH codes per request (see `_read_many`)."""
        found: dict[str, LedgerCustomer | None] = dict.fromkeys(codes)
        wanted = list(dict.fromkeys(code for code in codes if code))
        for start in range(0, len(wanted), MAX_BATCH):
            found.update(self._read_many(wanted[start : start + MAX_BATCH]))
        return found

    def change_feed(self) -> ChangeFeed:
        """The Finder's `modifiedsince` (TWINFIELD.md §3.2): this adapter is its own feed."""
        return self

    def count_customers(self) -> int | None:
        """Not asked: it would cost a Finder request before the listing, so an import from
        Twinfield shows its progress without a total."""
        return None

    def count_changed_since(self, since: str) -> int:
        """The Finder's total for debtors modified at or after `since` (one row asked for)."""
        total, _codes = self._search_page(1, modified_since=_stamp(since), rows=1)
        return total

    def codes_changed_since(self, since: str) -> set[str]:
        """Every code the Finder lists as modified at or after `since`, page by page."""
        return {code for page in self._search_pages(_stamp(since)) for code in page}

    def upsert_customers(self, batch: Sequence[LedgerCustomer]) -> list[UpsertResult]:
        if not batch:
            return []
        if len(batch) > MAX_BATCH:
            raise RejectedLedgerError(
                f"A Twinfield batch holds at most {MAX_BATCH} customers, not {len(batch)}."
            )
        request = ET.Element("dimensions")
        for customer in batch:
            request.append(customer_to_element(customer, self.connection.office_code))
        # A write names its codes, so repeating it after a timeout is the same upsert; one that
        # lets Twinfield allocate a code is repeated only when Twinfield surely did not act on it.
        reply = self._process_xml(request, idempotent=all(c.code for c in batch))

        if _local(reply.tag) != "dimensions" or reply.get("msgtype") == "error":
            # The request as a whole was refused (unknown office, no access, too many items).
            refusal = _errors(reply) or [f"unexpected <{_local(reply.tag)}> reply"]
            raise RejectedLedgerError(_short("Twinfield refused the batch: " + "; ".join(refusal)))
        items = _children(reply, "dimension")
        if len(items) != len(batch):
            # Not retryable on purpose: some items may have been written, and re-sending one
            # without a code would create that customer twice.
            raise RejectedLedgerError(
                f"Twinfield answered {len(items)} items for a batch of {len(batch)}."
            )
        results = []
        for sent, item in zip(batch, items, strict=True):
            messages: tuple[str, ...] = tuple(_errors(item))
            ok = item.get("result") != "0" and not messages
            code = _text(item, "code") if ok else sent.code
            if ok and not code:
                ok, code = False, sent.code
                messages = ("Twinfield accepted the customer but returned no code.",)
            elif not ok and not messages:
                messages = ("Twinfield refused the customer without a message.",)
            # On success Twinfield echoes the full record as it now holds it (with any address it
            # added itself): the base for the next conflict check, so that is not a false alarm.
            record = customer_from_element(item) if ok else None
            results.append(UpsertResult(code=code, ok=ok, messages=messages, record=record))
        return results

    # ProcessXml and Finder ----------------------------------------------------------------------

    def _read_request(self, code: str) -> ET.Element:
        request = ET.Element("read")
        _sub(request, "type", "dimensions")
        _sub(request, "office", self.connection.office_code)
        _sub(request, "dimtype", "DEB")
        _sub(request, "code", code)
        return request

    def _read_customer(self, code: str) -> LedgerCustomer | None:
        return self._read_reply(code, self._process_xml(self._read_request(code)))

    def _read_reply(self, code: str, reply: ET.Element) -> LedgerCustomer | None:
        """One `<read>`'s answer: the record, None for "does not exist", else a refusal."""
        failed = [node for node in reply.iter() if node.get("msgtype") == "error"]
        if _local(reply.tag) != "dimension" or reply.get("result") == "0" or failed:
            # "Does not exist" is the only error, and it sits on <code>; anything else (office,
            # dimension type, access) is a refusal of the request.
            if failed and all(_local(node.tag) == "code" for node in failed):
                return None
            messages = _errors(reply) or [f"unexpected <{_local(reply.tag)}> reply"]
            raise RejectedLedgerError(
                _short(f"Twinfield refused to read customer {code}: " + "; ".join(messages))
            )
        customer = customer_from_element(reply)
        if customer.code != code:
            # Matched on code or not at all: another debtor's record taken for this one would be
            # a false conflict, or worse, a false "equal".
            raise RetryableLedgerError(
                _short(f"Twinfield answered the read of customer {code} with another record.")
            )
        return customer

    def _read_many(self, codes: list[str]) -> dict[str, LedgerCustomer | None]:
        """Several `<read>`s in one ProcessXml document (`<reads>`), one request per batch.

        TWINFIELD.md documents no multi-read: only single reads, the Finder (codes and names) and
        an unpaged read-all. So the combined request is a capability, probed per cluster: its reply
        is used only when it answers every read, in order, for the code asked. Any other answer
        (a refusal of the unknown root, a fault, a reply of another shape) makes this cluster fall
        back to one documented `<read>` per code, for the rest of the process.
        """
        if len(codes) == 1 or self.connection.cluster_url in _NO_MULTI_READ:
            return {code: self._read_customer(code) for code in codes}
        request = ET.Element(MULTI_READ)
        for code in codes:
            request.append(self._read_request(code))
        try:
            reply = self._process_xml(request)
        except UnsafeReplyError:
            raise  # whatever sent that, it was no answer about combined reads
        except RejectedLedgerError as exc:
            reply, refusal = None, exc.message
        else:
            refusal = ""
        answers = _children(reply, "dimension") if reply is not None else []
        if (
            reply is None
            or _local(reply.tag) != MULTI_READ
            or len(answers) != len(codes)
            or (len(answers) != len(reply))
        ):
            cluster = self.connection.cluster_url  # known now: the call discovered it
            log.warning(
                "Twinfield cluster %s did not answer a combined read (%s); reading one code "
                "per request from now on.",
                cluster,
                refusal or f"<{_local(reply.tag) if reply is not None else '?'}> reply",
            )
            _NO_MULTI_READ.add(cluster)
            return {code: self._read_customer(code) for code in codes}
        return {
            code: self._read_reply(code, answer)
            for code, answer in zip(codes, answers, strict=True)
        }

    def _search_pages(self, modified_since: str = "") -> Iterator[list[str]]:
        """The Finder's pages of codes, 1-based `firstRow`, until past its `TotalRows`."""
        first_row = 1
        while True:
            total, codes = self._search_page(first_row, modified_since=modified_since)
            yield codes
            first_row += self.page_size
            if not codes or first_row > total:
                return

    def _search_page(
        self, first_row: int, *, modified_since: str = "", rows: int | None = None
    ) -> tuple[int, list[str]]:
        """One Finder page of debtor codes, with the total; `modified_since` adds the documented
        incremental-sync option (hidden debtors included: hiding one is a change too)."""
        search = ET.Element("Search", xmlns=TWF_NS)
        _sub(search, "type", "DIM")
        _sub(search, "pattern", "*")
        _sub(search, "field", "0")
        _sub(search, "firstRow", str(first_row))
        _sub(search, "maxRows", str(rows or self.page_size))
        options = _sub(search, "options")
        wanted = [("dimtype", "DEB")]
        if modified_since:
            wanted += [("modifiedsince", modified_since), ("includehidden", "1")]
        for name, value in wanted:
            pair = _sub(options, "ArrayOfString")
            _sub(pair, "string", name)
            _sub(pair, "string", value)
        reply = self._soap(FINDER_PATH, "Search", search)

        refusals = [
            f"{_text(m, 'Code')}: {_text(m, 'Text')}".strip(": ")
            for m in _children(_child(reply, "SearchResult"), "MessageOfErrorCodes")
            if _text(m, "Type").lower() == "error"
        ]
        if refusals:
            raise RejectedLedgerError(_short("Twinfield's Finder refused: " + "; ".join(refusals)))
        data = _child(reply, "data")
        if data is None:
            return 0, []
        try:
            total = int(_text(data, "TotalRows") or 0)
        except ValueError:
            raise RejectedLedgerError("Twinfield's Finder sent an unreadable TotalRows.") from None
        codes = []
        for row in _children(_child(data, "Items"), "ArrayOfString"):
            cells = _children(row, "string")
            if cells and (code := (cells[0].text or "").strip()):
                codes.append(code)
        return total, codes

    def _process_xml(self, payload: ET.Element, *, idempotent: bool = True) -> ET.Element:
        operation = ET.Element("ProcessXmlString", xmlns=TWF_NS)
        _sub(operation, "xmlRequest", ET.tostring(payload, encoding="unicode"))
        reply = self._soap(PROCESS_XML_PATH, "ProcessXmlString", operation, idempotent=idempotent)
        result = _child(reply, "ProcessXmlStringResult")
        text = result.text if result is not None else None
        if not text or not text.strip():
            raise RetryableLedgerError("Twinfield's ProcessXml reply held no result.")
        # As text, not bytes: the string is already decoded, whatever encoding it may declare.
        return parse_xml(text, what="ProcessXml result")

    # SOAP ---------------------------------------------------------------------------------------

    def _soap(
        self, path: str, operation: str, body: ET.Element, *, idempotent: bool = True
    ) -> ET.Element:
        """One SOAP 1.1 call under the office lock; the operation's response element.

        Waiting as Twinfield asks (TWINFIELD.md §4.3): a 429, a 503, a timeout or a dropped
        connection repeats *this request* after `Retry-After` (else exponential backoff with
        jitter) within `self.patience` (per-request repeats and seconds, the run's deadline), so
        the work already done by the caller is kept. A request that is not idempotent (a write
        that lets Twinfield allocate codes) is repeated only when Twinfield surely did not act on
        it (429, 503, no connection). A refused token is refreshed once and the request repeated.
        Only when the patience is spent does the error reach the caller."""
        with self._lock:
            refresh = refreshed = False
            repeat, spent = 0, 0.0
            while True:
                try:
                    if refresh:
                        refresh, refreshed = False, True
                        self._refresh_access_token()
                    else:
                        self._ensure_token()
                    return self._post_soap(path, operation, body)
                except _TokenRefused:
                    if refreshed:
                        raise RetryableLedgerError(
                            "Twinfield refused the access token even after a refresh."
                        ) from None
                    log.info(
                        "Twinfield refused the access token for office %s; refreshing once.",
                        self.connection.office_code,
                    )
                    refresh = True
                except RetryableLedgerError as exc:
                    if not exc.transient or not (idempotent or exc.unprocessed):
                        raise
                    waited = self.patience.wait(exc, repeat, spent)
                    if waited is None:
                        raise
                    log.info(
                        "%s Office %s: waited %.1f s, repeating the request.",
                        exc.message,
                        self.connection.office_code,
                        waited,
                    )
                    repeat, spent = repeat + 1, spent + waited

    def _envelope(self, body: ET.Element) -> bytes:
        envelope = ET.Element("soap:Envelope", {"xmlns:soap": SOAP_NS})
        header = _sub(_sub(envelope, "soap:Header"), "Header", xmlns=TWF_NS)
        _sub(header, "AccessToken", self.connection.access_token)
        _sub(header, "CompanyCode", self.connection.office_code)
        _sub(envelope, "soap:Body").append(body)
        return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)

    def _post_soap(self, path: str, operation: str, body: ET.Element) -> ET.Element:
        response, content = self._http(
            "POST",
            self.connection.cluster_url + path,
            what=operation,
            data=self._envelope(body),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{TWF_NS}{operation}"',
            },
        )
        status = response.status_code
        if status in (429, 503):
            # Rate limit or overload: the request was not processed (Retry-After, if any, says
            # when to come back).
            raise RetryableLedgerError(
                "Twinfield's rate limit was reached (HTTP 429)."
                if status == 429
                else "Twinfield is unavailable for a moment (HTTP 503).",
                retry_after=_retry_after(response),
                transient=True,
                unprocessed=True,
            )
        envelope: ET.Element | None = None
        if content.strip():
            try:
                envelope = parse_xml(content, what="reply")
            except RetryableLedgerError:
                if status == 200:
                    raise
        soap_body = _child(envelope, "Body") if envelope is not None else None
        fault = _child(soap_body, "Fault")
        if fault is not None:
            self._raise_fault(fault, status)
        if status == 401:
            raise _TokenRefused
        if status >= 500 or status == 408:
            raise RetryableLedgerError(
                f"Twinfield answered HTTP {status}.", transient=status in TRANSIENT_STATUSES
            )
        if status == 400:
            raise RejectedLedgerError("Twinfield refused the request as malformed (HTTP 400).")
        if status != 200:
            raise RejectedLedgerError(f"Twinfield answered HTTP {status}.")
        if envelope is None or _local(envelope.tag) != "Envelope" or soap_body is None:
            raise RetryableLedgerError(f"Twinfield's {operation} reply is not a SOAP envelope.")
        reply = next(iter(soap_body), None)
        if reply is None:
            raise RetryableLedgerError(f"Twinfield's {operation} reply has an empty body.")
        if _local(reply.tag) != f"{operation}Response":
            # E.g. a Finder answer to a ProcessXml call: read as one, it would say "no customers".
            raise RetryableLedgerError(
                _short(f"Twinfield answered {operation} with <{_local(reply.tag)}>.")
            )
        return reply

    def _raise_fault(self, fault: ET.Element, status: int) -> None:
        detail = _child(fault, "detail")
        code = _text(detail, "code")
        message = _short(_text(detail, "message") or _text(fault, "faultstring") or "no message")
        if code in TOKEN_FAULTS or (not code and status == 401):
            raise _TokenRefused
        text = f"Twinfield fault {code or '?'} (HTTP {status}): {message}"
        log.warning(
            "Twinfield fault %s (HTTP %s) for office %s.", code, status, self.connection.office_code
        )
        if code == CLUSTER_FAULT:
            self._forget_cluster()
            raise RetryableLedgerError(text)
        if code in REJECTED_FAULTS or (400 <= status < 500 and status not in (408, 429)):
            raise RejectedLedgerError(text)
        raise RetryableLedgerError(text)

    # OAuth2 -------------------------------------------------------------------------------------

    def _token_due(self) -> bool:
        """Five minutes early, or a fifth of the token's life early when it lives shorter (a token
        of seconds, as a test plays, would otherwise be refreshed before every call)."""
        expires_at = self.connection.access_token_expires_at
        margin = REFRESH_MARGIN
        if self._token_life is not None:
            margin = min(margin, self._token_life / 5)
        return (
            not self.connection.access_token_encrypted
            or expires_at is None
            or timezone.now() >= expires_at - margin
        )

    def _ensure_token(self) -> None:
        connection = self.connection
        if self._token_due() and connection.pk is not None:
            # Another adapter in this process may have refreshed since this row was loaded; with
            # a rotating refresh token, refreshing again from the stale one would fail.
            connection.refresh_from_db(
                fields=[
                    "access_token_encrypted",
                    "access_token_expires_at",
                    "refresh_token_encrypted",
                    "cluster_url",
                ]
            )
        if self._token_due():
            self._refresh_access_token()
        elif not connection.cluster_url:
            try:
                self._discover_cluster()
            except _TokenRefused:
                self._refresh_access_token()

    def _refresh_access_token(self) -> None:
        connection = self.connection
        if not (connection.client_id and connection.refresh_token):
            raise RejectedLedgerError(
                "Twinfield is not connected: client id or refresh token missing."
            )
        response, content = self._http(
            "POST",
            connection.login_url.rstrip("/") + TOKEN_PATH,
            what="token refresh",
            auth=(connection.client_id, connection.client_secret),
            data={"grant_type": "refresh_token", "refresh_token": connection.refresh_token},
            headers={"Accept": "application/json"},
        )
        status = response.status_code
        _raise_if_login_unavailable(response, "login")
        data = self._json(content)
        if status != 200:
            # invalid_grant (refresh token revoked or expired) or invalid_client (wrong secret):
            # only a person reconnecting Twinfield can cure that, so retrying is pointless.
            error = data.get("error")
            if not isinstance(error, str) or not error:
                error = f"HTTP {status}"
            raise RejectedLedgerError(
                f"Twinfield refused to refresh the access token ({_short(error)}); "
                "connect Twinfield again."
            )
        access_token = data.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise RetryableLedgerError("Twinfield's token reply held no access token.")
        try:
            lifetime = int(data.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600
        connection.access_token = access_token
        connection.access_token_expires_at = timezone.now() + timedelta(seconds=lifetime)
        self._token_life = timedelta(seconds=lifetime)
        fields = ["access_token_encrypted", "access_token_expires_at"]
        rotated = data.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != connection.refresh_token:
            connection.refresh_token = rotated
            fields.append("refresh_token_encrypted")
        connection.save(update_fields=fields)
        log.info("Refreshed the Twinfield access token for office %s.", connection.office_code)
        try:
            self._discover_cluster()  # the organisation's cluster can move: re-validate each time
        except _TokenRefused:
            raise RetryableLedgerError(
                "Twinfield's login refused the access token it had just issued."
            ) from None

    def _discover_cluster(self) -> None:
        connection = self.connection
        response, content = self._http(
            "GET",
            connection.login_url.rstrip("/") + VALIDATION_PATH,
            what="token validation",
            params={"token": connection.access_token},
            auth=(connection.client_id, connection.client_secret),
            headers={"Accept": "application/json"},
        )
        status = response.status_code
        if status == 400:  # {"Message": "..."}: the token is invalid or expired
            raise _TokenRefused
        _raise_if_login_unavailable(response, "token validation")
        if status != 200:
            raise RejectedLedgerError(f"Twinfield's token validation answered HTTP {status}.")
        cluster = self._json(content).get("twf.clusterUrl")
        if not isinstance(cluster, str) or not cluster.strip():
            raise RejectedLedgerError(
                "Twinfield's token carries no cluster; the connection needs the "
                "twf.organisation scope."
            )
        cluster = cluster.strip().rstrip("/")
        parts = urlsplit(cluster)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RejectedLedgerError("Twinfield named an unusable cluster URL.")
        if parts.scheme == "http" and urlsplit(connection.login_url).scheme == "https":
            raise RejectedLedgerError(
                "Twinfield named a cluster without TLS; refused to send tokens there."
            )
        if cluster != connection.cluster_url:
            connection.cluster_url = cluster
            connection.save(update_fields=["cluster_url"])

    def _forget_cluster(self) -> None:
        if self.connection.cluster_url:
            self.connection.cluster_url = ""
            self.connection.save(update_fields=["cluster_url"])

    # HTTP ---------------------------------------------------------------------------------------

    def _json(self, content: bytes) -> dict[str, Any]:
        try:
            data = json.loads(content or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _http(
        self, method: str, url: str, *, what: str, **kwargs: Any
    ) -> tuple[requests.Response, bytes]:
        """One request with explicit timeouts, no redirects, and a capped body. Network errors
        become retryable; their text is redacted, as the validation URL holds a token, and they
        are raised outside the `except` so that requests' own exception is not their context."""
        failure: RetryableLedgerError | None = None
        try:
            response = self.session.request(
                method, url, timeout=self.timeout, stream=True, allow_redirects=False, **kwargs
            )
        except requests.Timeout as exc:
            failure = RetryableLedgerError(
                f"Twinfield did not answer in time ({what}).",
                transient=True,
                unprocessed=isinstance(exc, requests.ConnectTimeout),
            )
        except requests.RequestException as exc:
            failure = RetryableLedgerError(
                _short(f"Could not reach Twinfield ({what}): {_redact(str(exc))}"),
                transient=isinstance(exc, requests.ConnectionError),
            )
        if failure is not None:
            raise failure
        with response:
            if 300 <= response.status_code < 400:
                raise RejectedLedgerError(
                    f"Twinfield redirected the {what} (HTTP {response.status_code}); check the URLs."
                )
            return response, self._read_body(response, what)

    def _read_body(self, response: requests.Response, what: str) -> bytes:
        """The body, refused once it passes `max_reply_bytes` or the read timeout as a whole.

        Read from the raw stream with `read1`, which returns what one receive brought: a plain
        `read(n)` waits until n bytes are in, so a reply trickling in a byte at a time would
        never reach the deadline check. Compressed replies are refused unread (Kring asks for
        `identity`), so the cap counts the bytes that will be parsed."""
        too_large = UnsafeReplyError(
            f"Twinfield's {what} reply is larger than {self.max_reply_bytes} bytes; refused to read it."
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_reply_bytes:
            raise too_large
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise UnsafeReplyError(
                f"Twinfield's {what} reply came compressed ({_short(encoding)[:40]}) although none "
                "was asked for; refused to read it."
            )
        deadline = time.monotonic() + self.timeout[1]
        chunks, size = [], 0
        failure: RetryableLedgerError | None = None
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=False):
                size += len(chunk)
                if size > self.max_reply_bytes:
                    raise too_large
                if time.monotonic() > deadline:
                    raise RetryableLedgerError(f"Twinfield's {what} reply came in too slowly.")
                chunks.append(chunk)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
            failure = RetryableLedgerError(f"Twinfield's {what} reply broke off.")
        if failure is not None:
            raise failure
        return b"".join(chunks)
