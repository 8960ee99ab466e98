from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation
from sync import crypto


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
    # The change feed (sync.services.check_ledger_changes): a stamp in the ledger's own clock from
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
            practice_id = self.practice_id

            def nudge() -> None:
                from sync.tasks import nudge

                nudge(practice_id)

            transaction.on_commit(nudge)

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
