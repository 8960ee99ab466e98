"""The admin: every model is there, its pages render, and nothing that is history can be deleted."""

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from connections.models import Connection
from practice.models import Practice
from relations.models import Address, BankAccount, Relation
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


@pytest.mark.parametrize(
    "model", [Relation, Address, BankAccount, Connection, Practice], ids=lambda m: m._meta.label
)
def test_admin_forms_refuse_invisible_characters(model):
    """The admin edits the same data as the app: a bidi override is refused here too."""
    request = RequestFactory().get("/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    form_class = admin.site._registry[model].get_form(request)
    text_fields = [
        name
        for name, field in form_class.base_fields.items()
        if type(field) is forms.CharField and not isinstance(field.widget, forms.Textarea)
    ]
    assert text_fields, model._meta.label
    form = form_class(data={text_fields[0]: "Evil\u202ecorp"})
    assert not form.is_valid()
    assert form.has_error(text_fields[0], "control_character")
