"""Demo relations for `seed_demo`: a few hundred of all four kinds, with valid numbers, some archived."""

from __future__ import annotations

import random
from datetime import date, timedelta

import schwifty
from django.db.models import Max
from django.utils import timezone
from stdnum.eu import vat
from stdnum.nl import bsn

from relations.models import (
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
    TimelineEvent,
)

TARGET = 300
CITIES = [
    ("Amsterdam", "10"),
    ("Rotterdam", "30"),
    ("Utrecht", "35"),
    ("Den Haag", "25"),
    ("Eindhoven", "56"),
    ("Groningen", "97"),
    ("Tilburg", "50"),
    ("Almere", "13"),
    ("Breda", "48"),
    ("Nijmegen", "65"),
    ("Zwolle", "80"),
    ("Leeuwarden", "89"),
    ("Haarlem", "20"),
    ("Arnhem", "68"),
    ("Maastricht", "62"),
]
STREETS = [
    "Hoofdstraat",
    "Kerkstraat",
    "Dorpsstraat",
    "Stationsweg",
    "Molenweg",
    "Schoolstraat",
    "Nieuwstraat",
    "Marktplein",
    "Julianalaan",
    "Beatrixlaan",
    "Industrieweg",
    "Havenkade",
]
FIRST = [
    "Jan",
    "Piet",
    "Anna",
    "Sanne",
    "Daan",
    "Emma",
    "Lotte",
    "Sem",
    "Fleur",
    "Bram",
    "Noor",
    "Ruben",
    "Eva",
    "Thijs",
    "Iris",
    "Joost",
    "Mirjam",
    "Kees",
    "Hanneke",
    "Özlem",
    "Zoë",
    "Chloë",
]
LAST = [
    ("", "Jansen"),
    ("de", "Vries"),
    ("van den", "Berg"),
    ("", "Bakker"),
    ("", "Visser"),
    ("", "Smit"),
    ("", "Meijer"),
    ("de", "Boer"),
    ("", "Mulder"),
    ("de", "Groot"),
    ("", "Bos"),
    ("van", "Dijk"),
    ("", "Peters"),
    ("", "Hendriks"),
    ("van", "Leeuwen"),
    ("", "Dekker"),
]
TRADES = [
    "Bakkerij",
    "Installatiebedrijf",
    "Schildersbedrijf",
    "Advies",
    "Transport",
    "Bouwbedrijf",
    "Kapsalon",
    "Tandartspraktijk",
    "Architecten",
    "Hoveniers",
    "Autobedrijf",
    "Café",
    "Drukkerij",
]
FORMS = ["bv", "bv", "bv", "eenmanszaak", "vof", "stichting", "maatschap", "nv", "cooperatie"]
BANKS = ["ABNA", "INGB", "RABO", "SNSB", "TRIO", "ASNB", "KNAB"]


def _valid(rng: random.Random, make, check) -> str:
    while True:
        candidate = make()
        if check(candidate):
            return candidate


# Dutch area codes of three digits, so that every demo number is a real one written the way the
# phone field stores it ("020 123 4567").
AREA_CODES = ("010", "013", "020", "023", "024", "026", "030", "035", "040", "043", "050", "070")


def dutch_phone(area: int, number: int) -> str:
    return f"{AREA_CODES[area % len(AREA_CODES)]} {number // 10_000:03d} {number % 10_000:04d}"


def _bsn(rng):
    return _valid(rng, lambda: f"{rng.randint(10000000, 999999999):09d}", bsn.is_valid)


def _vat(rng):
    return _valid(
        rng, lambda: f"NL{rng.randint(0, 999999999):09d}B0{rng.randint(1, 9)}", vat.is_valid
    )


def _iban(rng):
    def make():
        try:
            return schwifty.IBAN.generate(
                "NL",
                bank_code=rng.choice(BANKS),
                account_code=f"{rng.randint(10**8, 10**10 - 1):010d}",
            ).compact
        except Exception:  # an account number the bank checksum refuses: draw again
            return ""

    return _valid(rng, make, bool)


# Who of the demo office (practice's seed_demo COLLEAGUES, by username) does what on the teams:
# the relationship managers share the clients, the others join some of them in their own role.
DEMO_MANAGERS = ("sanne", "mark", "fatima")
DEMO_TEAM = (
    ("mark", "accountant", 0.5),
    ("pieter", "tax_advisor", 0.4),
    ("fatima", "assistant", 0.35),
    ("pieter", "payroll", 0.2),
    ("lotte", "secretary", 0.3),
)


