"""The admin corrects a description or a start date; it neither adds nor deletes connections."""

import pytest
from django.contrib import admin
from django.urls import reverse

from connections.models import Connection

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(connect, company, jan):
    return connect(jan, company, description="Statutair")


def test_changelist_has_no_delete_action(admin_client, connection):
    response = admin_client.get(reverse("admin:connections_connection_changelist"))

    assert response.status_code == 200
    assert "Jan de Vries — director of Bakkerij B.V." in response.content.decode()
    assert "delete_selected" not in response.content.decode()
    assert "delete_selected" not in admin.site.get_model_admin(Connection).get_actions(
        response.wsgi_request
    )


def test_delete_and_add_are_refused(admin_client, connection):
    delete = reverse("admin:connections_connection_delete", args=[connection.pk])
    add = reverse("admin:connections_connection_add")

    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(add).status_code == 403
    assert Connection.objects.filter(pk=connection.pk).exists()


def test_the_pair_and_type_are_read_only(admin_client, connection):
    url = reverse("admin:connections_connection_change", args=[connection.pk])

    response = admin_client.post(url, {"description": "Bestuurder", "start_date": "2020-01-01"})

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.description == "Bestuurder"
    assert (connection.type, connection.a_is_subject) == ("director", False)
