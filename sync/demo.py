"""The demo practice's local ledger for `seed_demo`: a few hundred debtors that Kring does not know
yet (so "Import debtors" has something to import), and Kring's own demo clients pushed to it."""

from __future__ import annotations

import random

import schwifty

from sync.adapters.base import LedgerAddress, LedgerBank, LedgerCustomer
from sync.drain import push_practice
from sync.mapping import customer_to_dict
from sync.models import LocalDebtor

TARGET = 300
FIRST_CODE = 20000
NAMES = [
    "Bakkerij",
    "Garage",
    "Bloemisterij",
    "Schoonmaakbedrijf",
    "Fietsenmaker",
    "Slagerij",
    "Reisbureau",
    "Kinderopvang",
    "Loodgietersbedrijf",
    "Hoveniersbedrijf",
    "Studio",
]
PEOPLE = [
    "P. Jansen",
    "M. de Boer",
    "A. van Dijk",
    "K. Visser",
    "S. Bakker",
    "J. Smit",
    "L. Meijer",
]
CITIES = [
    ("Utrecht", "3511"),
    ("Zwolle", "8011"),
    ("Delft", "2611"),
    ("Leiden", "2311"),
    ("Gouda", "2801"),
]


def _debtor(rng: random.Random, number: int) -> LedgerCustomer:
    company = rng.random() < 0.7
    city, pc = rng.choice(CITIES)
    name = f"{rng.choice(NAMES)} {rng.choice(['Noord', 'Zuid', 'Centrum', 'De Hoek', 'Van Rijn'])}"
    name = (
        f"{name} B.V."
        if company and rng.random() < 0.6
        else (name if company else rng.choice(PEOPLE))
    )
    iban = schwifty.IBAN.generate(
        "NL", bank_code="RABO", account_code=f"{3000000000 + number * 7919:010d}"
    )
    return LedgerCustomer(
        code=str(number),
        name=name,
        addresses=(
            LedgerAddress(
                type="invoice",
                line=f"Marktstraat {rng.randint(1, 200)}",
                postcode=f"{pc} {rng.choice(['AB', 'CD', 'EF'])}",
                city=city,
                default=True,
            ),
        ),
        banks=(
            LedgerBank(
                iban=iban.compact,
                bic=iban.bic.compact if iban.bic else "",
                holder=name[:40],
                bank_name=iban.bank_name or "",
                default=True,
            ),
        ),
        kvk_number=f"{rng.randint(10000000, 99999999)}" if company else "",
        email=f"administratie{number}@example.nl",
    )


def seed(*, practice, user, stdout) -> None:
    rng = random.Random(f"kring-ledger-{practice.slug}")  # noqa: S311 - demo data
    existing = set(
        LocalDebtor.objects.filter(practice=practice, code__gte=str(FIRST_CODE)).values_list(
            "code", flat=True
        )
    )
    debtors = []
    for number in range(FIRST_CODE, FIRST_CODE + TARGET):
        customer = _debtor(rng, number)
        if customer.code not in existing:
            debtors.append(
                LocalDebtor(
                    practice=practice, code=customer.code, record=customer_to_dict(customer)
                )
            )
    LocalDebtor.objects.bulk_create(debtors)
    report = push_practice(practice)
    stdout.write(
        f"sync: {len(debtors)} debtors added to the local ledger; {report.pushed} clients pushed to it"
    )
