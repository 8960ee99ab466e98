"""The one rule (collab.visibility): a contact reads a client's threads only through a current
connection to it with portal access on, an active account and the contact not archived; each way
the access ends ends it at once, in the views and in the e-mails alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from collab import services
from collab.visibility import clients_for_contact, contacts_for_thread, for_contact
from connections import services as connection_services
from connections.models import Connection
from portal import services as portal_services
from relations import services as relation_services
from tests.collab.conftest import BASE_URL
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def _clients(user):
    view = for_contact(user)
    return set(view.clients()) if view else set()


def test_access_needs_the_switch_on_the_connection(practice, staff, contact, bakkerij, portal_user):
    connection = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=bakkerij,
        type=Connection.Type.DIRECTOR,
        subject_is_relation=True,
    )
    assert connection.portal_access is False  # off by default
    assert _clients(portal_user) == set()
    connection_services.set_portal_access(connection=connection, user=staff, on=True)
    assert _clients(portal_user) == {bakkerij}


def test_a_connection_to_another_client_gives_no_access_to_this_one(
    practice, staff, contact, bakkerij, access, portal_user
):
    """Jan is contact of Bakkerij with access; his wife's private client file stays out of sight."""
    private = RelationFactory(practice=practice, private=True, first_name="Anna", last_name="Prive")
    connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=private,
        type=Connection.Type.FISCAL_PARTNER,
        subject_is_relation=True,
    )
    assert _clients(portal_user) == {bakkerij}


def _thread_page(portal_client, thread):
    return portal_client.get(reverse("portal-chat-thread", args=[thread.pk]))


def test_ending_the_connection_ends_access_at_once(
    staff, access, thread, portal_user, portal_client
):
    assert _thread_page(portal_client, thread).status_code == 200
    connection_services.end_connection(connection=access, user=staff)  # today: ended
    assert _thread_page(portal_client, thread).status_code == 404
    assert _clients(portal_user) == set()
    assert contacts_for_thread(thread) == []


def test_a_connection_ending_in_the_future_still_gives_access_until_then(
    staff, access, thread, portal_client
):
    connection_services.end_connection(
        connection=access, user=staff, on=timezone.localdate() + timedelta(days=3)
    )
    assert _thread_page(portal_client, thread).status_code == 200


def test_switching_off_ends_access_at_once(staff, access, thread, portal_client):
    connection_services.set_portal_access(connection=access, user=staff, on=False)
    assert _thread_page(portal_client, thread).status_code == 404
    assert contacts_for_thread(thread) == []


def test_revoking_the_invitation_ends_access_at_once(
    staff, contact, access, thread, portal_user, portal_client
):
    portal_services.revoke(relation=contact, user=staff)
    assert _thread_page(portal_client, thread).status_code == 404
    assert for_contact(portal_user) is None
    assert contacts_for_thread(thread) == []


def test_archiving_the_contact_ends_access_at_once(
    practice, owner, contact, access, thread, portal_user, portal_client
):
    account = portal_user.portal_account
    relation_services.archive(practice=practice, user=owner, relations=[contact])
    assert _thread_page(portal_client, thread).status_code == 404
    # Even with the account row as it was read before the archive:
    assert list(clients_for_contact(account)) == []
    assert contacts_for_thread(thread) == []


def test_archiving_the_client_ends_access(practice, owner, bakkerij, access, thread, portal_client):
    relation_services.archive(practice=practice, user=owner, relations=[bakkerij])
    assert _thread_page(portal_client, thread).status_code == 404


def test_no_email_goes_to_a_contact_whose_access_ended(
    staff, access, thread, portal_user, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    connection_services.set_portal_access(connection=access, user=staff, on=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.post_staff_message(
            thread=thread, user=staff, body="Nog een vraag", internal=False, base_url=BASE_URL
        )
    assert mailoutbox == []


def test_the_switch_is_only_for_a_contact_and_a_client(practice, staff, bakkerij):
    other_client = RelationFactory(practice=practice, legal_name="Ander B.V.")
    connection = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=bakkerij,
        other=other_client,
        type=Connection.Type.PARENT_COMPANY,
        subject_is_relation=True,
    )
    with pytest.raises(Exception, match="contact and a client"):
        connection_services.set_portal_access(connection=connection, user=staff, on=True)
