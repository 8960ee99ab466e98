"""Two people at once, on PostgreSQL with real transactions.

Edits: two staff members load the same relation's edit form through the real views and submit
random changes in a random order (a fixed seed, so a failure replays), sometimes from two threads at
the same instant. A submit based on a stale form never overwrites a change silently: what only one
person changed is saved over the other's work, a field both changed gets the conflict message and
the first change survives, and every saved change of a client bumps its ledger version (the outbox)
exactly once.

Bulk conversions: threads convert overlapping and disjoint selections of contacts at once, while
others create clients and type in client codes: no code is handed out twice, no conversion is half
applied, and every converted relation has one timeline event and one outbox bump.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.urls import reverse

from practice.models import Membership, Practice
from relations import services
from relations.models import Relation, TeamAssignment, TimelineEvent
from sync import drain as sync_drain
from sync.mapping import customer_for
from sync.models import LocalDebtor, SyncState
from tests.factories import MembershipFactory, RelationFactory, UserFactory
from tests.forms import as_browser_submits

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="row locks and concurrent transactions need PostgreSQL (DATABASE_URL)",
    ),
]

SEED = 20261128
CONFLICT = "changed this relation meanwhile"
Event = TimelineEvent.Kind


@pytest.fixture
def dave(practice):
    return MembershipFactory(
        practice=practice, user=UserFactory(username="dave"), role=Membership.Role.STAFF
    ).user


def client_for(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def in_threads(*calls: Callable[[], object]) -> list[tuple[object, BaseException | None]]:
    """Run the calls in threads released at the same instant; each result or exception, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[tuple[object, BaseException | None]] = [(None, None)] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=60)
            outcomes[index] = (call(), None)
        except BaseException as exc:  # reported to the test, which fails on it
            outcomes[index] = (None, exc)
        finally:
            connections.close_all()  # this thread's own database connection

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a thread never finished (a lock wait that did not end?)"
    return outcomes


# --- two people editing one relation -------------------------------------------------------------


def load_form(client: Client, relation: Relation) -> dict[str, str]:
    """GET the edit page and return what a browser would submit unchanged."""
    response = client.get(reverse("relations-edit", args=[relation.public_id]))
    assert response.status_code == 200
    return as_browser_submits(response.context["form"])


COMPANY_CHANGES = ("legal_name", "trade_name", "email", "phone", "website", "notes", "kvk_number")
PRIVATE_CHANGES = ("first_name", "last_name", "initials", "email", "phone", "notes")


def random_changes(rng: random.Random, relation: Relation, step: int, who: str) -> dict[str, str]:
    """One to three fields changed to values no one else uses (so no duplicate warning)."""
    palette = COMPANY_CHANGES if relation.is_company else PRIVATE_CHANGES
    n = step * 2 + (who == "dave")
    values = {
        "legal_name": f"Bedrijf {n} B.V.",
        "trade_name": f"Handel {n}",
        "first_name": f"Voornaam{n}",
        "last_name": f"Achternaam{n}",
        "initials": f"{chr(65 + n % 26)}.",
        "email": f"{who}{step}@example.nl",
        "phone": f"020 {200 + n:03d} {n:04d}",
        "website": f"https://{who}{step}.example.nl",
        "notes": f"Notitie {n} van {who}",
        "kvk_number": f"{10_000_000 + n}",
    }
    changes = {name: values[name] for name in rng.sample(palette, rng.randint(1, 3))}
    if rng.random() < 0.3:
        changes["language"] = rng.choice(["nl", "en"])
    return changes


def interleaving(rng: random.Random) -> list[tuple[str, str]]:
    """A random merge of bob's and dave's (load, submit): each loads before submitting."""
    pending = {"bob": ["load", "submit"], "dave": ["load", "submit"]}
    steps = []
    while any(pending.values()):
        who = rng.choice([w for w, ops in pending.items() if ops])
        steps.append((who, pending[who].pop(0)))
    return steps


def snapshot(relation: Relation) -> dict[str, object]:
    relation.refresh_from_db()
    names = (*COMPANY_CHANGES, *PRIVATE_CHANGES, "language")
    return {name: getattr(relation, name) for name in names}


def submit(client: Client, relation: Relation, data: dict[str, str]):
    return client.post(reverse("relations-edit", args=[relation.public_id]), data)


