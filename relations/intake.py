"""Relations as the ledger holds them, taken in by the thousand: the ledger import and "take the
ledger's" (sync) hand relations `LedgerRecord`s and relations writes them.

`create_from_ledger(practice=, user=, records=)` adds new clients: rows composed as plain tuples (no
model instance built) and written with COPY (relations.bulk), their addresses, bank accounts and
"created" events with them. `update_from_ledger(user=, changes=)` makes existing clients hold the
records: their fields, their addresses and bank accounts replaced, through the write path
(relations.changes: a new `version`, a "changed" event) in a few statements for the lot.

What the ledger sends is its own data, so neither moves the outbox (`ledger_version`): the ledger
holds this already. Values are taken as given: the caller (sync.importer) has checked them with
relations.identifiers and says in `review_notes` what Kring's forms would refuse. The one-default
rule (relations.models, "one default per type") is applied here: the first the ledger marks wins.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from practice.models import Practice
from relations import bulk
from relations.changes import record_changes
from relations.models import (
    Address,
    BankAccount,
    Relation,
    TimelineEvent,
    one_default_each,
    search_text_of,
)


@dataclass(slots=True)
class AddressValues:
    type: str
    street: str
    city: str
    house_number: str = ""
    house_number_addition: str = ""
    postcode: str = ""
    country: str = "NL"
    is_default: bool = True


@dataclass(slots=True)
class BankValues:
    iban: str
    bic: str = ""
    holder: str = ""
    bank_name: str = ""
    is_default: bool = True


@dataclass(slots=True)
class LedgerRecord:
    """One debtor as Kring stores it: `name` is the legal name of a company, the last name of a
    person (the ledger holds one name). `review_notes`: {"field", "message"} per value kept as
    imported that the forms would refuse (`Relation.review_notes`); None leaves an existing
    relation's notes as they are ("take the ledger's" checks nothing)."""

    code: str
    name: str
    company: bool
    email: str = ""
    website: str = ""
    vat_number: str = ""
    kvk_number: str = ""
    addresses: Sequence[AddressValues] = ()
    banks: Sequence[BankValues] = ()
    review_notes: list[dict[str, str]] | None = None


# What a record sets on a relation, besides the details (`apply_record`).
RECORD_FIELDS = (
    "legal_name",
    "trade_name",
    "vat_number",
    "kvk_number",
    "first_name",
    "initials",
    "name_prefix",
    "last_name",
    "email",
    "website",
    "display_name",
    "search_text",
    "needs_review",
    "review_notes",
)

# Where a new relation's `version` and `ledger_version` start: what `create_from_ledger` writes,
# and so what the caller's "pushed" mark is for a client taken in from the ledger.
FIRST_VERSION = 1

# The columns of the details' rows: the relation, then the values' own fields, in their order.
_ADDRESS_FIELDS = tuple(f.name for f in dataclasses.fields(AddressValues))
_BANK_FIELDS = tuple(f.name for f in dataclasses.fields(BankValues))
_ADDRESS_COLUMNS = ("relation_id", *_ADDRESS_FIELDS)
_BANK_COLUMNS = ("relation_id", *_BANK_FIELDS)
_EVENT_COLUMNS = ("practice_id", "relation_id", "actor_id", "kind", "fields", "created_at")
_address_row = attrgetter(*_ADDRESS_FIELDS)
_bank_row = attrgetter(*_BANK_FIELDS)


def _cities(record: LedgerRecord) -> list[str]:
    return sorted({a.city for a in record.addresses if a.city and a.city != "-"})


def _settle_details(record: LedgerRecord) -> tuple[list[AddressValues], list[BankValues]]:
    """The one-default rule, and each IBAN once per relation (a constraint): the first wins."""
    addresses = list(record.addresses)
    one_default_each(addresses, group=lambda a: a.type)
    banks, ibans = [], set()
    for bank in record.banks:
        if bank.iban not in ibans:
            ibans.add(bank.iban)
            banks.append(bank)
    one_default_each(banks)
    return addresses, banks


def _write_details(pairs: Iterable[tuple[int, LedgerRecord]]) -> None:
    addresses: list[tuple[Any, ...]] = []
    banks: list[tuple[Any, ...]] = []
    for relation_id, record in pairs:
        kept_addresses, kept_banks = _settle_details(record)
        addresses += [(relation_id, *_address_row(a)) for a in kept_addresses]
        banks += [(relation_id, *_bank_row(b)) for b in kept_banks]
    bulk.copy_rows(Address, _ADDRESS_COLUMNS, addresses)
    bulk.copy_rows(BankAccount, _BANK_COLUMNS, banks)


