"""Threads of messages between the office and a client's contacts.

A thread belongs to one client. A message is written by a member of the office (`author`, no
`author_contact`) or by a contact through the portal (`author` its portal user, `author_contact` the
contact). An *internal* message (Interne notitie) is for the office only: collab.visibility never lets
one reach a contact. Messages are never deleted: withdrawing one keeps the row and shows
"message withdrawn" in its place (the text stays for the office's records, never shown again).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from practice.models import Practice
from relations.models import Relation

SUBJECT_MAX = 200
BODY_MAX = 10_000


class Thread(models.Model):
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    client = models.ForeignKey(
        Relation, on_delete=models.PROTECT, related_name="threads", verbose_name=_("client")
    )
    subject = models.CharField(_("subject"), max_length=SUBJECT_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    # The newest message of any kind (the office's list); the portal orders by its own messages.
    last_message_at = models.DateTimeField(_("last message at"), default=timezone.now)

    class Meta:
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        ordering = ["-last_message_at", "-pk"]
        indexes = [models.Index(fields=["client", "-last_message_at"], name="collab_thread_client")]

    def __str__(self) -> str:
        return self.subject


class Message(models.Model):
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="+", verbose_name=_("practice")
    )
    thread = models.ForeignKey(
        Thread, on_delete=models.PROTECT, related_name="messages", verbose_name=_("thread")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("author"),
    )
    # Set when a contact wrote it through the portal; empty for the office's messages.
    author_contact = models.ForeignKey(
        Relation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact"),
    )
    body = models.TextField(_("message"), max_length=BODY_MAX)
    internal = models.BooleanField(_("internal note"), default=False)
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("in reply to"),
    )
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("withdrawn by"),
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["thread", "created_at"], name="collab_message_thread")]
        constraints = [
            # A contact never writes an internal note.
            models.CheckConstraint(
                condition=Q(author_contact__isnull=True) | Q(internal=False),
                name="collab_message_contact_not_internal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.thread} #{self.pk}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def from_contact(self) -> bool:
        return self.author_contact_id is not None


class ReadState(models.Model):
    """How far one person (a member or a contact's portal user) has read a thread."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="collab_readstate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.thread_id}: {self.user_id} {self.read_at}"


class Notification(models.Model):
    """The e-mails sent about a thread, per recipient: at most one per thread per quarter hour."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["thread", "user", "-sent_at"], name="collab_notif_recent")]

    def __str__(self) -> str:
        return f"{self.thread_id}: {self.user_id} {self.sent_at}"
