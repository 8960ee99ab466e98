from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation
from sync import crypto
from sync.adapters.base import LedgerCustomer
from sync.mapping import customer_to_dict
from sync.wake import nudge

RETRY_BUDGET = settings.SYNC_RETRY_BUDGET
BACKOFF_BASE = settings.SYNC_BACKOFF_BASE_SECONDS  # 30 s, 1 min, 2 min, … capped
BACKOFF_CAP = settings.SYNC_BACKOFF_CAP_SECONDS


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """Exponential with full jitter between half and all of the step, never below Retry-After."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    delay = step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not a secret
    return timedelta(seconds=max(delay, retry_after or 0))


class LedgerConnection(models.Model):
    """How a practice reaches its ledger. Secrets are stored encrypted and never shown back in full."""

    class Adapter(models.TextChoices):
        LOCAL = "local", _("Local ledger (built in)")
        TWINFIELD = "twinfield", _("Twinfield")

    practice = models.OneToOneField(
        Practice, on_delete=models.PROTECT, related_name="ledger_connection"
    )
    adapter = models.CharField(
        _("ledger"), max_length=16, choices=Adapter.choices, default=Adapter.LOCAL
    )
    office_code = models.CharField(_("office code"), max_length=32, blank=True, default="")
    client_id = models.CharField(_("client id"), max_length=200, blank=True, default="")
    client_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    refresh_token_encrypted = models.TextField(blank=True, default="", editable=False)
    access_token_encrypted = models.TextField(blank=True, default="", editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    login_url = models.URLField(
        _("login URL"), default="https://login.twinfield.com", help_text=_("Overridable for tests.")
    )
    cluster_url = models.URLField(
        _("cluster URL"),
        blank=True,
        default="",
        help_text=_("Discovered from the access token; cached here."),
    )
    enabled = models.BooleanField(_("push changes"), default=True)
    # One drain per office at a time (one request in flight): claimed by a conditional UPDATE.
    drain_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    drain_owner = models.CharField(max_length=36, blank=True, default="", editable=False)
    # The change feed (sync.feed.check_ledger_changes): a stamp in the ledger's own clock from
    # which its changes have not been looked at yet; every change before it Kring has seen, or has
    # marked the debtor to be read before its next push. Blank: none looked at, read every debtor.
    changes_since = models.CharField(max_length=14, blank=True, default="", editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("ledger connection")
        verbose_name_plural = _("ledger connections")

    def __str__(self) -> str:
        return f"{self.practice} → {self.get_adapter_display()}"

    def __repr__(self) -> str:  # never the secrets, not even encrypted
        return f"<LedgerConnection practice={self.practice_id} adapter={self.adapter}>"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A change of ledger or office makes everything Kring knows about the old one's records
        worthless as a base for skipping reads: the change feed starts over.

        Resuming a paused connection nudges a drain once the save commits: the changes made while
        it was paused were nudged then and found nothing to do, and would otherwise wait for the
        sweep (in the eager `make run` setup, which has none, for the next edit)."""
        update_fields = kwargs.get("update_fields")
        resumed = False
        watched = {"adapter", "office_code", "enabled"}
        if self.pk and (update_fields is None or watched & set(update_fields)):
            before = (
                LedgerConnection.objects.filter(pk=self.pk)
                .values_list("adapter", "office_code", "enabled")
                .first()
            )
            if before is not None and before[:2] != (self.adapter, self.office_code):
                self.changes_since = ""
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "changes_since"}
                SyncState.objects.filter(practice_id=self.practice_id).update(remote_verified=False)
            saves_enabled = update_fields is None or "enabled" in update_fields
            resumed = saves_enabled and before is not None and not before[2] and self.enabled
        super().save(*args, **kwargs)
        if resumed:
            transaction.on_commit(partial(nudge, self.practice_id))

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(value)

    @property
    def refresh_token(self) -> str:
        return crypto.decrypt(self.refresh_token_encrypted)

    @refresh_token.setter
    def refresh_token(self, value: str) -> None:
        self.refresh_token_encrypted = crypto.encrypt(value)

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value)


def due_condition(now: datetime, *, state: str = "", relation: str = "relation__") -> Q:
    """When a client is due: changed since its last push and not waiting out a retry, or changed
    since the ledger refused it. `state` and `relation` are the paths to the SyncState's and the
    Relation's fields, so the drain (from SyncState) and the counts (from Relation) share it."""
    Status = SyncState.Status
    version = F(f"{relation}ledger_version")
    changed = Q(**{f"{relation}ledger_version__gt": F(f"{state}pushed_version")})
    return Q(**{f"{relation}kind": Relation.Kind.CLIENT}) & (
        Q(**{f"{state}status__in": (Status.PENDING, Status.SYNCED)})
        & changed
        & (
            Q(**{f"{state}next_attempt_at__isnull": True})
            | Q(**{f"{state}next_attempt_at__lte": now})
        )
        | Q(**{f"{state}status": Status.FAILED}) & Q(**{f"{state}failed_version__lt": version})
    )


