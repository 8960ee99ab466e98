"""Demo connections for `seed_demo`: private contacts linked to client companies, some partners."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from connections.models import Connection
from connections.services import add_connection
from relations.models import Relation

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
