"""Office-scale demo data for `seed_demo --relations N`: tens of thousands of relations in seconds.

`relations.demo` builds a few hundred rows one `save()` at a time, through the same code paths as the
app. At 100,000 rows that would take an hour, so this module composes every row in Python — the
display name and the search text with the model's own `compose_*` methods, so that search finds them
exactly as it finds rows saved by a person — and writes them in large batches through `relations.bulk` (COPY on PostgreSQL). Apps built on
relations add their share through a `seed_at_scale` hook in their `demo` module (connections).
Valid BSNs, VAT numbers and IBANs come from small pools drawn once: validating per row is what is slow.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from importlib import import_module
from importlib.util import find_spec
from itertools import islice
from typing import Any

import schwifty
from django.apps import apps
from django.db import transaction
from django.utils import timezone

from practice.models import Practice
from relations.bulk import BATCH_SIZE, insert_with_ids, write
from relations.demo import (
    CITIES,
    FIRST,
    FORMS,
    LAST,
    STREETS,
    TRADES,
    _bsn,
    _iban,
    _vat,
    dutch_phone,
)
from relations.models import (
    MANAGER_KEY,
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
    TimelineEvent,
)
from relations.text import fold

POOL_SIZE = 500
ARCHIVED_SHARE = 0.03
# A rare word for benchmarks and tests: a handful of rows carry it, the rest never do.
RARE_WORD = "Zwaluwstaart"
RARE_EVERY = 20_000
SUFFIX = {"bv": " B.V.", "nv": " N.V.", "vof": " V.O.F."}
LETTERS = "ABCDEGHJKLMNPRSTVWXZ"


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class _Pools:
    """Numbers that pass their checksums, drawn once; rows pick from them."""

    def __init__(self, rng: random.Random) -> None:
        self.bsns = [_bsn(rng) for _ in range(POOL_SIZE)]
        self.vats = [_vat(rng) for _ in range(POOL_SIZE)]
        self.banks = []
        for _ in range(POOL_SIZE // 5):
            iban = schwifty.IBAN(_iban(rng))
            self.banks.append(
                (iban.compact, iban.bic.compact if iban.bic else "", iban.bank_name or "")
            )


def _relation(
    rng: random.Random, pools: _Pools, practice: Practice, user: Any, n: int, now: Any
) -> tuple[Relation, str, str]:
    """One relation (not saved), its city and its postcode prefix."""
    # All four kinds: client and contact, each as company and as private person.
    kind = "client" if rng.random() < 0.6 else "contact"
    entity = "company" if rng.random() < 0.55 else "private"
    created = now - timedelta(days=rng.randint(0, 3000), seconds=rng.randint(0, 86_399))
    relation = Relation(
        practice=practice,
        kind=kind,
        entity=entity,
        created_by=user,
        updated_by=user,
        created_at=created,
        updated_at=created,
        phone=dutch_phone(rng.randint(10, 99), rng.randint(1000000, 9999999)),
    )
    prefix, last = rng.choice(LAST)
    first = rng.choice(FIRST)
    if entity == "company":
        trade = RARE_WORD if n % RARE_EVERY == 7 else rng.choice(TRADES)
        form = "eenmanszaak" if kind == "contact" else rng.choice(FORMS)
        family = f"{prefix.title()} {last}".strip()
        relation.legal_name = f"{trade} {family}{SUFFIX.get(form, '')}"
        relation.legal_form = form
        relation.kvk_number = f"{rng.randint(10000000, 99999999)}"
        relation.vat_number = rng.choice(pools.vats)
        relation.sbi_code = str(rng.randint(1000, 9999))
        relation.founded_on = date(rng.randint(1975, 2024), rng.randint(1, 12), rng.randint(1, 28))
        relation.fiscal_year_end_month = 12
        relation.email = f"info@{fold(trade).replace(' ', '')}{last.lower()}{n}.nl"
    else:
        relation.salutation = rng.choice(("mr", "mrs", "neutral"))
        relation.first_name, relation.name_prefix, relation.last_name = first, prefix, last
        relation.initials = f"{first[0]}."
        relation.date_of_birth = date(
            rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
        )
        relation.bsn = rng.choice(pools.bsns)
        relation.email = f"{fold(first)}.{last.lower()}{n}@example.nl"
    if rng.random() < ARCHIVED_SHARE:
        relation.archived_at, relation.archived_by = now, user
    relation.display_name = relation.compose_display_name()
    city, postcode = rng.choice(CITIES)
    return relation, city, postcode


def seed_relations(*, practice: Practice, user: Any, count: int, stdout: Any = None) -> int:
    """Add `count` relations with addresses, bank accounts, agreements, team and connections.

    Returns the number added. Client codes continue the practice's sequence, skipping codes in use.
    """
    rng = random.Random(f"kring-bulk-{practice.slug}-{count}")  # noqa: S311 - demo data
    pools = _Pools(rng)
    now = timezone.now()
    used = set(
        Relation.objects.filter(practice=practice)
        .exclude(client_code="")
        .values_list("client_code", flat=True)
    )
    next_code = practice.client_code_next
    start = Relation.objects.filter(practice=practice).count()
    added = 0
    companies: list[int] = []
    people: list[int] = []
    for batch in _batches(range(start, start + count), BATCH_SIZE):
        with transaction.atomic():
            built = [_relation(rng, pools, practice, user, n, now) for n in batch]
            for relation, city, _postcode in built:
                if relation.kind == "client":
                    while str(next_code) in used:
                        next_code += 1
                    relation.client_code = str(next_code)
                    next_code += 1
                # The visiting address is created below; its city is part of what search matches.
                relation.search_text = relation.compose_search_text(cities=[city])
            insert_with_ids(Relation, [r for r, _, _ in built])
            _children(rng, pools, practice, user, built, now)
            for relation, _, _ in built:
                if relation.archived_at is None:
                    (companies if relation.is_company else people).append(relation.pk)
            added += len(built)
        if stdout is not None:
            stdout.write(f"relations: {added} of {count} added")
    Practice.objects.filter(pk=practice.pk).update(client_code_next=next_code)
    practice.client_code_next = next_code
    # Apps built on relations (connections) add their office-scale data through their own
    # `demo.seed_at_scale`, as `seed_demo` finds their `demo.seed`: relations never imports them.
    for config in apps.get_app_configs():
        if config.name == "relations" or find_spec(f"{config.name}.demo") is None:
            continue
        hook = getattr(import_module(f"{config.name}.demo"), "seed_at_scale", None)
        if hook is not None:
            with transaction.atomic():
                hook(
                    rng,
                    practice=practice,
                    user=user,
                    companies=companies,
                    people=people,
                    stdout=stdout,
                )
    return added


def _children(
    rng: random.Random,
    pools: _Pools,
    practice: Practice,
    user: Any,
    built: list[tuple[Relation, str, str]],
    now: Any,
) -> None:
    addresses, banks, agreements, team, events = [], [], [], [], []
    TeamRole.objects.seed(practice.pk)
    manager_role = TeamRole.objects.get(practice=practice, key=MANAGER_KEY)
    services = ServiceAgreement.Service.values
    for relation, city, postcode in built:
        addresses.append(
            Address(
                relation=relation,
                type="visiting",
                street=rng.choice(STREETS),
                house_number=str(rng.randint(1, 250)),
                postcode=f"{postcode}{rng.randint(10, 99)} {rng.choice(LETTERS)}{rng.choice(LETTERS)}",
                city=city,
            )
        )
        if relation.is_company and rng.random() < 0.3:
            addresses.append(
                Address(
                    relation=relation,
                    type="postal",
                    street="Postbus",
                    house_number=str(rng.randint(100, 9999)),
                    postcode=f"{postcode}00 AA",
                    city=city,
                )
            )
        if rng.random() < 0.8:
            iban, bic, bank_name = rng.choice(pools.banks)
            banks.append(
                BankAccount(
                    relation=relation,
                    iban=iban,
                    bic=bic,
                    bank_name=bank_name,
                    holder=relation.display_name[:40],
                )
            )
        if relation.is_client:
            team.append(
                TeamAssignment(
                    practice=practice,
                    relation=relation,
                    user=user,
                    role=MANAGER_KEY,
                    team_role=manager_role,
                )
            )
            if rng.random() < 0.7:
                agreements.append(
                    ServiceAgreement(
                        practice=practice,
                        relation=relation,
                        service=rng.choice(services),
                        start_date=date(rng.randint(2015, 2025), 1, 1),
                    )
                )
        events.append(
            TimelineEvent(
                practice=practice,
                relation=relation,
                actor=user,
                kind=TimelineEvent.Kind.CREATED,
                created_at=relation.created_at,
            )
        )
        if relation.archived_at is not None:
            events.append(
                TimelineEvent(
                    practice=practice,
                    relation=relation,
                    actor=user,
                    kind=TimelineEvent.Kind.ARCHIVED,
                    created_at=now,
                )
            )
    for model, rows in (
        (Address, addresses),
        (BankAccount, banks),
        (ServiceAgreement, agreements),
        (TeamAssignment, team),
        (TimelineEvent, events),
    ):
        write(model, rows)
