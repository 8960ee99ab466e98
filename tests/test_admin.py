"""The admin: every model is there, its pages render, and nothing that is history can be deleted."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OUR_APPS = {"practice", "relations", "connections", "portal", "sync"}
# Relations and their history are never deleted, anywhere (DESIGN §3 "Never delete").
NEVER_DELETED = {
    "relations.relation",
    "relations.serviceagreement",
    "relations.timelineevent",
    "relations.teamassignment",
    "connections.connection",
    "portal.invitation",
    "practice.practice",
}


def our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_every_model_of_ours_is_in_the_admin():
    missing = [m._meta.label for m in our_models() if m not in admin.site._registry]
    assert missing == []


def test_history_models_cannot_be_deleted_from_the_admin():
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        if model._meta.label_lower in NEVER_DELETED:
            assert model_admin.has_delete_permission(request) is False, model._meta.label
            assert "delete_selected" not in model_admin.get_actions(request), model._meta.label


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_changelist_renders(client, model):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200
