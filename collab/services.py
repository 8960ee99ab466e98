"""Starting threads, posting and withdrawing messages, read marks and the e-mails about them.

The rules for internal notes live here and in collab.visibility: a contact's message is never
internal, a reply to an internal note is internal, and only a message a contact may read causes an
e-mail to it. The e-mail says only that there is a new message and where: never a subject, a name
of a client or a word of the message.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from collab.models import Message, Notification, ReadState, Thread
from collab.visibility import ContactView, contacts_for_thread
from practice.mail import PlainTextMail
from relations.models import Relation
from relations.rules import ensure_editable

NOTIFY_EVERY = timedelta(minutes=15)


def _touch(thread: Thread, at) -> None:
    Thread.objects.filter(pk=thread.pk).update(last_message_at=at)
    thread.last_message_at = at


def mark_read(thread: Thread, user: User) -> None:
    now = timezone.now()
    ReadState.objects.update_or_create(thread=thread, user=user, defaults={"read_at": now})


@transaction.atomic
def start_thread(
    *, client: Relation, user: User, subject: str, body: str, internal: bool, base_url: str
) -> Thread:
    """A new thread on a client, by a member of the office, with its first message."""
    if not client.is_client:
        raise ValidationError(_("Threads are kept on clients."))
    ensure_editable(client)
    thread = Thread.objects.create(
        practice_id=client.practice_id, client=client, subject=subject.strip(), created_by=user
    )
    post_staff_message(thread=thread, user=user, body=body, internal=internal, base_url=base_url)
    return thread


@transaction.atomic
def post_staff_message(
    *,
    thread: Thread,
    user: User,
    body: str,
    internal: bool,
    base_url: str,
    reply_to: Message | None = None,
) -> Message:
    ensure_editable(thread.client)
    if reply_to is not None:
        if reply_to.thread_id != thread.pk:
            raise ValidationError(_("That message is not in this thread."))
        if reply_to.internal:
            internal = True  # a reply to an internal note stays inside the office
    now = timezone.now()
    message = Message.objects.create(
        practice_id=thread.practice_id,
        thread=thread,
        author=user,
        body=body,
        internal=internal,
        reply_to=reply_to,
        created_at=now,
    )
    _touch(thread, now)
    mark_read(thread, user)
    if not internal:
        transaction.on_commit(partial(notify_contacts, thread.pk, base_url))
    return message


@transaction.atomic
def start_contact_thread(*, view: ContactView, client: Relation, subject: str, body: str) -> Thread:
    """A new thread from the portal, on a client the contact may see."""
    if not view.clients().filter(pk=client.pk).exists():
        raise ValidationError(_("Choose one of your clients."))
    thread = Thread.objects.create(
        practice_id=client.practice_id, client=client, subject=subject.strip(), created_by=view.user
    )
    _contact_message(view=view, thread=thread, body=body)
    return thread


@transaction.atomic
def post_contact_message(
    *, view: ContactView, thread: Thread, body: str, reply_to: Message | None = None
) -> Message:
    if not view.can_see(thread):
        raise ValidationError(_("This conversation is not available."))
    if reply_to is not None and not view.messages(thread).filter(pk=reply_to.pk).exists():
        raise ValidationError(_("That message is not in this conversation."))
    return _contact_message(view=view, thread=thread, body=body, reply_to=reply_to)


def _contact_message(
    *, view: ContactView, thread: Thread, body: str, reply_to: Message | None = None
) -> Message:
    """The contact's message in a thread it was allowed to write in (checked by the caller)."""
    now = timezone.now()
    message = Message.objects.create(
        practice_id=thread.practice_id,
        thread=thread,
        author=view.user,
        author_contact=view.account.relation,
        body=body,
        internal=False,
        reply_to=reply_to,
        created_at=now,
    )
    _touch(thread, now)
    mark_read(thread, view.user)
    return message


@transaction.atomic
def withdraw(*, message: Message, user: User) -> Message:
    """Withdraw a message: it stays, shown as "message withdrawn" from now on."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.withdrawn_at is not None:
        raise ValidationError(_("This message has been withdrawn already."))
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = user
    locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
    message.withdrawn_at, message.withdrawn_by = locked.withdrawn_at, user
    return message


# --- the e-mail to contacts ----------------------------------------------------------------------


def notify_contacts(thread_id: int, base_url: str) -> int:
    """One e-mail per contact who may read the thread, unless it had one about it in the last
    quarter hour; the number sent."""
    thread = Thread.objects.select_related("practice").get(pk=thread_id)
    now = timezone.now()
    sent = 0
    for view in contacts_for_thread(thread):
        recipient = view.account.user
        email = recipient.email
        if not email:
            continue
        recent = Notification.objects.filter(
            thread=thread, user=recipient, sent_at__gt=now - NOTIFY_EVERY
        ).exists()
        if recent:
            continue
        Notification.objects.create(thread=thread, user=recipient, sent_at=now)
        link = base_url.rstrip("/") + reverse("portal-chat-thread", args=[thread.pk])
        with translation.override(view.account.relation.language):
            subject = _("You have a new message from %(practice)s") % {"practice": thread.practice}
            body = render_to_string(
                "collab/email/new_message.txt", {"practice": thread.practice, "link": link}
            )
        PlainTextMail(" ".join(subject.split()), body, to=[email]).send()
        sent += 1
    return sent
