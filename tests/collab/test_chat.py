"""The Chat tab and thread page for the office, the portal's side, internal notes and the e-mail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collab import services
from collab.models import Message, Notification, ReadState
from collab.visibility import for_contact
from tests.collab.conftest import BASE_URL

pytestmark = pytest.mark.django_db

CANARY = "Kanarie-interne-notitie-7Qx"


def _tab(relation):
    return reverse("relations-tab", args=[relation.public_id, "chat"])


def _thread_url(thread):
    return reverse("chat-thread", args=[thread.client.public_id, thread.pk])


def test_the_tab_lists_threads_and_starts_one_without_javascript(staff_client, bakkerij):
    page = staff_client.get(_tab(bakkerij))
    assert page.status_code == 200
    assert "No conversations with this client yet." in page.text
    response = staff_client.post(
        reverse("chat-new", args=[bakkerij.public_id]),
        {"subject": "Btw Q3", "body": "<b>Vraag</b> over btw", "visibility": "visible"},
    )
    assert response.status_code == 302
    message = Message.objects.get()
    assert response.url == _thread_url(message.thread)
    assert not message.internal
    page = staff_client.get(_tab(bakkerij))
    assert "Btw Q3" in page.text
    thread_page = staff_client.get(response.url)
    assert "&lt;b&gt;Vraag&lt;/b&gt;" in thread_page.text  # escaped, never markup
    assert "<b>Vraag</b>" not in thread_page.text


def test_a_read_only_member_reads_but_cannot_post(readonly_client, thread):
    assert readonly_client.get(_thread_url(thread)).status_code == 200
    url = reverse("chat-post", args=[thread.client.public_id, thread.pk])
    assert readonly_client.post(url, {"body": "x", "visibility": "visible"}).status_code == 403


def test_reading_a_thread_writes_nothing_until_marked_read(staff_client, owner, thread):
    client = staff_client
    client.force_login(owner)
    before = ReadState.objects.count()
    assert client.get(_thread_url(thread)).status_code == 200
    assert ReadState.objects.count() == before
    url = reverse("chat-read", args=[thread.client.public_id, thread.pk])
    assert client.post(url).status_code == 302
    assert ReadState.objects.filter(thread=thread, user=owner).exists()


def test_internal_notes_never_reach_the_portal_or_the_mail(
    staff_client,
    staff,
    access,
    thread,
    portal_user,
    portal_client,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    mailoutbox.clear()
    url = reverse("chat-post", args=[thread.client.public_id, thread.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"body": CANARY, "visibility": "internal"})
    assert response.status_code == 302
    note = Message.objects.get(body=CANARY)
    assert note.internal
    # A reply to the internal note is internal, whatever the toggle said.
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            url, {"body": f"Antwoord {CANARY}", "visibility": "visible", "reply_to": note.pk}
        )
    assert Message.objects.get(body=f"Antwoord {CANARY}").internal
    assert mailoutbox == []  # internal notes send nothing
    # The office sees it, marked as an internal note.
    office = staff_client.get(_thread_url(thread))
    assert CANARY in office.text
    assert 'class="chat-message internal' in office.text
    # The contact sees the thread, not the note, on any page of the portal.
    for page in (
        reverse("portal-home"),
        reverse("portal-chat"),
        reverse("portal-chat-thread", args=[thread.pk]),
    ):
        response = portal_client.get(page)
        assert response.status_code == 200, page
        assert CANARY not in response.text, page
        assert "Internal note" not in response.text, page
    assert (
        "Wilt u de jaaropgaaf sturen?"
        in portal_client.get(reverse("portal-chat-thread", args=[thread.pk])).text
    )
    # Nor in the unread counts: only the visible message counts.
    view = for_contact(portal_user)
    assert view is not None
    assert view.unread_total() == 1


def test_the_contact_replies_and_the_office_sees_it_unread(
    staff_client, staff, access, thread, portal_client
):
    url = reverse("portal-chat-post", args=[thread.pk])
    response = portal_client.post(url, {"body": "Hierbij <script>x</script>"})
    assert response.status_code == 302
    message = Message.objects.latest("pk")
    assert message.from_contact
    assert not message.internal
    tab = staff_client.get(_tab(thread.client))
    assert 'class="badge unread">1<' in tab.text
    page = staff_client.get(_thread_url(thread))
    assert "Hierbij &lt;script&gt;" in page.text


def test_the_contact_starts_a_thread_on_a_client_it_may_see(
    access, bakkerij, portal_client, practice
):
    response = portal_client.post(
        reverse("portal-chat-new"),
        {"client": str(bakkerij.public_id), "subject": "Vraag", "body": "Hallo"},
    )
    assert response.status_code == 302
    assert Message.objects.get().thread.client == bakkerij


def test_withdrawing_keeps_the_message_and_shows_withdrawn(
    staff_client, access, thread, portal_client
):
    message = thread.messages.get()
    url = reverse("chat-withdraw", args=[thread.client.public_id, message.pk])
    assert staff_client.get(url).status_code == 200  # the confirm page
    assert staff_client.post(url, {"confirmed": "1"}).status_code == 302
    message.refresh_from_db()
    assert message.withdrawn_at is not None
    assert Message.objects.filter(pk=message.pk).exists()  # never deleted
    page = portal_client.get(reverse("portal-chat-thread", args=[thread.pk]))
    assert "Message withdrawn" in page.text
    assert "Wilt u de jaaropgaaf sturen?" not in page.text


def test_three_messages_in_five_minutes_send_one_email_without_content(
    staff, access, portal_user, bakkerij, mailoutbox, django_capture_on_commit_callbacks
):
    """One e-mail per thread per quarter hour per recipient, and never a word of the message."""
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        thread = services.start_thread(
            client=bakkerij,
            user=staff,
            subject="Jaarrekening 2025",
            body="Wilt u de jaaropgaaf sturen?",
            internal=False,
            base_url=BASE_URL,
        )
    for n in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.post_staff_message(
                thread=thread, user=staff, body=f"Bericht {n}", internal=False, base_url=BASE_URL
            )
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [portal_user.email]
    for secret in ("Wilt u", "Jaarrekening", "Bericht", "Bakkerij"):
        assert secret not in mail.body
        assert secret not in mail.subject
    assert f"{BASE_URL}{reverse('portal-chat-thread', args=[thread.pk])}" in mail.body
    # The clock moved on a quarter hour (the last mail's time set back, not a sleep): one again.
    Notification.objects.update(sent_at=timezone.now() - timedelta(minutes=16))
    with django_capture_on_commit_callbacks(execute=True):
        services.post_staff_message(
            thread=thread, user=staff, body="Later", internal=False, base_url=BASE_URL
        )
    assert len(mailoutbox) == 2
    assert "Later" not in mailoutbox[1].body


def test_the_staff_thread_page_is_404_for_another_practice(outsider, thread):
    from django.test import Client

    client = Client()
    client.force_login(outsider)
    assert client.get(_thread_url(thread)).status_code == 404


def test_a_thread_begun_with_an_internal_note_does_not_exist_for_the_contact(
    staff_client, staff, bakkerij, access, portal_user, portal_client
):
    secret = services.start_thread(
        client=bakkerij,
        user=staff,
        subject=f"{CANARY} onderwerp",
        body="Alleen voor ons",
        internal=True,
        base_url=BASE_URL,
    )
    assert CANARY not in portal_client.get(reverse("portal-chat")).text
    url = reverse("portal-chat-thread", args=[secret.pk])
    assert portal_client.get(url).status_code == 404
    post = reverse("portal-chat-post", args=[secret.pk])
    assert portal_client.post(post, {"body": "Mag ik meelezen?"}).status_code == 404
    # Once the office writes to the client in it, the thread is the client's too.
    services.post_staff_message(
        thread=secret, user=staff, body="Nu voor u", internal=False, base_url=BASE_URL
    )
    page = portal_client.get(url)
    assert page.status_code == 200
    assert "Nu voor u" in page.text
    assert "Alleen voor ons" not in page.text
