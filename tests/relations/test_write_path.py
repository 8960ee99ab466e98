"""Issue 13: one way to change a relation (relations.changes), used by every caller — the admin too.

The admin edits through `update_relation` (its optimistic lock, the timeline, the outbox), its
address and bank inlines through the tabs' services; only relations.changes bumps the outbox.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from connections import services as connection_services
from connections.models import Connection
from relations import services
from relations.admin import STALE_MESSAGE
from relations.models import (
    Address,
    BankAccount,
    Relation,
    ServiceAgreement,
    TeamAssignment,
    TimelineEvent,
)
from relations.rules import ARCHIVED_READ_ONLY
from tests.factories import RelationFactory, ServiceAgreementFactory, UserFactory
from tests.forms import as_browser_submits

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("practice", "relations", "connections", "portal", "sync", "config")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def _change_url(relation: Relation) -> str:
    return reverse("admin:relations_relation_change", args=[relation.pk])


def _admin_post(client, relation: Relation, **changes) -> dict[str, str]:
    """The admin change form's POST, as loaded (main form and inlines), with `changes` typed in."""
    context = client.get(_change_url(relation)).context
    data = as_browser_submits(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        for form in (formset.management_form, *formset.forms):
            data.update({form.add_prefix(k): v for k, v in as_browser_submits(form).items()})
    data.update({k: str(v) for k, v in changes.items()})
    return data


def test_an_admin_edit_goes_through_the_write_path(admin_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Oud B.V.")
    before = Relation.objects.get(pk=relation.pk)
    response = admin_client.post(
        _change_url(relation), _admin_post(admin_client, relation, legal_name="Nieuw B.V.")
    )
    assert response.status_code == 302
    after = Relation.objects.get(pk=relation.pk)
    assert after.display_name == "Nieuw B.V."
    assert after.version == before.version + 1
    assert after.ledger_version == before.ledger_version + 1
    event = TimelineEvent.objects.get(relation=relation, kind=TimelineEvent.Kind.CHANGED)
    assert event.fields == ["legal_name"]


def test_the_admin_refuses_a_form_opened_before_someone_else_saved(admin_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Oud B.V.")
    data = _admin_post(admin_client, relation, legal_name="Van de admin B.V.")
    # Someone saves in between (the edit page, another admin).
    Relation.objects.filter(pk=relation.pk).update(legal_name="Van de collega B.V.")
    Relation.objects.filter(pk=relation.pk).update(version=relation.version + 1)

    response = admin_client.post(_change_url(relation), data)

    assert response.status_code == 200
    assert str(STALE_MESSAGE) in response.content.decode()
    stored = Relation.objects.get(pk=relation.pk)
    assert (stored.legal_name, stored.version) == ("Van de collega B.V.", relation.version + 1)
    assert not TimelineEvent.objects.filter(relation=relation).exists()


def test_the_admin_refuses_an_archived_relation_with_the_one_message(admin_client, practice):
    relation = RelationFactory(practice=practice, archived_at=timezone.now())
    response = admin_client.post(
        _change_url(relation), _admin_post(admin_client, relation, legal_name="Anders B.V.")
    )
    assert response.status_code == 200
    assert str(ARCHIVED_READ_ONLY) in response.content.decode()
    assert Relation.objects.get(pk=relation.pk).legal_name != "Anders B.V."


def test_admin_inlines_keep_one_default_and_reach_the_timeline_and_outbox(admin_client, practice):
    relation = RelationFactory(practice=practice)
    before = Relation.objects.get(pk=relation.pk).ledger_version
    data = _admin_post(admin_client, relation)
    prefix = "addresses"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-type": "visiting",
            f"{prefix}-0-street": "Dorpsstraat",
            f"{prefix}-0-house_number": "1",
            f"{prefix}-0-postcode": "1234 AB",
            f"{prefix}-0-city": "Zwolle",
            f"{prefix}-0-country": "NL",
        }
    )
    response = admin_client.post(_change_url(relation), data)
    assert response.status_code == 302, response.context["errors"]
    address = Address.objects.get(relation=relation)
    # Not ticked, but the only visiting address: the default (the tabs' rule).
    assert address.is_default
    stored = Relation.objects.get(pk=relation.pk)
    assert stored.ledger_version > before
    assert "zwolle" in stored.search_text
    assert TimelineEvent.objects.filter(
        relation=relation, kind=TimelineEvent.Kind.ADDRESS_ADDED
    ).exists()


def test_only_the_write_path_bumps_the_outbox():
    """`F("ledger_version")` (the outbox's increment) is written in relations.changes alone."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            if re.search(r"""F\(\s*["']ledger_version["']\s*\)""", path.read_text()):
                found.append(str(path.relative_to(ROOT)))
    assert found == ["relations/changes.py"]


def test_the_one_default_rule_lives_on_the_details_querysets(practice):
    relation = RelationFactory(practice=practice)
    first = BankAccount.objects.create(relation=relation, iban="NL91ABNA0417164300")
    second = BankAccount(relation=relation, iban="NL20INGB0001234567", is_default=True)
    BankAccount.objects.take_default(second)
    second.save()
    first.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    second.delete()
    BankAccount.objects.keep_a_default(second)
    first.refresh_from_db()
    assert first.is_default


def _refused(call) -> None:
    with pytest.raises(ValidationError) as exc:
        call()
    assert exc.value.messages == [str(ARCHIVED_READ_ONLY)]


def test_every_service_that_changes_a_relation_refuses_an_archived_one(practice, staff, owner):
    """The services hold the rule (relations.rules), in its one wording; a view may ask first."""
    relation = RelationFactory(practice=practice, legal_name="Bakkerij B.V.")
    other = RelationFactory(practice=practice, contact=True, private=True)
    address = Address.objects.create(relation=relation, street="Weg", city="Zwolle")
    account = BankAccount.objects.create(relation=relation, iban="NL91ABNA0417164300")
    agreement = ServiceAgreementFactory(relation=relation, service="payroll")
    assignment = relation.team.create(
        practice=practice, user=owner, role=TeamAssignment.Role.ACCOUNTANT
    )
    link = connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=other,
        other=relation,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
    )
    Relation.objects.filter(pk=relation.pk).update(archived_at=timezone.now())
    relation.refresh_from_db()
    agreement.refresh_from_db()
    link.refresh_from_db()
    version = relation.version

    relation.legal_name = "Anders B.V."
    _refused(
        lambda: services.update_relation(
            relation=relation, user=staff, version=version, changed=["legal_name"]
        )
    )
    _refused(lambda: services.convert_to_private(relation=relation, user=staff, last_name="X"))
    _refused(
        lambda: services.save_address(
            relation=relation, user=staff, address=Address(street="Laan", city="Ede")
        )
    )
    _refused(lambda: services.remove_address(relation=relation, user=staff, address=address))
    _refused(
        lambda: services.save_bank_account(
            relation=relation, user=staff, account=BankAccount(iban="NL20INGB0001234567")
        )
    )
    _refused(lambda: services.remove_bank_account(relation=relation, user=staff, account=account))
    _refused(
        lambda: services.add_team_member(
            relation=relation, user=staff, member=staff, role=TeamAssignment.Role.ASSISTANT
        )
    )
    _refused(lambda: services.remove_team_member(assignment=assignment, user=staff))
    _refused(
        lambda: services.add_agreement(
            relation=relation, user=staff, agreement=ServiceAgreement(service="vat")
        )
    )
    _refused(lambda: services.change_agreement(agreement=agreement, user=staff, changed=["notes"]))
    _refused(lambda: services.end_agreement(agreement=agreement, user=staff))
    _refused(lambda: connection_services.end_connection(connection=link, user=staff))
    _refused(
        lambda: connection_services.add_connection(
            practice=practice,
            user=staff,
            relation=relation,
            other=other,
            type=Connection.Type.DIRECTOR,
            subject_is_relation=True,
        )
    )
    stored = Relation.objects.get(pk=relation.pk)
    assert (stored.legal_name, stored.version) == ("Bakkerij B.V.", version)
    assert not Address.objects.filter(city="Ede").exists()