def assert_saved(response) -> None:
    assert response.status_code == 302, response.content.decode()[:3000]


def assert_conflict(response) -> None:
    assert response.status_code == 200
    assert CONFLICT in response.content.decode()


def outcome_of(seen: dict, state: dict, changes: dict) -> tuple[set[str], set[str]]:
    """What a submit of `changes` on a form loaded at `seen` does when the record is at `state`:
    (fields it writes, fields in conflict). A field only this person changed is theirs to write;
    one the other person changed too, to another value, is a conflict and then nothing is written."""
    mine = {name for name, value in changes.items() if value != seen[name]}
    conflicts = {
        name for name in mine if state[name] != seen[name] and state[name] != changes[name]
    }
    if conflicts:
        return set(), conflicts
    return {name for name in mine if changes[name] != state[name]}, set()


def test_100_random_interleavings_of_two_editors_never_overwrite_silently(practice, staff, dave):
    """Neither lost nor reverted: a change to a field only one person changed always lands, even
    on a form loaded before the other's save; a field both changed is refused to the later one."""
    rng = random.Random(SEED)
    clients = {"bob": client_for(staff), "dave": client_for(dave)}
    relations = [
        RelationFactory(practice=practice, legal_name="Klant B.V.", email="klant@example.nl"),
        RelationFactory(practice=practice, private=True, email="prive@example.nl"),
        RelationFactory(practice=practice, contact=True, legal_name="Zzp", email="zzp@example.nl"),
        RelationFactory(practice=practice, contact=True, private=True, email="p@example.nl"),
    ]
    outcomes: Counter[str] = Counter()
    for step in range(100):
        relation = rng.choice(relations)
        relation.refresh_from_db()
        start = snapshot(relation)
        versions = (relation.version, relation.ledger_version)
        events = TimelineEvent.objects.filter(relation=relation, kind=Event.CHANGED).count()
        changes = {w: random_changes(rng, relation, step, w) for w in clients}
        loaded: dict[str, dict[str, str]] = {}
        expected = dict(start)
        saves = 0
        if step % 5 == 4:
            # Both loaded the form, then both press Save at the same instant.
            for who, client in clients.items():
                loaded[who] = load_form(client, relation)
            posts = {w: {**loaded[w], **changes[w]} for w in clients}
            results = in_threads(
                *(
                    lambda c=client, r=relation, data=posts[who]: submit(c, r, data)
                    for who, client in clients.items()
                )
            )
            assert [exc for _r, exc in results] == [None, None]
            responses = dict(zip(clients, [r for r, _exc in results], strict=True))
            _writes, clash = outcome_of(start, {**start, **changes["bob"]}, changes["dave"])
            winners = [w for w, r in responses.items() if r.status_code == 302]
            if clash:
                # The same field, two values: whoever got the row first wins, the other is told.
                assert len(winners) == 1, (
                    f"step {step}: {[r.status_code for r in responses.values()]}"
                )
                (winner,) = winners
                assert_conflict(next(r for w, r in responses.items() if w != winner))
                expected.update(changes[winner])
                saves = 1
                outcomes["threads-conflict"] += 1
            else:
                assert winners == list(clients), f"step {step}: both are saved"
                for who in clients:
                    expected.update(changes[who])
                saves = 2
                outcomes["threads-merged"] += 1
        else:
            state = dict(start)
            seen: dict[str, dict] = {}
            for who, op in interleaving(rng):
                if op == "load":
                    loaded[who] = load_form(clients[who], relation)
                    seen[who] = dict(state)
                    continue
                response = submit(clients[who], relation, {**loaded[who], **changes[who]})
                writes, clash = outcome_of(seen[who], state, changes[who])
                stale = seen[who] != state
                if clash:
                    assert_conflict(response)
                    outcomes["conflict"] += 1
                    continue
                assert_saved(response)
                state.update({name: changes[who][name] for name in writes})
                saves += bool(writes)
                outcomes["merged" if stale else "saved"] += 1
            expected = state
        assert snapshot(relation) == expected, f"step {step}"
        assert relation.version == versions[0] + saves
        assert relation.ledger_version == versions[1] + (saves if relation.is_client else 0)
        after = TimelineEvent.objects.filter(relation=relation, kind=Event.CHANGED).count()
        assert after == events + saves
    # Each path really ran, many times.
    paths = ("threads-conflict", "threads-merged", "saved", "merged", "conflict")
    assert min(outcomes[path] for path in paths) >= 5, outcomes

    # The outbox holds the last saved state of every client: a drain leaves the ledger equal.
    sync_drain.push_practice(practice)
    for relation in relations:
        relation.refresh_from_db()
        if relation.is_client:
            state = SyncState.objects.get(relation=relation)
            assert (state.status, state.pushed_version) == ("synced", relation.ledger_version)
            debtor = LocalDebtor.objects.get(practice=practice, code=relation.client_code)
            assert debtor.record["name"] == customer_for(relation).name