def _names(record: LedgerRecord, company: bool) -> dict[str, str]:
    """The name fields a record sets: a company's legal name, or a person's last name alone."""
    if company:
        return {"legal_name": record.name, "trade_name": ""}
    return {"last_name": record.name, "first_name": "", "initials": "", "name_prefix": ""}


def create_from_ledger(
    *,
    practice: Practice,
    user: User | None,
    records: Sequence[LedgerRecord],
    now: datetime | None = None,
) -> list[int]:
    """Add a client per record (code frozen: the ledger knows it under its code), with its
    addresses, bank accounts and "created" event. Returns the new relations' ids, in order; each
    starts at `version` and `ledger_version` `FIRST_VERSION`."""
    if not records:
        return []
    now = now or timezone.now()
    ids = bulk.next_ids(Relation, len(records))
    base = bulk.column_defaults(Relation)
    base.update(
        practice_id=practice.pk,
        kind=Relation.Kind.CLIENT,
        code_frozen=True,
        created_at=now,
        updated_at=now,
        created_by_id=getattr(user, "pk", None),
        updated_by_id=getattr(user, "pk", None),
        version=FIRST_VERSION,
        ledger_version=FIRST_VERSION,
    )
    columns = ["id", *base]
    rows = []
    for pk, record in zip(ids, records, strict=True):
        values = dict(base)
        values.update(_names(record, record.company))
        display_name = record.name
        kvk = record.kvk_number if record.company else ""
        values.update(
            id=pk,
            public_id=uuid.uuid4(),
            entity=Relation.Entity.COMPANY if record.company else Relation.Entity.PRIVATE,
            client_code=record.code,
            display_name=display_name,
            email=record.email,
            website=record.website,
            vat_number=record.vat_number if record.company else "",
            kvk_number=kvk,
            needs_review=bool(record.review_notes),
            review_notes=record.review_notes or [],
            search_text=search_text_of(
                display_name,
                record.name if record.company else "",
                record.code,
                record.email,
                kvk,
                _cities(record),
            ),
        )
        rows.append([values[name] for name in columns])
    bulk.copy_rows(Relation, columns, rows)
    _write_details(zip(ids, records, strict=True))
    actor = getattr(user, "pk", None)
    bulk.copy_rows(
        TimelineEvent,
        _EVENT_COLUMNS,
        ((practice.pk, pk, actor, TimelineEvent.Kind.CREATED, [], now) for pk in ids),
    )
    return ids


def apply_record(relation: Relation, record: LedgerRecord) -> None:
    """Set the record's values on `relation` (not saved; details aside): `RECORD_FIELDS`."""
    for name, value in _names(record, relation.is_company).items():
        setattr(relation, name, value)
    if relation.is_company:
        relation.vat_number = record.vat_number
        relation.kvk_number = record.kvk_number
    relation.email = record.email
    relation.website = record.website
    relation.display_name = relation.compose_display_name()
    if record.review_notes is not None:
        relation.needs_review = bool(record.review_notes)
        relation.review_notes = record.review_notes
    relation.search_text = relation.compose_search_text(cities=_cities(record))


def update_from_ledger(
    *,
    user: User | None,
    changes: Sequence[tuple[Relation, LedgerRecord, Iterable[str]]],
    now: datetime | None = None,
) -> None:
    """Make each relation hold its record: fields, addresses and bank accounts, with a "changed"
    event naming the fields given. The relations keep their type (a company stays one): the
    record's `company` only decides for new ones. The caller holds the rows locked."""
    if not changes:
        return
    relations = [relation for relation, _record, _fields in changes]
    for relation, record, _fields in changes:
        apply_record(relation, record)
    ids = [relation.pk for relation in relations]
    Address.objects.filter(relation_id__in=ids).delete()
    BankAccount.objects.filter(relation_id__in=ids).delete()
    _write_details((relation.pk, record) for relation, record, _fields in changes)
    record_changes(
        relations,
        user=user,
        event=TimelineEvent.Kind.CHANGED,
        columns=RECORD_FIELDS,
        fields={relation.pk: list(fields) for relation, _record, fields in changes},
        ledger=False,
        now=now,
    )
