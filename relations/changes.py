"""The one way to change a relation's row.

Whatever changes a relation — the edit form, a conversion, an address or a bank account, the admin,
the ledger import, sync's staff actions — writes through here, so that four things always happen
together, in the caller's transaction:

1. the row's `version` moves on (`updated_by`, `updated_at` with it): an edit form opened before
   notices, and with `version=` the write itself is the optimistic lock;
2. a client's `ledger_version` moves on when what the ledger holds changed: the outbox that sync
   drains (DESIGN §5). It is bumped here and nowhere else;
3. the timeline records the event (never a value, only the names of the fields);
4. the ledger is woken: `relations.signals.ledger_changed`, whose receiver (sync) nudges a push once
   the transaction commits.

`record_change` is one row, `record_changes` many in a few statements (bulk actions, the import),
`make_due` only moves the outbox (a staff action that sends a client again without changing it).

The `ledger` argument says whether the ledger must hear of the change:

* `None` (the default): when the written values or the named fields include a ledger field
  (`relations.models.LEDGER_FIELDS`);
* `True`: always (addresses and bank accounts are ledger data, so is a conversion);
* `False`: never — what is written came from the ledger itself (the import, "take the ledger's").

Only a client has a ledger record: for a contact `ledger` is ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Case, F, Q, When
from django.utils import timezone

from relations.models import LEDGER_FIELDS, Relation, TimelineEvent
from relations.signals import ledger_changed


def _ledger_bump() -> Any:
    """The outbox's one increment: written here and nowhere else."""
    return F("ledger_version") + 1


def notify_ledger(relation: Relation) -> None:
    """Tell whoever keeps the ledger in step (the sync app) that this client's ledger data changed."""
    if relation.kind == Relation.Kind.CLIENT:
        ledger_changed.send(sender=Relation, relation=relation)


def _touches_ledger(relation: Relation, ledger: bool | None, names: Iterable[str]) -> bool:
    if relation.kind != Relation.Kind.CLIENT:
        return False
    if ledger is None:
        return bool(set(names) & LEDGER_FIELDS)
    return ledger


def record_change(
    relation: Relation,
    *,
    user: User | None,
    values: Mapping[str, Any] | None = None,
    event: str | None = None,
    fields: Iterable[str] = (),
    ledger: bool | None = None,
    version: int | None = None,
    where: Q | None = None,
    now: datetime | None = None,
    **refs: Any,
) -> bool:
    """Write `values` (column → value) to `relation`'s row with the next `version`, bump the
    outbox when the ledger must hear (see the module's `ledger`), record `event` (a
    `TimelineEvent.Kind`; None records nothing) naming `fields`, with `refs` (agreement=, member=),
    and wake the ledger.

    `version` is the version the change was made on: when the row has moved on since, nothing is
    written or recorded and False is returned (the caller says how that reads); `where` narrows the
    row further the same way. True when written. The in-memory `relation` keeps the values it has:
    `refresh_from_db()` it when the new `version` is wanted.
    """
    values = dict(values or {})
    fields = list(fields)
    now = now or timezone.now()
    touches_ledger = _touches_ledger(relation, ledger, [*values, *fields])
    values.setdefault("updated_by", user)
    values.setdefault("updated_at", now)
    values["version"] = F("version") + 1
    if touches_ledger:
        values["ledger_version"] = _ledger_bump()
    target = Relation.objects.filter(pk=relation.pk)
    if version is not None:
        target = target.filter(version=version)
    if where is not None:
        target = target.filter(where)
    if not target.update(**values):
        return False
    if event:
        TimelineEvent.objects.create(
            practice_id=relation.practice_id,
            relation=relation,
            actor=user,
            kind=event,
            fields=sorted(fields),
            created_at=now,
            **refs,
        )
    if touches_ledger:
        notify_ledger(relation)
    return True


def record_changes(
    relations: Sequence[Relation],
    *,
    user: User | None,
    event: str | None,
    values: Mapping[str, Any] | None = None,
    columns: Sequence[str] = (),
    fields: Iterable[str] | Mapping[int, Iterable[str]] = (),
    ledger: bool | None = None,
    now: datetime | None = None,
    refs: Mapping[str, Any] | None = None,
) -> None:
    """`record_change` for many rows, in a few statements whatever their number.

    `values` are the same for every row (one UPDATE); `columns` name attributes whose value each
    relation carries itself (one `bulk_update`; reading `version` or `ledger_version` of an
    instance afterwards loads the new number). `fields` names the fields for every event, or per relation id.
    `refs` are the same references on every event (member=).
    """
    if not relations:
        return
    now = now or timezone.now()
    values = dict(values or {})
    if not isinstance(fields, Mapping):
        fields = list(fields)
    names = [*values, *columns, *([] if isinstance(fields, Mapping) else fields)]
    bumped = [r for r in relations if _touches_ledger(r, ledger, names)]
    if columns:
        bumped_ids = {r.pk for r in bumped}
        for relation in relations:
            for name, value in values.items():
                setattr(relation, name, value)
            relation.updated_by, relation.updated_at = user, now
            relation.version = F("version") + 1
            if relation.pk in bumped_ids:
                relation.ledger_version = _ledger_bump()
        written = [*columns, *values, "updated_by", "updated_at", "version"]
        if bumped:
            written.append("ledger_version")
        Relation.objects.bulk_update(relations, sorted(set(written)))
        # The instances carry expressions now: drop them, so that reading one loads its number
        # (a deferred field), and only when someone reads it.
        for relation in relations:
            relation.__dict__.pop("version", None)
            relation.__dict__.pop("ledger_version", None)
    else:
        values.setdefault("updated_by", user)
        values.setdefault("updated_at", now)
        values["version"] = F("version") + 1
        if bumped:
            values["ledger_version"] = Case(
                When(pk__in=[r.pk for r in bumped], then=_ledger_bump()),
                default=F("ledger_version"),
            )
        Relation.objects.filter(pk__in=[r.pk for r in relations]).update(**values)
    if event:
        _record_all(relations, event, user, now, fields, refs or {})
    for relation in bumped:
        notify_ledger(relation)


def _record_all(
    relations: Sequence[Relation],
    kind: str,
    user: User | None,
    now: datetime,
    fields: Iterable[str] | Mapping[int, Iterable[str]],
    refs: Mapping[str, Any],
) -> None:
    """`TimelineEvent.record` for many rows in one INSERT."""
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            practice_id=relation.practice_id,
            relation=relation,
            actor=user,
            kind=kind,
            fields=sorted(fields[relation.pk] if isinstance(fields, Mapping) else fields),
            created_at=now,
            **refs,
        )
        for relation in relations
    )


def make_due(relation: Relation, *, pushed_version: int) -> bool:
    """Make the client due for a push although nothing changed: its outbox moves past
    `pushed_version` (what the ledger was last sent), unless a change moved it there already.
    No `version`, no event: the relation's data stay as they are. True when it moved."""
    return bool(
        Relation.objects.filter(pk=relation.pk, ledger_version__lte=pushed_version).update(
            ledger_version=_ledger_bump()
        )
    )