# A pushed client: its row, the ledger_version the claim read, and the record the ledger holds.
Pushed = tuple["SyncState", int, LedgerCustomer]


class SyncStateQuerySet(models.QuerySet["SyncState"]):
    """The set-based transitions of the drain: due, claimed, pushed (per batch, in few queries)."""

    def due(self) -> SyncStateQuerySet:
        """The rows a drain would push now, oldest attempt first."""
        return self.filter(due_condition(timezone.now())).order_by("next_attempt_at", "pk")

    def claim(self, size: int, *, until: datetime) -> list[SyncState]:
        """Lease up to `size` of these rows that no other drain holds, until `until`: each
        attempt is counted *before* the ledger is called, so a worker killed mid-push leaves rows
        that come due again when the lease runs out (and a batch that keeps killing workers runs
        out of attempts instead of looping forever). Each row comes with its relation as read."""
        with transaction.atomic():
            states: list[SyncState] = list(
                self.select_for_update(skip_locked=True, of=("self",)).select_related("relation")[
                    :size
                ]
            )
            if not states:
                return []
            SyncState.objects.filter(pk__in=[s.pk for s in states]).update(
                attempts=F("attempts") + 1, next_attempt_at=until, status=SyncState.Status.PENDING
            )
        for state in states:
            state.attempts += 1
            state.next_attempt_at = until  # this drain's claim on the row: see while_claimed()
        return states

    def set_while_claimed(self, rows: Mapping[SyncState, dict[str, Any]], **common: Any) -> int:
        """`set_per_row`, each row written only while the drain's claim on it stands (the rule of
        `SyncState.while_claimed`, in the same statement on PostgreSQL)."""
        values = {state.pk: row for state, row in rows.items()}
        claims = {state.pk: state.next_attempt_at for state in rows}
        return _write_per_row(values, claims, common)

    def mark_sending(self, items: Iterable[Pushed]) -> None:
        """Each payload's fingerprint, recorded before the write, and the record unverified until
        the ledger confirms: a worker that dies now leaves it read before the next try, and its
        write recognised as Kring's own."""
        self.set_while_claimed(
            {
                state: {"sending_fingerprint": customer.fingerprint(), "remote_verified": False}
                for state, _v, customer in items
            }
        )

    def record_successes(self, pushed: list[Pushed]) -> None:
        """What the ledger now holds, for a batch in two queries, not three per client. The codes
        were frozen before they were sent (sync.drain)."""
        if not pushed:
            return
        current = dict(
            Relation.objects.filter(
                pk__in=[state.relation_id for state, _v, _c in pushed]
            ).values_list("pk", "ledger_version")
        )
        rows = {}
        for state, version, customer in pushed:
            fingerprint = customer.fingerprint()
            rows[state] = {
                "pushed_version": version,
                "pushed_fingerprint": fingerprint,
                "remote_fingerprint": fingerprint,
                "remote_record": customer_to_dict(customer),
                # Seen now, stamped by the ledger: the change feed vouches for it from here.
                "remote_modified": customer.modified,
                "remote_verified": bool(customer.modified),
                # Edited again while the push was under way: still due.
                "status": SyncState.Status.SYNCED
                if current.get(state.relation_id) == version
                else SyncState.Status.PENDING,
            }
        self.set_while_claimed(
            rows, attempts=0, next_attempt_at=None, last_error="", last_pushed_at=timezone.now()
        )


