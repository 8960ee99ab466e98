"""Adding and ending connections. Each touches two relations, so each writes an event on both."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from connections.models import Connection
from practice.models import Practice
from relations.models import Relation, TimelineEvent
from relations.rules import ensure_editable

Event = TimelineEvent.Kind


def _duplicate_error(existing: Connection, relation: Relation) -> ValidationError:
    values = {
        "relation": relation,
        "label": existing.label_for(relation),
        "other": existing.other(relation),
    }
    if existing.end_date is None or existing.is_active:
        return ValidationError(
            _("This connection exists already: %(relation)s — %(label)s %(other)s.") % values
        )
    return ValidationError(
        _(
            "%(relation)s and %(other)s had this connection until %(date)s, and a pair can have "
            "each type only once. Choose another type, or record it as “Other” with a description."
        )
        % {**values, "date": formats.date_format(existing.end_date, "SHORT_DATE_FORMAT")}
    )


@transaction.atomic
def add_connection(
    *,
    practice: Practice,
    user: User,
    relation: Relation,
    other: Relation,
    type: str,
    subject_is_relation: bool,
    start_date: date | None = None,
    description: str = "",
    portal_access: bool = False,
) -> Connection:
    """Connect `relation` to `other`; `subject_is_relation` says whether the forward label
    ("director of") is about `relation` (Jan is director of Bakkerij) or about `other`."""
    if relation.practice_id != practice.pk:
        raise ValidationError(_("This relation does not belong to the current practice."))
    if other.practice_id != practice.pk:
        raise ValidationError({"other": _("Choose a relation of this practice.")})
    if other.pk == relation.pk:
        raise ValidationError({"other": _("A relation cannot be connected to itself.")})
    ensure_editable(relation)
    if other.is_archived:
        raise ValidationError(
            {"other": _("%(name)s is archived. Restore it before connecting it.") % {"name": other}}
        )
    if type not in Connection.Type.values:
        raise ValidationError(_("Choose a type of connection."))
    description = description.strip()
    if type == Connection.Type.OTHER and not description:
        raise ValidationError({"description": _("Describe how the two are connected.")})

    a, b = (relation, other) if relation.pk < other.pk else (other, relation)
    a_is_subject = subject_is_relation if a is relation else not subject_is_relation
    if type in Connection.SYMMETRIC:
        a_is_subject = True
    existing = Connection.objects.select_related("a", "b").filter(a=a, b=b, type=type).first()
    if existing is not None:
        raise _duplicate_error(existing, relation)

    connection = Connection(
        practice=practice,
        a=a,
        b=b,
        type=type,
        a_is_subject=a_is_subject,
        start_date=start_date,
        description=description,
        portal_access=portal_access,
        created_by=user,
    )
    try:
        # A savepoint: when someone added the same connection a moment ago, the unique constraint
        # answers and the person gets the same message as above, not a server error.
        with transaction.atomic():
            connection.save()
    except IntegrityError:
        existing = Connection.objects.select_related("a", "b").filter(a=a, b=b, type=type).first()
        if existing is None:
            raise
        raise _duplicate_error(existing, relation) from None
    TimelineEvent.record(relation, Event.CONNECTION_ADDED, actor=user, other_relation=other)
    TimelineEvent.record(other, Event.CONNECTION_ADDED, actor=user, other_relation=relation)
    return connection


@transaction.atomic
def end_connection(*, connection: Connection, user: User, on: date | None = None) -> Connection:
    """Set the end date (today unless given); the row stays, so the history keeps the connection."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    # Both ends keep the history of it: an archived one is read-only, its connections too.
    ensure_editable(connection.a)
    ensure_editable(connection.b)
    today = timezone.localdate()
    if locked.end_date is not None and locked.end_date <= today:
        raise ValidationError(_("This connection has ended already."))
    on = on or today
    if locked.start_date and on < locked.start_date:
        raise ValidationError(
            {
                "end_date": _("The end date cannot be before the start date (%(date)s).")
                % {"date": formats.date_format(locked.start_date, "SHORT_DATE_FORMAT")}
            }
        )
    connection.end_date = locked.end_date = on
    locked.save(update_fields=["end_date"])
    a, b = connection.a, connection.b
    TimelineEvent.record(a, Event.CONNECTION_ENDED, actor=user, other_relation=b)
    TimelineEvent.record(b, Event.CONNECTION_ENDED, actor=user, other_relation=a)
    return connection


def client_of(connection: Connection) -> Relation | None:
    """The client on a connection between a contact and a client, else None."""
    a, b = connection.a, connection.b
    if a.is_client and not b.is_client:
        return a
    if b.is_client and not a.is_client:
        return b
    return None


@transaction.atomic
def set_portal_access(*, connection: Connection, user: User, on: bool) -> Connection:
    """Switch "portal access for this client" on or off; only on a current connection of a contact and a client."""
    locked = Connection.objects.select_for_update().select_related("a", "b").get(pk=connection.pk)
    if on:
        ensure_editable(locked.a)
        ensure_editable(locked.b)
        if not locked.is_active:
            raise ValidationError(_("This connection has ended; it gives no portal access."))
        if client_of(locked) is None:
            raise ValidationError(
                _("Portal access is given on a connection between a contact and a client.")
            )
    if locked.portal_access != on:
        locked.portal_access = on
        locked.save(update_fields=["portal_access"])
    connection.portal_access = on
    return connection


def sole_director(relation: Relation) -> Relation | None:
    """A company's one current director who is a private person (a sole trader's owner), if it
    has exactly one; relations proposes that person's names when the company becomes private."""
    directors = []
    for connection in Connection.objects.involving(relation).active().select_related("a", "b"):
        is_subject = (relation.pk == connection.a_id) == connection.a_is_subject
        other = connection.other(relation)
        if connection.type == "director" and not is_subject and not other.is_company:
            directors.append(other)
    return directors[0] if len(directors) == 1 else None
