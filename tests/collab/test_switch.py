"""The per-connection switch "portal access for this client": on the Connections tab's add form, on
each row, and when inviting the contact."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections import services as connection_services
from connections.models import Connection
from portal.models import Invitation

pytestmark = pytest.mark.django_db


def test_the_add_form_sets_the_switch(staff_client, contact, bakkerij):
    response = staff_client.post(
        reverse("connections-add", args=[contact.public_id]),
        {"other": str(bakkerij.public_id), "role": "contact_person:subject", "portal_access": "on"},
    )
    assert response.status_code == 302
    assert Connection.objects.get().portal_access is True


def test_the_add_form_leaves_it_off_by_default(staff_client, contact, bakkerij):
    staff_client.post(
        reverse("connections-add", args=[contact.public_id]),
        {"other": str(bakkerij.public_id), "role": "contact_person:subject"},
    )
    assert Connection.objects.get().portal_access is False


def test_the_row_switches_it_on_and_off(staff_client, practice, staff, contact, bakkerij):
    connection = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=bakkerij,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
    )
    tab = staff_client.get(reverse("relations-tab", args=[contact.public_id, "connections"]))
    assert "No portal access" in tab.text
    url = reverse("connections-portal-access", args=[contact.public_id, connection.pk])
    assert staff_client.post(url, {"portal_access": "on"}).status_code == 302
    connection.refresh_from_db()
    assert connection.portal_access is True
    assert staff_client.post(url, {}).status_code == 302
    connection.refresh_from_db()
    assert connection.portal_access is False


def test_a_read_only_member_cannot_switch(readonly_client, access, contact):
    url = reverse("connections-portal-access", args=[contact.public_id, access.pk])
    assert readonly_client.post(url, {}).status_code == 403
    access.refresh_from_db()
    assert access.portal_access is True


def test_inviting_switches_on_the_chosen_client_connections(
    staff_client, practice, staff, contact, bakkerij, django_capture_on_commit_callbacks
):
    connection = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=bakkerij,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
    )
    page = staff_client.get(contact.get_absolute_url())
    assert f'name="portal_access" value="{connection.pk}"' in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("portal-invite", args=[contact.public_id]),
            {"portal_access": [str(connection.pk), "999999", "x"]},
        )
    assert response.status_code == 302
    assert Invitation.objects.filter(relation=contact).exists()
    connection.refresh_from_db()
    assert connection.portal_access is True