def _ensure_managers(practice, user) -> None:
    """Every demo client has a relationship manager — the demo user (as if they had created it) or
    one of the colleagues in turn — and a team around them: the five colleagues in their roles.
    Idempotent: a client that has a team already is left as it is."""
    from django.contrib.auth import get_user_model

    TeamRole.objects.seed(practice.pk)
    roles = TeamRole.objects.by_key(practice.pk)
    people = {
        u.username: u
        for u in get_user_model().objects.filter(
            memberships__practice=practice, memberships__deactivated_at=None
        )
    }
    managers = [user] + [people[name] for name in DEMO_MANAGERS if name in people]
    staffed = TeamAssignment.objects.filter(practice=practice).values("relation_id")
    clients = Relation.objects.filter(practice=practice, kind="client").exclude(pk__in=staffed)
    rng = random.Random(f"kring-demo-team-{practice.slug}")  # noqa: S311 - demo data
    places = []
    for n, relation in enumerate(clients.order_by("pk")):
        manager = managers[n % len(managers)]
        places.append((relation, manager, "manager"))
        for username, key, share in DEMO_TEAM:
            if username in people and rng.random() < share:
                places.append((relation, people[username], key))
    TeamAssignment.objects.bulk_create(
        TeamAssignment(
            practice=practice, relation=relation, user=member, role=key, team_role=roles[key]
        )
        for relation, member, key in dict.fromkeys(places)
    )


def seed(*, practice, user, stdout) -> None:
    existing = Relation.objects.filter(practice=practice).count()
    if existing >= TARGET:
        _ensure_managers(practice, user)
        stdout.write(f"relations: {existing} relations present, nothing to add")
        return
    rng = random.Random(f"kring-demo-{practice.slug}")  # noqa: S311 - demo data, not secrets
    top = Relation.objects.filter(practice=practice, client_code__regex=r"^\d+$").aggregate(
        m=Max("client_code")
    )["m"]
    next_code = max(int(top) + 1 if top else 1000, practice.client_code_next)
    now = timezone.now()
    for i in range(existing, TARGET):
        kind = "client" if i % 3 else "contact"
        entity = "company" if (i % 5 in (0, 1, 2)) else "private"
        relation = Relation(
            practice=practice,
            kind=kind,
            entity=entity,
            created_by=user,
            updated_by=user,
            created_at=now - timedelta(days=rng.randint(0, 1500)),
            updated_at=now,
        )
        city, pc = rng.choice(CITIES)
        prefix, last = rng.choice(LAST)
        first = rng.choice(FIRST)
        if entity == "company":
            trade = rng.choice(TRADES)
            form = "eenmanszaak" if kind == "contact" else rng.choice(FORMS)
            suffix = {"bv": " B.V.", "nv": " N.V.", "vof": " V.O.F."}.get(form, "")
            relation.legal_name = f"{trade} {last}{suffix}"
            relation.legal_form = form
            relation.kvk_number = f"{rng.randint(10000000, 99999999)}"
            relation.vat_number = _vat(rng)
            relation.sbi_code = str(rng.randint(1000, 9999))
            relation.founded_on = date(
                rng.randint(1975, 2024), rng.randint(1, 12), rng.randint(1, 28)
            )
            relation.fiscal_year_end_month = 12
            relation.email = f"info@{trade.lower().replace('é', 'e')}{last.lower()}{i}.nl"
        else:
            relation.salutation = rng.choice(["mr", "mrs", "neutral"])
            relation.first_name, relation.name_prefix, relation.last_name = first, prefix, last
            relation.initials = f"{first[0]}."
            relation.date_of_birth = date(
                rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
            )
            relation.bsn = _bsn(rng)
            relation.email = f"{first.lower()}.{last.lower()}{i}@example.nl"
        relation.phone = dutch_phone(rng.randint(10, 99), rng.randint(1000000, 9999999))
        if kind == "client":
            relation.client_code = str(next_code)
            next_code += 1
        relation.display_name = relation.compose_display_name()
        relation.save()
        Address.objects.create(
            relation=relation,
            type="visiting",
            street=rng.choice(STREETS),
            house_number=str(rng.randint(1, 250)),
            postcode=f"{pc}{rng.randint(10, 99)} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}",
            city=city,
            country="NL",
        )
        if entity == "company" and rng.random() < 0.3:
            Address.objects.create(
                relation=relation,
                type="postal",
                street="Postbus",
                house_number=str(rng.randint(100, 9999)),
                postcode=f"{pc}00 AA",
                city=city,
                country="NL",
            )
        if rng.random() < 0.8:
            iban = schwifty.IBAN(_iban(rng))
            BankAccount.objects.create(
                relation=relation,
                iban=iban.compact,
                bic=iban.bic.compact if iban.bic else "",
                bank_name=iban.bank_name or "",
                holder=relation.display_name[:40],
            )
        if kind == "client" and rng.random() < 0.7:
            ServiceAgreement.objects.create(
                practice=practice,
                relation=relation,
                service=rng.choice(ServiceAgreement.Service.values),
                start_date=date(rng.randint(2015, 2025), 1, 1),
            )
        relation.search_text = relation.compose_search_text()
        if i % 25 == 24:
            relation.archived_at, relation.archived_by = now, user
        relation.save(update_fields=["search_text", "archived_at", "archived_by"])
        TimelineEvent.record(relation, TimelineEvent.Kind.CREATED, actor=user)
    _ensure_managers(practice, user)
    practice.client_code_next = max(practice.client_code_next, next_code)
    practice.save(update_fields=["client_code_next"])
    stdout.write(f"relations: {TARGET - existing} demo relations added")
