"""Workflows over several rows. Each runs in one transaction; every change to a relation's row goes
through `relations.changes` (new `version`, the outbox's `ledger_version` when the ledger must hear,
the timeline event, the ledger woken), and every one refuses an archived relation
(`relations.rules.ensure_editable`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from practice.models import Membership, Practice
from relations import extensions
from relations.changes import notify_ledger, record_change, record_changes
from relations.models import (
    COMPANY_FIELDS,
    MANAGER_KEY,
    PRIVATE_FIELDS,
    Address,
    BankAccount,
    PortalState,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
    TimelineEvent,
)
from relations.rules import ensure_editable
from relations.signals import relation_archived

Event = TimelineEvent.Kind


class StaleVersion(Exception):
    """Someone else saved the relation after this form was opened."""

    def __init__(self, current: Relation) -> None:
        super().__init__("stale version")
        self.current = current


# --- client codes --------------------------------------------------------------------------------


def lock_client_codes(practice: Practice) -> Practice:
    """Hold the practice's codes until the transaction ends: whoever allocates a code or checks a
    typed-in one goes through this lock, so a check never passes on a code another transaction is
    about to take (that ended in the unique constraint's IntegrityError, a server error). Taken
    before any relation row, in every path, so two of them never wait on each other. NO KEY: rows
    that merely reference the practice (timeline events) are not held up by it."""
    return Practice.objects.select_for_update(no_key=True).get(pk=practice.pk)


def allocate_client_codes(
    practice: Practice, count: int, *, locked: Practice | None = None
) -> list[str]:
    """The next `count` free codes from the practice's sequence, skipping every code in use.

    The practice row is locked, so two conversions never hand out the same code; the unique constraint
    backs this up. A ledger write to an existing code would overwrite that debtor, hence the skipping.
    `locked` is the row from `lock_client_codes` when the caller holds it already.
    """
    locked = locked or lock_client_codes(practice)
    used = set(
        Relation.objects.filter(practice=practice)
        .exclude(client_code="")
        .values_list("client_code", flat=True)
    )
    codes: list[str] = []
    number = locked.client_code_next
    while len(codes) < count:
        if str(number) not in used:
            codes.append(str(number))
        number += 1
    Practice.objects.filter(pk=practice.pk).update(client_code_next=number)
    practice.client_code_next = number
    return codes


def _code_taken(practice: Practice, code: str, exclude_pk: int | None = None) -> bool:
    qs = Relation.objects.filter(practice=practice, client_code=code)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _frozen_code() -> str:
    return _("The client code cannot change after the client was pushed to the ledger.")


# --- create and edit -----------------------------------------------------------------------------


@transaction.atomic
def create_relation(
    *,
    practice: Practice,
    user: User,
    relation: Relation,
) -> Relation:
    """Save a new relation built by a form; a client without a code gets the next one."""
    relation.practice = practice
    relation.created_by = relation.updated_by = user
    if relation.kind == Relation.Kind.CLIENT:
        if not relation.client_code:
            relation.client_code = allocate_client_codes(practice, 1)[0]
        else:
            lock_client_codes(practice)
            if _code_taken(practice, relation.client_code):
                raise ValidationError(
                    {
                        "client_code": _("Client code %(code)s is in use.")
                        % {"code": relation.client_code}
                    }
                )
    else:
        relation.client_code = ""
    relation.display_name = relation.compose_display_name()
    relation.search_text = relation.compose_search_text(cities=[])
    relation.save()
    TimelineEvent.record(relation, Event.CREATED, actor=user)
    if relation.is_client:
        _ensure_manager(relation, user)
        notify_ledger(relation)
    return relation


@transaction.atomic
def update_relation(
    *,
    relation: Relation,
    user: User,
    version: int,
    changed: Iterable[str],
) -> Relation:
    """Save a form's changes unless someone else saved first (optimistic locking on `version`).

    `relation` carries the new values; `changed` names the fields the form changed.
    """
    ensure_editable(relation)
    changed = set(changed)
    if "client_code" in changed:
        if relation.code_frozen:
            raise ValidationError({"client_code": _frozen_code()})
        if not relation.client_code:
            raise ValidationError({"client_code": _("A client needs a client code.")})
        lock_client_codes(relation.practice)
        if _code_taken(relation.practice, relation.client_code, exclude_pk=relation.pk):
            raise ValidationError(
                {
                    "client_code": _("Client code %(code)s is in use.")
                    % {"code": relation.client_code}
                }
            )
    relation.refresh_derived()
    values = {name: getattr(relation, name) for name in changed}
    values.update(display_name=relation.display_name, search_text=relation.search_text)
    # The conditional UPDATE is the lock: nothing written means the version moved on since the form
    # was opened. A push freezes the code without touching the version: it may have frozen it just now.
    written = record_change(
        relation,
        user=user,
        values=values,
        event=Event.CHANGED if changed else None,
        fields=changed,
        version=version,
        where=Q(code_frozen=False) if "client_code" in changed else None,
    )
    if not written:
        current = Relation.objects.select_related("updated_by").get(pk=relation.pk)
        if current.version == version:
            raise ValidationError({"client_code": _frozen_code()})
        raise StaleVersion(current)
    relation.refresh_from_db()
    return relation


# --- conversions and archive ---------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[Relation] = field(default_factory=list)
    skipped: list[tuple[Relation, str]] = field(default_factory=list)
    # Archiving: per relation id, the agreements it ended and the not yet started ones it cancelled.
    ended: dict[int, list[ServiceAgreement]] = field(default_factory=dict)
    cancelled: dict[int, list[ServiceAgreement]] = field(default_factory=dict)


def settle_review(*, relation: Relation, checked: set[str], still_invalid: set[str]) -> None:
    """After a save that validated the fields `checked`: the "needs review" notes about those
    fields that are valid now are dropped; the flag goes when no note is left."""
    notes = [
        note
        for note in relation.review_notes
        if note.get("field") not in checked or note.get("field") in still_invalid
    ]
    if notes != relation.review_notes:
        Relation.objects.filter(pk=relation.pk).update(review_notes=notes, needs_review=bool(notes))


@transaction.atomic
def convert_to_client(
    *, practice: Practice, user: User, relations: Iterable[Relation]
) -> BulkResult:
    """Contacts become clients with fresh codes; clients and archived rows are skipped, with reasons.

    Set-based, so that converting 1,000 contacts is a dozen queries rather than seven per row; each
    converted relation still gets its own code, outbox bump, timeline event and manager.
    """
    ids = [r.pk for r in relations]
    locked = lock_client_codes(practice)  # before the rows, as every path touching codes does
    rows = list(
        Relation.objects.select_for_update().filter(practice=practice, pk__in=ids).order_by("pk")
    )
    result = BulkResult()
    eligible = []
    for relation in rows:
        if relation.is_archived:
            result.skipped.append((relation, _("archived; restore it first")))
        elif relation.is_client:
            result.skipped.append((relation, _("already a client")))
        else:
            eligible.append(relation)
    if not eligible:
        return result
    codes = allocate_client_codes(practice, len(eligible), locked=locked)
    cities: dict[int, list[str]] = {relation.pk: [] for relation in eligible}
    # In the model's address order, as `compose_search_text` reads them for one relation.
    for relation_id, city in Address.objects.filter(relation__in=eligible).values_list(
        "relation_id", "city"
    ):
        cities[relation_id].append(city)
    now = timezone.now()
    for relation, code in zip(eligible, codes, strict=True):
        relation.kind = Relation.Kind.CLIENT
        relation.client_code = code
        relation.search_text = relation.compose_search_text(cities=cities[relation.pk])
    record_changes(
        eligible,
        user=user,
        event=Event.CONVERTED_TO_CLIENT,
        columns=["kind", "client_code", "search_text"],
        fields=["client_code", "kind"],
        ledger=True,
        now=now,
    )
    converted = Relation.objects.in_bulk([relation.pk for relation in eligible])
    result.done = [converted[relation.pk] for relation in eligible]
    _ensure_managers(result.done, user, now)
    return result


def kept_fields(relation: Relation, names: Iterable[str]) -> list[str]:
    """The fields of `names` that hold a value: kept on the row, hidden, and named on the timeline."""
    return [name for name in names if getattr(relation, name) not in ("", None)]


@transaction.atomic
def convert_to_private(
    *,
    relation: Relation,
    user: User,
    last_name: str,
    first_name: str = "",
    name_prefix: str = "",
) -> Relation:
    """Company → private person with the names the person gave, refused while an agreement runs.

    The legal name never becomes the last name (issue 11): the names come from the confirmation
    step. The company fields stay on the row (hidden while private, back when converted again) and
    the event names them, so nothing is silently lost.
    """
    relation = Relation.objects.select_for_update().get(pk=relation.pk)
    ensure_editable(relation)
    if not relation.is_company:
        raise ValidationError(_("This relation is already a private person."))
    refusal = private_refusal(relation)
    if refusal:
        raise ValidationError(refusal)
    if not last_name.strip():
        raise ValidationError({"last_name": _("A private person needs a last name.")})
    relation.first_name = first_name.strip()
    relation.name_prefix = name_prefix.strip()
    relation.last_name = last_name.strip()
    relation.entity = Relation.Entity.PRIVATE
    relation.refresh_derived()
    limit = Relation._meta.get_field("display_name").max_length
    if limit is not None and len(relation.display_name) > limit:
        # Each part fits its column, but the name they make together must fit `display_name`.
        raise ValidationError(
            {
                "last_name": _(
                    "First name, prefix and last name together have %(length)s characters; "
                    "shorten them to at most %(limit)s."
                )
                % {"length": len(relation.display_name), "limit": limit}
            }
        )
    record_change(
        relation,
        user=user,
        values={
            name: getattr(relation, name)
            for name in (
                "entity",
                "first_name",
                "name_prefix",
                "last_name",
                "display_name",
                "search_text",
            )
        },
        event=Event.CONVERTED_TO_PRIVATE,
        fields=kept_fields(relation, COMPANY_FIELDS),
        ledger=True,
    )
    relation.refresh_from_db()
    return relation


def private_refusal(relation: Relation) -> str:
    """Why this company cannot become a private person now ("" when it can)."""
    active = list(relation.agreements.running())
    if not active:
        return ""
    return _(
        "A company with an active service agreement cannot become a private person. "
        "End these agreements first: %(agreements)s."
    ) % {"agreements": ", ".join(str(a) for a in active)}


@transaction.atomic
def convert_to_company(*, relation: Relation, user: User, legal_name: str) -> Relation:
    """Private person → company under the legal name the person gave; the person's fields stay on
    the row (hidden while a company) and the event names them."""
    relation = Relation.objects.select_for_update().get(pk=relation.pk)
    ensure_editable(relation)
    if relation.is_company:
        raise ValidationError(_("This relation is already a company."))
    if not legal_name.strip():
        raise ValidationError({"legal_name": _("A company needs a legal name.")})
    relation.entity = Relation.Entity.COMPANY
    relation.legal_name = legal_name.strip()
    relation.refresh_derived()
    record_change(
        relation,
        user=user,
        values={
            name: getattr(relation, name)
            for name in ("entity", "legal_name", "display_name", "search_text")
        },
        event=Event.CONVERTED_TO_COMPANY,
        fields=kept_fields(relation, PRIVATE_FIELDS),
        ledger=True,
    )
    relation.refresh_from_db()
    return relation


def agreements_archiving_stops(
    relations: Iterable[Relation], on=None, *, lock: bool = False
) -> tuple[dict[int, list[ServiceAgreement]], dict[int, list[ServiceAgreement]]]:
    """Per relation id: the running agreements archiving ends, and the planned ones it cancels.

    One query for any number of relations; what the confirm pages list and `archive` does.
    """
    on = on or timezone.localdate()
    running: dict[int, list[ServiceAgreement]] = {}
    planned: dict[int, list[ServiceAgreement]] = {}
    agreements = ServiceAgreement.objects.filter(
        relation__in=[r.pk for r in relations], cancelled_at__isnull=True
    ).order_by("relation_id", "start_date", "pk")
    if lock:
        agreements = agreements.select_for_update()
    for agreement in agreements:
        status = agreement.status(on)
        if status == ServiceAgreement.Status.RUNNING:
            running.setdefault(agreement.relation_id, []).append(agreement)
        elif status == ServiceAgreement.Status.PLANNED:
            planned.setdefault(agreement.relation_id, []).append(agreement)
    return running, planned


@transaction.atomic
def archive(
    *,
    practice: Practice,
    user: User,
    relations: Iterable[Relation],
    end_running: bool = False,
) -> BulkResult:
    """Hide relations from the active list and pickers. Nothing is deleted, here or in the ledger.

    An archived client has no running agreement: with `end_running` (the person confirmed it, having
    been shown them) its running agreements end today, else the row is refused. Agreements that have
    not started yet never hold it up: they are cancelled with it, so none starts on an archived client.
    `result.ended` / `result.cancelled` say per relation which. Set-based: a few statements for the
    whole selection, whatever its size (a bulk action on 1,000 rows must not be 4,000 queries).
    """
    rows = Relation.objects.select_for_update().filter(
        practice=practice, pk__in=[r.pk for r in relations]
    )
    result = BulkResult()
    now = timezone.now()
    today = timezone.localdate()
    candidates = []
    for relation in rows.order_by("pk"):
        if relation.is_archived:
            result.skipped.append((relation, _("already archived")))
        else:
            candidates.append(relation)
    # Locked after the relations, the order end_agreement takes them in.
    running, planned = agreements_archiving_stops(candidates, today, lock=True)
    for relation in candidates:
        if running.get(relation.pk) and not end_running:
            names = running[relation.pk]
            result.skipped.append(
                (
                    relation,
                    ngettext(
                        "%(count)d agreement running (%(agreements)s); archiving ends it only "
                        "when confirmed",
                        "%(count)d agreements running (%(agreements)s); archiving ends them only "
                        "when confirmed",
                        len(names),
                    )
                    % {"count": len(names), "agreements": ", ".join(str(a) for a in names)},
                )
            )
        else:
            result.done.append(relation)
            result.ended[relation.pk] = running.get(relation.pk, [])
            result.cancelled[relation.pk] = planned.get(relation.pk, [])
    ended = [a for r in result.done for a in result.ended[r.pk]]
    cancelled = [a for r in result.done for a in result.cancelled[r.pk]]
    ServiceAgreement.objects.filter(pk__in=[a.pk for a in ended]).update(end_date=today)
    ServiceAgreement.objects.filter(pk__in=[a.pk for a in cancelled]).update(cancelled_at=now)
    for agreement in ended:
        agreement.end_date = today
    for agreement in cancelled:
        agreement.cancelled_at = now
    _set_archived(result.done, user, now, archived=True)
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                practice_id=agreement.practice_id,
                relation_id=agreement.relation_id,
                actor=user,
                kind=kind,
                agreement=agreement,
                created_at=now,
            )
            for kind, agreements in (
                (Event.AGREEMENT_ENDED, ended),
                (Event.AGREEMENT_CANCELLED, cancelled),
            )
            for agreement in agreements
        ]
    )
    for relation in result.done:
        # Only a relation that was ever invited can have portal access to end: the portal keeps
        # `portal_state` in step with its invitations, in the same transaction.
        if relation.portal_state != PortalState.NONE:
            relation_archived.send(sender=Relation, relation=relation, user=user)
    return result


@transaction.atomic
def restore(*, practice: Practice, user: User, relations: Iterable[Relation]) -> BulkResult:
    rows = Relation.objects.select_for_update().filter(
        practice=practice, pk__in=[r.pk for r in relations]
    )
    result = BulkResult()
    now = timezone.now()
    for relation in rows.order_by("pk"):
        if relation.is_archived:
            result.done.append(relation)
        else:
            result.skipped.append((relation, _("not archived")))
    _set_archived(result.done, user, now, archived=False)
    return result


def _set_archived(relations: list[Relation], user: User, now, *, archived: bool) -> None:
    """Archive or restore the rows (and the instances). Archiving is no ledger data: nothing is
    deleted or hidden there (DESIGN §3)."""
    values = {"archived_at": now if archived else None, "archived_by": user if archived else None}
    record_changes(
        relations,
        user=user,
        event=Event.ARCHIVED if archived else Event.RESTORED,
        values=values,
        ledger=False,
        now=now,
    )
    for relation in relations:
        relation.archived_at = now if archived else None
        relation.archived_by = user if archived else None


@transaction.atomic
def reveal_bsn(*, relation: Relation, user: User) -> str:
    """The BSN in full, for this one response; the reveal itself is on the timeline."""
    TimelineEvent.record(relation, Event.BSN_REVEALED, actor=user)
    return relation.bsn


# --- addresses and bank accounts -----------------------------------------------------------------


def _detail_changed(relation: Relation, user: User, event: str, fields: Iterable[str] = ()) -> None:
    """Addresses and bank accounts are ledger data, and cities are part of what search matches."""
    record_change(
        relation,
        user=user,
        values={"search_text": relation.compose_search_text()},
        event=event,
        fields=fields,
        ledger=True,
    )


@transaction.atomic
def save_address(
    *, relation: Relation, user: User, address: Address, changed: Iterable[str] = ()
) -> Address:
    ensure_editable(relation)
    is_new = address.pk is None
    previous_type = None if is_new else Address.objects.get(pk=address.pk).type
    address.relation = relation
    Address.objects.take_default(address)
    address.save()
    if previous_type and previous_type != address.type:
        Address.objects.keep_a_default(Address(relation=relation, type=previous_type))
    _detail_changed(
        relation,
        user,
        Event.ADDRESS_ADDED if is_new else Event.ADDRESS_CHANGED,
        fields=[] if is_new else changed,
    )
    return address


@transaction.atomic
def remove_address(*, relation: Relation, user: User, address: Address) -> None:
    ensure_editable(relation)
    address.delete()
    Address.objects.keep_a_default(address)
    _detail_changed(relation, user, Event.ADDRESS_REMOVED)


@transaction.atomic
def save_bank_account(
    *, relation: Relation, user: User, account: BankAccount, changed: Iterable[str] = ()
) -> BankAccount:
    ensure_editable(relation)
    is_new = account.pk is None
    account.relation = relation
    BankAccount.objects.take_default(account)
    account.save()
    _detail_changed(
        relation,
        user,
        Event.BANK_ADDED if is_new else Event.BANK_CHANGED,
        fields=[] if is_new else changed,
    )
    return account


@transaction.atomic
def remove_bank_account(*, relation: Relation, user: User, account: BankAccount) -> None:
    ensure_editable(relation)
    account.delete()
    BankAccount.objects.keep_a_default(account)
    _detail_changed(relation, user, Event.BANK_REMOVED)


# --- team ----------------------------------------------------------------------------------------

MANAGER = MANAGER_KEY


def manager_role_of(practice_id: int) -> Subquery:
    """The practice's relationship manager role (seeded with it, never deleted), as a subquery an
    INSERT reads: adding managers to many clients costs no query of its own to look it up."""
    return Subquery(TeamRole.objects.filter(practice_id=practice_id, key=MANAGER).values("pk")[:1])


def _ensure_managers(relations: list[Relation], user: User, now) -> None:
    """`_ensure_manager` for many clients: one query to find those without, two inserts."""
    managed = set(
        TeamAssignment.objects.filter(relation__in=relations, role=MANAGER).values_list(
            "relation_id", flat=True
        )
    )
    unmanaged = [relation for relation in relations if relation.pk not in managed]
    TeamAssignment.objects.bulk_create(
        TeamAssignment(
            practice_id=r.practice_id,
            relation=r,
            user=user,
            role=MANAGER,
            team_role_id=manager_role_of(r.practice_id),
        )
        for r in unmanaged
    )
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            practice_id=r.practice_id,
            relation=r,
            actor=user,
            kind=Event.TEAM_ADDED,
            member=user,
            fields=[MANAGER],
            created_at=now,
        )
        for r in unmanaged
    )


def _ensure_manager(relation: Relation, user: User) -> None:
    """A client always has a relationship manager: the person who made it a client, by default."""
    if not relation.team.filter(role=MANAGER).exists():
        TeamAssignment.objects.create(
            practice_id=relation.practice_id, relation=relation, user=user, role=MANAGER
        )
        TimelineEvent.record(relation, Event.TEAM_ADDED, actor=user, member=user, fields=[MANAGER])


def team_role(practice_id: int, role: str | TeamRole) -> TeamRole:
    """The practice's role, by its key or as given; another practice's role is not found."""
    key = role.key if isinstance(role, TeamRole) else role
    found = TeamRole.objects.filter(practice_id=practice_id, key=key).first()
    if found is None or (isinstance(role, TeamRole) and found.pk != role.pk):
        raise ValidationError({"role": _("Choose one of the office's team roles.")})
    return found


def check_team_member(practice_id: int, member: User) -> None:
    """Only an active member of the practice goes on a team (a deactivated one keeps history)."""
    membership = Membership.objects.filter(practice_id=practice_id, user=member).first()
    if membership is None:
        raise ValidationError({"member": _("Only members of the practice can be on the team.")})
    if membership.deactivated_at is not None:
        raise ValidationError(
            {"member": _("This member has been deactivated and cannot join a team.")}
        )


@transaction.atomic
def add_team_member(
    *, relation: Relation, user: User, member: User, role: str | TeamRole
) -> TeamAssignment:
    ensure_editable(relation)
    check_team_member(relation.practice_id, member)
    found = team_role(relation.practice_id, role)
    if not found.active:
        raise ValidationError({"role": _("This team role is no longer in use.")})
    if relation.team.filter(user=member, role=found.key).exists():
        raise ValidationError({"role": _("This person has this role already.")})
    assignment = TeamAssignment.objects.create(
        practice_id=relation.practice_id,
        relation=relation,
        user=member,
        role=found.key,
        team_role=found,
    )
    TimelineEvent.record(relation, Event.TEAM_ADDED, actor=user, member=member, fields=[found.key])
    extensions.team_changed(relation, found.key)
    return assignment


@transaction.atomic
def remove_team_member(*, assignment: TeamAssignment, user: User) -> None:
    relation = Relation.objects.select_for_update().get(pk=assignment.relation_id)
    ensure_editable(relation)
    managers = relation.team.filter(role=MANAGER)
    if relation.is_client and assignment.role == MANAGER and managers.count() <= 1:
        raise ValidationError(
            _("A client keeps a relationship manager: add another one before removing this one.")
        )
    assignment.delete()
    TimelineEvent.record(
        relation, Event.TEAM_REMOVED, actor=user, member=assignment.user, fields=[assignment.role]
    )
    extensions.team_changed(relation, assignment.role)


# --- agreements ----------------------------------------------------------------------------------


@transaction.atomic
def add_agreement(
    *, relation: Relation, user: User, agreement: ServiceAgreement
) -> ServiceAgreement:
    ensure_editable(relation)
    if not relation.is_client:
        raise ValidationError(_("Only clients have service agreements."))
    agreement.relation = relation
    agreement.practice_id = relation.practice_id
    agreement.save()
    TimelineEvent.record(relation, Event.AGREEMENT_ADDED, actor=user, agreement=agreement)
    return agreement


@transaction.atomic
def change_agreement(
    *, agreement: ServiceAgreement, user: User, changed: Iterable[str]
) -> ServiceAgreement:
    ensure_editable(agreement.relation)
    agreement.save()
    if changed:
        TimelineEvent.record(
            agreement.relation,
            Event.AGREEMENT_CHANGED,
            actor=user,
            fields=changed,
            agreement=agreement,
        )
    return agreement


@transaction.atomic
def end_agreement(*, agreement: ServiceAgreement, user: User, on=None) -> ServiceAgreement:
    """End a running agreement on `on` (today); one that has not started yet is cancelled instead.

    A cancelled agreement keeps its dates as agreed and never runs (`ServiceAgreement.status`). The
    relation is locked first, in the order archiving takes them, and an archived one refuses.
    """
    on = on or timezone.localdate()
    relation = Relation.objects.select_for_update().get(pk=agreement.relation_id)
    ensure_editable(relation)
    agreement = ServiceAgreement.objects.select_for_update().get(pk=agreement.pk)
    status = agreement.status(on)
    if status == ServiceAgreement.Status.CANCELLED:
        raise ValidationError(_("This agreement was cancelled already."))
    if status == ServiceAgreement.Status.ENDED:
        raise ValidationError(_("This agreement has ended already."))
    if status == ServiceAgreement.Status.PLANNED:
        agreement.cancelled_at = timezone.now()
        agreement.save(update_fields=["cancelled_at"])
        kind = Event.AGREEMENT_CANCELLED
    else:
        agreement.end_date = on
        agreement.save(update_fields=["end_date"])
        kind = Event.AGREEMENT_ENDED
    TimelineEvent.record(relation, kind, actor=user, agreement=agreement)
    return agreement


# --- duplicates ----------------------------------------------------------------------------------


def find_duplicates(
    *, practice: Practice, relation: Relation, ibans: Iterable[str] = ()
) -> list[tuple[str, Relation]]:
    """Relations in the practice that share a KvK number, BSN, e-mail or IBAN with `relation`."""
    found: list[tuple[str, Relation]] = []
    base = Relation.objects.filter(practice=practice)
    if relation.pk:
        base = base.exclude(pk=relation.pk)
    checks = [
        ("kvk_number", _("KvK number"), relation.kvk_number if relation.is_company else ""),
        ("bsn", _("BSN"), relation.bsn if not relation.is_company else ""),
        ("email", _("e-mail"), relation.email),
    ]
    for field_name, label, value in checks:
        if value:
            for other in base.filter(**{field_name: value})[:3]:
                found.append((str(label), other))
    ibans = [i for i in ibans if i]
    if ibans:
        for other in base.filter(bank_accounts__iban__in=ibans).distinct()[:3]:
            found.append((_("IBAN"), other))
    return found