class SyncState(models.Model):
    """Where a client stands with the ledger. The outbox is relation.ledger_version > pushed_version."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SYNCED = "synced", _("In the ledger")
        FAILED = "failed", _("Failed")
        CONFLICT = "conflict", _("Changed in the ledger")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    relation = models.OneToOneField(
        Relation, on_delete=models.PROTECT, related_name="sync_state", verbose_name=_("relation")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    pushed_version = models.PositiveIntegerField(default=0)
    # The ledger_version the ledger refused: a later change (a higher version) makes the row due again.
    failed_version = models.PositiveIntegerField(default=0)
    pushed_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # The ledger's record as Kring last saw it (pushed or imported): the base for conflict checks.
    remote_fingerprint = models.CharField(max_length=64, blank=True, default="")
    remote_record = models.JSONField(null=True, blank=True)
    # The ledger's last-modified stamp of that record (its own clock), and whether the ledger is
    # known to hold it still: no change to the debtor reported since (see LedgerConnection.
    # changes_since). Unverified records are read before a push; verified ones need no read.
    remote_modified = models.CharField(max_length=14, blank=True, default="")
    remote_verified = models.BooleanField(default=False)
    # What a push is sending right now, recorded before the call: if the worker dies after the ledger
    # took it, the next check recognises the ledger's record as Kring's own, not as a conflict.
    sending_fingerprint = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SyncStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("sync state")
        verbose_name_plural = _("sync states")
        indexes = [
            # The drain: a practice's rows that may be due, oldest attempt first.
            models.Index(fields=["practice", "status", "next_attempt_at"], name="syncstate_due"),
            # The change feed: records Kring saw modified at or after a stamp, and the latest one.
            models.Index(fields=["practice", "remote_modified"], name="syncstate_modified"),
        ]

    def __str__(self) -> str:
        return f"{self.relation_id}: {self.status}"

    # The transitions of one claimed row ----------------------------------------------------------

    def while_claimed(self) -> SyncStateQuerySet:
        """The row, as long as this drain's claim on it stands. A drain held up past its lease (a
        slow ledger) finds the row re-claimed, or already pushed, by the drain that took over;
        what it saw is out of date then, and writing it down would undo that drain's outcome, or
        mistake Kring's own newer push for someone's change in the ledger (a false conflict).
        `SyncState.objects.set_while_claimed` holds the set-based writes to the same rule."""
        return SyncState.objects.filter(pk=self.pk, next_attempt_at=self.next_attempt_at)

    def let_go(self) -> None:
        """Give up the claim without an outcome: due again at once."""
        self.while_claimed().update(next_attempt_at=None)

    def record_conflict(self, remote: LedgerCustomer) -> None:
        """Someone changed the debtor in the ledger: staff decide which version wins."""
        self.while_claimed().update(
            status=SyncState.Status.CONFLICT,
            remote_record=customer_to_dict(remote),
            remote_modified=remote.modified,
            remote_verified=False,
            attempts=0,
            next_attempt_at=None,
            last_error="",
        )

    def record_failure(
        self, version: int, message: str, *, retryable: bool, retry_after: float | None = None
    ) -> None:
        """A retryable failure waits its backoff while attempts are left; any other, or the last,
        leaves the row failed at `version` (a later change makes it due again)."""
        if retryable and self.attempts < RETRY_BUDGET:
            self.while_claimed().update(
                status=SyncState.Status.PENDING,
                next_attempt_at=timezone.now() + backoff(self.attempts, retry_after),
                last_error=message[:2000],
            )
        else:
            self.while_claimed().update(
                status=SyncState.Status.FAILED,
                failed_version=version,
                next_attempt_at=None,
                last_error=message[:2000],
            )


def set_per_row(values: dict[int, dict[str, Any]], **common: Any) -> int:
    """UPDATE SyncState rows by primary key, each with its own values (the same keys for every
    row) and the `common` ones; returns how many rows it wrote. One statement on PostgreSQL
    (`UPDATE … FROM (VALUES …)`): bulk_update's CASE per column cost more to compile than the rows
    took to write; bulk_update elsewhere."""
    return _write_per_row(values, None, common)


def _write_per_row(
    values: dict[int, dict[str, Any]],
    claims: Mapping[int, datetime | None] | None,
    common: dict[str, Any],
) -> int:
    """`set_per_row`; with `claims` (each row's `next_attempt_at` as the drain claimed it) a row
    is written only while that claim stands: in the same statement on PostgreSQL, elsewhere a
    filtered UPDATE per row (SQLite, the zero-setup default, runs one drain at a time anyway)."""
    if not values:
        return 0
    now = timezone.now()
    if connection.vendor != "postgresql":
        if claims is not None:
            return sum(
                SyncState.objects.filter(pk=pk, next_attempt_at=claims[pk]).update(
                    **row, **common, updated_at=now
                )
                for pk, row in values.items()
            )
        states = [SyncState(pk=pk, **row, **common) for pk, row in values.items()]
        return SyncState.objects.bulk_update(states, [*next(iter(values.values())), *common])
    meta = SyncState._meta
    names = list(next(iter(values.values())))
    json_names = {n for n in names if isinstance(meta.get_field(n), models.JSONField)}
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        field = meta.get_field(name)
        assert isinstance(field, models.Field)
        return quote(field.column or name)

    assignments = [
        f"{column(n)} = v.{quote(n)}" + ("::jsonb" if n in json_names else "") for n in names
    ] + [f"{column(n)} = %s" for n in common]
    assignments.append(f"{column('updated_at')} = %s")
    columns = ["id", *(quote(n) for n in names)]
    where = "s.id = v.id"
    if claims is not None:
        columns.append("claimed_at")
        where += f" AND s.{column('next_attempt_at')} = v.claimed_at"
    rows = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(values))
    params: list[Any] = [*common.values(), now]
    for pk, row in values.items():
        params.append(pk)
        params.extend(json.dumps(row[n]) if n in json_names else row[n] for n in names)
        if claims is not None:
            params.append(claims[pk])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} AS s SET {', '.join(assignments)} "  # noqa: S608
            f"FROM (VALUES {rows}) AS v({', '.join(columns)}) WHERE {where}",
            params,
        )
        return cursor.rowcount


class ImportRun(models.Model):
    """One import of the ledger's debtors; resumable (it skips codes done) and reported per debtor."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.RUNNING
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=list, blank=True)  # [{"code", "name", "outcome", "messages"}]
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"


class LocalDebtor(models.Model):
    """The embedded default ledger: debtors kept in Kring's own database, behaving like a ledger."""

    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=16)
    record = models.JSONField()  # a LedgerCustomer as a dict
    modified_at = models.DateTimeField(default=timezone.now)
    touched = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("local ledger debtor")
        verbose_name_plural = _("local ledger debtors")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "code"], name="sync_localdebtor_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.code
