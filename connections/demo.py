"""Demo connections for `seed_demo`: private contacts linked to client companies, some partners."""

from __future__ import annotations

import random
from typing import Any

from django.core.exceptions import ValidationError

from connections.models import Connection
from connections.services import add_connection
from practice.models import Practice
from relations import bulk
from relations.models import Relation, TimelineEvent

TARGET = 60


def seed(*, practice, user, stdout) -> None:
    existing = Connection.objects.filter(practice=practice).count()
    if existing >= TARGET:
        stdout.write(f"connections: {existing} present, nothing to add")
        return
    active = Relation.objects.filter(practice=practice).active().order_by("pk")
    companies = list(active.filter(kind="client", entity="company")[:40])
    people = list(active.filter(entity="private")[:80])
    added = 0
    for i, company in enumerate(companies):
        for offset, type_ in ((0, Connection.Type.CONTACT_PERSON), (1, Connection.Type.DIRECTOR)):
            person = people[(2 * i + offset) % len(people)]
            try:
                add_connection(
                    practice=practice,
                    user=user,
                    relation=person,
                    other=company,
                    type=type_,
                    subject_is_relation=True,
                )
            except ValidationError:
                continue  # already linked this way on an earlier run
            added += 1
    for left, right in zip(people[0:20:2], people[1:20:2], strict=True):
        try:
            add_connection(
                practice=practice,
                user=user,
                relation=left,
                other=right,
                type=Connection.Type.FISCAL_PARTNER,
                subject_is_relation=True,
            )
            added += 1
        except ValidationError:
            continue
    stdout.write(f"connections: {added} demo connections added")


def seed_at_scale(
    rng: random.Random,
    *,
    practice: Practice,
    user: Any,
    companies: list[int],
    people: list[int],
    stdout: Any = None,
) -> int:
    """`seed_demo --relations N`'s connections (the hook `relations.bulk_seed` calls): contact
    persons and directors for about a third of the companies, fiscal partners among people."""
    if not companies or not people:
        return 0
    pairs: dict[tuple[int, int, str], Connection] = {}

    def link(subject: int, other: int, type_: str) -> None:
        a, b = sorted((subject, other))
        if a != b and (a, b, type_) not in pairs:
            pairs[a, b, type_] = Connection(
                practice=practice,
                a_id=a,
                b_id=b,
                type=type_,
                a_is_subject=a == subject or type_ in Connection.SYMMETRIC,
                created_by=user,
            )

    for company in companies[::3]:
        link(rng.choice(people), company, Connection.Type.CONTACT_PERSON)
        if rng.random() < 0.5:
            link(rng.choice(people), company, Connection.Type.DIRECTOR)
    for left, right in zip(people[0::20], people[1::20], strict=False):
        link(left, right, Connection.Type.FISCAL_PARTNER)
    bulk.write(Connection, list(pairs.values()))
    events = [
        TimelineEvent(
            practice=practice,
            relation_id=relation_id,
            actor=user,
            kind=TimelineEvent.Kind.CONNECTION_ADDED,
            other_relation_id=other_id,
        )
        for connection in pairs.values()
        for relation_id, other_id in (
            (connection.a_id, connection.b_id),
            (connection.b_id, connection.a_id),
        )
    ]
    bulk.write(TimelineEvent, events)
    if stdout is not None:
        stdout.write(f"connections: {len(pairs)} added")
    return len(pairs)