# --- concurrent bulk conversions -----------------------------------------------------------------


def test_concurrent_bulk_conversions_never_share_a_code_and_never_half_apply(practice, staff, dave):
    rng = random.Random(SEED)
    users = [staff, dave]
    practice.client_code_next = 1000
    practice.save()
    existing = RelationFactory(practice=practice, legal_name="Bestaand B.V.", client_code="1001")
    for round_ in range(10):
        contacts = [
            RelationFactory(
                practice=practice,
                contact=True,
                legal_name=f"Ronde {round_} Contact {i}",
                email=f"r{round_}c{i}@example.nl",
            )
            for i in range(12)
        ]
        # Overlapping and disjoint selections, now and then with a client or an archived row in.
        selections = [rng.sample(contacts, rng.randint(1, 7)) for _ in range(4)]
        if round_ % 3 == 0:
            selections[0].append(existing)
        before = {
            r.pk: (r.version, r.ledger_version) for r in Relation.objects.filter(practice=practice)
        }
        next_code = Practice.objects.get(pk=practice.pk).client_code_next

        def convert(selection, user):
            # Each thread its own Practice row, as each request has.
            own = Practice.objects.get(pk=practice.pk)
            return services.convert_to_client(practice=own, user=user, relations=selection)

        def create(n=round_):
            new = RelationFactory.build(
                practice=practice, client_code="", legal_name=f"Nieuw {n}", email=f"n{n}@x.nl"
            )
            own = Practice.objects.get(pk=practice.pk)
            return services.create_relation(practice=own, user=staff, relation=new)

        typed = str(next_code + rng.randint(0, 6))

        def type_code(code=typed):
            # Someone types in a code the sequence is about to hand out.
            relation = Relation.objects.get(pk=existing.pk)
            if relation.code_frozen:
                return None
            relation.client_code = code
            try:
                return services.update_relation(
                    relation=relation, user=dave, version=relation.version, changed=["client_code"]
                )
            except (ValidationError, services.StaleVersion):
                return None  # refused with a message the person can act on: fine

        calls = [lambda s=s, u=users[i % 2]: convert(s, u) for i, s in enumerate(selections)] + [
            create,
            type_code,
        ]
        outcomes = in_threads(*calls)
        errors = [exc for _r, exc in outcomes if exc is not None]
        assert not errors, f"round {round_}: {errors!r}"

        chosen = {r.pk for selection in selections for r in selection if r.pk != existing.pk}
        done = [r.pk for result, _exc in outcomes[:4] for r in result.done]
        assert Counter(done) == Counter(chosen), f"round {round_}: each converted exactly once"

        codes = list(
            Relation.objects.filter(practice=practice, kind="client").values_list(
                "client_code", flat=True
            )
        )
        assert all(codes), f"round {round_}: a client without a code"
        assert len(codes) == len(set(codes)), f"round {round_}: a code twice in {codes}"
        for relation in Relation.objects.filter(pk__in=[c.pk for c in contacts]):
            converted = TimelineEvent.objects.filter(
                relation=relation, kind=Event.CONVERTED_TO_CLIENT
            ).count()
            version, ledger_version = before[relation.pk]
            if relation.pk in chosen:
                assert relation.kind == Relation.Kind.CLIENT
                assert relation.client_code
                assert converted == 1
                assert relation.version == version + 1
                assert relation.ledger_version == ledger_version + 1  # one outbox bump
                assert (
                    TeamAssignment.objects.filter(relation=relation, role=services.MANAGER).count()
                    == 1
                )
            else:
                assert (relation.kind, relation.client_code, converted) == ("contact", "", 0)
                assert (relation.version, relation.ledger_version) == (version, ledger_version)
