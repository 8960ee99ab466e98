"""Who sees what: the one rule every contact-facing read of collab goes through.

A contact (a portal user) sees a client's threads only while all of this holds, checked on every
request, never remembered:

* its portal account is active: not revoked (revoking the invitation revokes it) and the contact
  not archived (`PortalAccount.objects.active()`);
* it has a current connection to that client (not ended) with "portal access for this client"
  switched on (`Connection.portal_access`), in the same practice;
* the client itself is a client and not archived.

Of those threads it sees only the ones holding a message that is not an internal note, and of
those only the messages that are not internal notes. The portal's views, its
unread counts and every e-mail to a contact use `for_contact` / `clients_for_contact` and nothing
else; no other module of collab queries Thread or Message for a contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, DateTimeField, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from collab.models import Message, ReadState, Thread
from connections.models import Connection
from portal.models import PortalAccount
from portal.services import active_account
from relations.models import Relation

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _access_connections(account: PortalAccount) -> QuerySet[Connection]:
    return (
        Connection.objects.active()
        .filter(practice_id=account.practice_id, portal_access=True)
        .filter(Q(a_id=account.relation_id) | Q(b_id=account.relation_id))
    )


def clients_for_contact(account: PortalAccount) -> QuerySet[Relation]:
    """The clients whose threads (and, later, shared documents) this account's contact may read."""
    if account.revoked_at is not None:
        return Relation.objects.none()
    connections = _access_connections(account)
    return (
        Relation.objects.filter(
            # Read again in the same query, not trusted from the caller: the account may have been
            # revoked, or the contact archived, a moment ago.
            Exists(PortalAccount.objects.active().filter(pk=account.pk)),
            practice_id=account.practice_id,
            kind=Relation.Kind.CLIENT,
            archived_at__isnull=True,
        )
        .filter(
            Q(pk__in=connections.filter(b_id=account.relation_id).values("a_id"))
            | Q(pk__in=connections.filter(a_id=account.relation_id).values("b_id"))
        )
        .exclude(pk=account.relation_id)
    )


def visible_messages(thread: Thread) -> QuerySet[Message]:
    """What a contact may read of a thread it may see: never an internal note."""
    return Message.objects.filter(thread=thread, internal=False)


def with_unread(
    threads: QuerySet[Thread], user: User, *, contact: bool, only_contacts: bool = False
) -> QuerySet[Thread]:
    """Each thread with `unread`: messages by others after the user's read mark (for a contact,
    only those it may read; with `only_contacts`, only the contacts' messages)."""
    read_at = ReadState.objects.filter(thread=OuterRef("pk"), user=user).values("read_at")[:1]
    since = Coalesce(Subquery(read_at), Value(EPOCH), output_field=DateTimeField())
    condition = Q(messages__created_at__gt=since) & ~Q(messages__author=user)
    if contact:
        condition &= Q(messages__internal=False)
    if only_contacts:
        condition &= Q(messages__author_contact__isnull=False)
    return threads.annotate(unread=Count("messages", filter=condition))


@dataclass(frozen=True)
class ContactView:
    """A contact's view of the collaboration, built per request by `for_contact`."""

    account: PortalAccount
    user: User

    def clients(self) -> QuerySet[Relation]:
        return clients_for_contact(self.account)

    def threads(self) -> QuerySet[Thread]:
        """The threads of its clients that hold a message it may read: a thread the office began
        with an internal note does not exist for the contact, not even its subject."""
        return Thread.objects.filter(
            Exists(Message.objects.filter(thread=OuterRef("pk"), internal=False)),
            practice_id=self.account.practice_id,
            client__in=self.clients(),
        )

    def threads_with_unread(self) -> QuerySet[Thread]:
        return with_unread(self.threads(), self.user, contact=True)

    def thread(self, pk: int) -> Thread:
        """One thread the contact may see, else 404 (whoever's it is, wherever it is)."""
        thread = self.threads().select_related("client").filter(pk=pk).first()
        if thread is None:
            raise Http404("No such thread.")
        return thread

    def messages(self, thread: Thread) -> QuerySet[Message]:
        if not self.threads().filter(pk=thread.pk).exists():
            return Message.objects.none()
        return visible_messages(thread)

    def can_see(self, thread: Thread) -> bool:
        return self.threads().filter(pk=thread.pk).exists()

    def unread_total(self) -> int:
        return sum(getattr(thread, "unread", 0) for thread in self.threads_with_unread())


def for_contact(user: User | AnonymousUser) -> ContactView | None:
    """The signed-in contact's view, or None when the user has no active portal account."""
    account = active_account(user)
    if account is None or not isinstance(user, User):
        return None
    return ContactView(account=account, user=user)


def contacts_for_thread(thread: Thread) -> list[ContactView]:
    """Every contact who may read `thread` now: whom an e-mail about it may go to."""
    client_id = thread.client_id
    linked = Connection.objects.active().filter(practice_id=thread.practice_id, portal_access=True)
    contact_ids = set(linked.filter(a_id=client_id).values_list("b_id", flat=True)) | set(
        linked.filter(b_id=client_id).values_list("a_id", flat=True)
    )
    views = []
    for account in (
        PortalAccount.objects.active()
        .filter(practice_id=thread.practice_id, relation_id__in=contact_ids)
        .select_related("user", "relation", "practice")
    ):
        view = ContactView(account=account, user=account.user)
        if view.can_see(thread):  # the one rule, again, for each recipient
            views.append(view)
    return views
