"""The office's inbox, and a thread's page at 10 and at 1,000 messages: the same queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from collab import services
from collab.models import Message
from relations.models import TeamAssignment
from tests.collab.conftest import BASE_URL
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def _contact_writes(view_user, contact, thread, body):
    return Message.objects.create(
        practice=thread.practice,
        thread=thread,
        author=view_user,
        author_contact=contact,
        body=body,
    )


def test_the_inbox_lists_unread_client_messages_mine_first(
    staff_client, staff, practice, contact, portal_user, thread
):
    other_client = RelationFactory(practice=practice, legal_name="Ander B.V.")
    other = services.start_thread(
        client=other_client,
        user=staff,
        subject="Loonaangifte",
        body="Vraag",
        internal=False,
        base_url=BASE_URL,
    )
    page = staff_client.get(reverse("inbox"))
    assert page.status_code == 200
    assert "No unread client messages." in page.text  # the office's own messages are not news
    _contact_writes(portal_user, contact, thread, "Antwoord op de jaarrekening")
    _contact_writes(portal_user, contact, other, "Antwoord op de loonaangifte")
    TeamAssignment.objects.create(
        practice=practice, relation=other_client, user=staff, role=TeamAssignment.Role.ACCOUNTANT
    )
    text = staff_client.get(reverse("inbox")).text
    assert text.index("Loonaangifte") < text.index("Jaarrekening 2025")  # my relation first
    assert "Antwoord op" not in text  # subjects, never the messages
    services.mark_read(other, staff)
    assert "Loonaangifte" not in staff_client.get(reverse("inbox")).text


def test_an_internal_note_by_a_colleague_is_not_in_the_inbox(staff_client, owner, thread):
    services.post_staff_message(
        thread=thread, user=owner, body="Notitie", internal=True, base_url=BASE_URL
    )
    assert "No unread client messages." in staff_client.get(reverse("inbox")).text


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _grow(thread, staff, contact, portal_user, total):
    have = thread.messages.count()
    Message.objects.bulk_create(
        Message(
            practice=thread.practice,
            thread=thread,
            author=portal_user if n % 2 else staff,
            author_contact=contact if n % 2 else None,
            internal=not n % 2 and not n % 3,  # some of the office's are internal notes
            body=f"Bericht {n}",
        )
        for n in range(have, total)
    )


def test_a_thread_page_needs_the_same_queries_at_10_and_1000_messages(
    staff_client, staff, access, contact, portal_user, portal_client, thread
):
    staff_url = reverse("chat-thread", args=[thread.client.public_id, thread.pk])
    portal_url = reverse("portal-chat-thread", args=[thread.pk])
    _grow(thread, staff, contact, portal_user, 10)
    small = (_queries(staff_client, staff_url), _queries(portal_client, portal_url))
    _grow(thread, staff, contact, portal_user, 1000)
    large = (_queries(staff_client, staff_url), _queries(portal_client, portal_url))
    assert small == large
    assert thread.messages.count() == 1000
