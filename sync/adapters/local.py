"""The embedded default ledger: debtors in Kring's own tables, behaving like a ledger would.

It allocates codes when none is given, keeps typed addresses and banks as sent (complete sets),
refuses an invalid IBAN or an over-long account holder per item, and upserts on code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import schwifty
import schwifty.exceptions
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils import timezone

from practice.models import Practice
from sync.adapters.base import ChangeFeed, LedgerCustomer, Patience, UpsertResult
from sync.mapping import customer_from_dict, customer_to_dict
from sync.models import LocalDebtor

PAGE = 500


class LocalAdapter:
    """The ledger protocol (sync.adapters.base) over LocalDebtor. In the same database as Kring, so
    it needs no change feed (a read costs a query), never waits, and writes in the drain's turn."""

    max_batch = 25
    overlaps_writes = False
    patience: Patience | None = None

    def __init__(self, practice: Practice) -> None:
        self.practice = practice

    def change_feed(self) -> ChangeFeed | None:
        return None

    def count_customers(self) -> int | None:
        return LocalDebtor.objects.filter(practice=self.practice).count()

    def list_customers(self) -> Iterator[LedgerCustomer]:
        last = ""
        while True:
            page = list(
                LocalDebtor.objects.filter(practice=self.practice, code__gt=last).order_by("code")[
                    :PAGE
                ]
            )
            for debtor in page:
                yield customer_from_dict(debtor.record)
            if len(page) < PAGE:
                return
            last = page[-1].code

    def get_customers(self, codes: Sequence[str]) -> dict[str, LedgerCustomer | None]:
        found = {
            d.code: customer_from_dict(d.record)
            for d in LocalDebtor.objects.filter(practice=self.practice, code__in=codes)
        }
        return {code: found.get(code) for code in codes}

    def _validate(self, customer: LedgerCustomer) -> list[str]:
        messages = []
        if not customer.name.strip():
            messages.append("Naam moet worden ingevuld.")
        for bank in customer.banks:
            try:
                schwifty.IBAN(bank.iban)
            except (schwifty.exceptions.SchwiftyException, ValueError):
                messages.append(f"IBAN {bank.iban} is ongeldig.")
            if len(bank.holder) > 40:
                messages.append("Begunstigde is ongeldig.")
        if sum(b.default for b in customer.banks) > 1:
            messages.append("Er mag maar één standaardrekening zijn.")
        return messages

    def _next_code(self) -> str:
        numeric = LocalDebtor.objects.filter(practice=self.practice, code__regex=r"^[0-9]+$")
        longest = numeric.annotate(n=Length("code")).aggregate(m=Max("n"))["m"]
        top = numeric.annotate(n=Length("code")).filter(n=longest).aggregate(m=Max("code"))["m"]
        return str(int(top) + 1) if top else "1000"

    @transaction.atomic
    def upsert_customers(self, batch: Sequence[LedgerCustomer]) -> list[UpsertResult]:
        results = []
        for customer in batch:
            messages = self._validate(customer)
            if messages:
                results.append(UpsertResult(code=customer.code, ok=False, messages=tuple(messages)))
                continue
            code = customer.code or self._next_code()
            record = customer_to_dict(customer)
            record["code"] = code
            debtor = (
                LocalDebtor.objects.select_for_update()
                .filter(practice=self.practice, code=code)
                .first()
            )
            if debtor is None:
                LocalDebtor.objects.create(practice=self.practice, code=code, record=record)
            else:
                debtor.record = record
                debtor.touched += 1
                debtor.modified_at = timezone.now()
                debtor.save(update_fields=["record", "touched", "modified_at"])
            results.append(UpsertResult(code=code, ok=True))
        return results
