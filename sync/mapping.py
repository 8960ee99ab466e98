"""Between a Kring client and the ledger's debtor record (sync.adapters.base.LedgerCustomer)."""

from __future__ import annotations

import re

from relations.intake import AddressValues, BankValues, LedgerRecord
from relations.models import Address, Relation
from sync.adapters.base import LedgerAddress, LedgerBank, LedgerCustomer

# Words in a debtor's name that say "company" when the ledger does not (import guesses the type).
COMPANY_MARKERS = re.compile(
    r"\b(b\.?\s?v\.?|n\.?\s?v\.?|v\.?o\.?f\.?|c\.?v\.?|stichting|vereniging|co[oö]peratie|"
    r"maatschap|holding|groep|beheer|bedrijf|bakkerij|installatie|advies|transport|bouw)\b",
    re.IGNORECASE,
)


def customer_for(relation: Relation) -> LedgerCustomer:
    """The full state the ledger should hold for this client (never the BSN, never notes)."""
    addresses = tuple(
        LedgerAddress(
            type=a.type,
            line=a.street_line,
            postcode=a.postcode,
            city=a.city,
            country=a.country,
            default=a.is_default,
        )
        for a in sorted(relation.addresses.all(), key=lambda a: (a.type, a.pk))
    )
    banks = tuple(
        LedgerBank(
            iban=b.iban, bic=b.bic, holder=b.holder, bank_name=b.bank_name, default=b.is_default
        )
        for b in sorted(relation.bank_accounts.all(), key=lambda b: b.pk)
    )
    return LedgerCustomer(
        code=relation.client_code,
        name=relation.display_name,
        addresses=addresses,
        banks=banks,
        vat_number=relation.vat_number if relation.is_company else "",
        kvk_number=relation.kvk_number if relation.is_company else "",
        email=relation.email,
        website=relation.website,
    )


def looks_like_company(customer: LedgerCustomer) -> bool:
    return bool(customer.kvk_number or customer.vat_number or COMPANY_MARKERS.search(customer.name))


_STREET = re.compile(r"^(?P<street>.*?)\s+(?P<number>\d+)\s*[-\s]?(?P<addition>[A-Za-z0-9]{0,6})$")


def split_street_line(line: str) -> tuple[str, str, str]:
    """'Keizersgracht 123-A' → ('Keizersgracht', '123', 'A'); a line without a number stays whole."""
    match = _STREET.match(line.strip())
    if not match:
        return line.strip(), "", ""
    return match["street"], match["number"], match["addition"]


_ADDRESS_TYPES = frozenset(Address.Type.values)  # the enum builds its list anew on every access


def address_type(ledger_type: str) -> str:
    """Kring's type for a ledger address: its own when Kring knows it, else an invoice address."""
    return ledger_type if ledger_type in _ADDRESS_TYPES else Address.Type.INVOICE


def address_from(ledger: LedgerAddress) -> AddressValues:
    street, number, addition = split_street_line(ledger.line)
    return AddressValues(
        type=address_type(ledger.type),
        street=street[:120] or "-",
        house_number=number[:10],
        house_number_addition=addition[:10],
        postcode=ledger.postcode[:12],
        city=ledger.city[:80] or "-",
        country=(ledger.country or "NL")[:2].upper(),
        is_default=ledger.default,
    )


def bank_from(ledger: LedgerBank) -> BankValues:
    return BankValues(
        iban=ledger.iban,
        bic=ledger.bic,
        holder=ledger.holder[:40],
        bank_name=ledger.bank_name[:100],
        is_default=ledger.default,
    )


def record_from(
    customer: LedgerCustomer, *, company: bool, review_notes: list[dict[str, str]] | None = None
) -> LedgerRecord:
    """The debtor as relations takes it in (relations.intake), its values as given: the import
    checks them first (sync.importer)."""
    return LedgerRecord(
        code=customer.code,
        name=customer.name,
        company=company,
        email=customer.email,
        website=customer.website,
        vat_number=customer.vat_number,
        kvk_number=customer.kvk_number,
        addresses=[address_from(a) for a in customer.addresses],
        banks=[bank_from(b) for b in customer.banks],
        review_notes=review_notes,
    )


def customer_to_dict(customer: LedgerCustomer) -> dict:
    data = customer.as_dict()
    if customer.raw:  # the ledger's complete record: what a later write is built on
        data["raw"] = customer.raw
    return data


def customer_from_dict(data: dict) -> LedgerCustomer:
    return LedgerCustomer(
        code=data["code"],
        name=data["name"],
        addresses=tuple(LedgerAddress(**a) for a in data.get("addresses", ())),
        banks=tuple(LedgerBank(**b) for b in data.get("banks", ())),
        vat_number=data.get("vat_number", ""),
        kvk_number=data.get("kvk_number", ""),
        email=data.get("email", ""),
        website=data.get("website", ""),
        raw=data.get("raw", ""),
    )
