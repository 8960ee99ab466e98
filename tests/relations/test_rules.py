"""DESIGN.md "Rules": conversions, archive/restore, never delete — through the views, with the database after."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from relations import services
from relations.models import Relation, ServiceAgreement
from tests.factories import RelationFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db


def post(client, name, relation):
    return client.post(reverse(name, args=[relation.public_id]), follow=True)


def test_contact_becomes_client_with_a_code_keeping_its_identity(staff_client, practice):
    contact = RelationFactory(practice=practice, contact=True, private=True)
    response = post(staff_client, "relations-convert-to-client", contact)
    assert "is now a client" in response.content.decode()
    converted = Relation.objects.get(pk=contact.pk)
    assert converted.public_id == contact.public_id
    assert (converted.kind, converted.client_code) == ("client", "1000")
    assert converted.ledger_version == 2
    assert converted.timeline.filter(kind="converted_to_client").exists()


def test_converting_a_client_again_is_refused(staff_client, practice):
    client_ = RelationFactory(practice=practice, client_code="1234")
    response = post(staff_client, "relations-convert-to-client", client_)
    assert "already a client" in response.content.decode()
    client_.refresh_from_db()
    assert client_.client_code == "1234"
    assert client_.version == 1


def test_archived_contact_is_not_converted(staff_client, practice, staff):
    contact = RelationFactory(practice=practice, contact=True)
    services.archive(practice=practice, user=staff, relations=[contact])
    response = post(staff_client, "relations-convert-to-client", contact)
    assert "restore it first" in response.content.decode()
    assert Relation.objects.get(pk=contact.pk).kind == "contact"


def test_company_with_an_active_agreement_stays_a_company(staff_client, practice):
    company = RelationFactory(practice=practice, legal_name="Bakkerij B.V.")
    ServiceAgreementFactory(relation=company, service="payroll")
    response = post(staff_client, "relations-convert-to-private", company)
    page = response.content.decode()
    assert "cannot become a private person" in page
    assert "Payroll" in page
    company.refresh_from_db()
    assert company.entity == "company"
    assert not company.timeline.filter(kind="converted_to_private").exists()


def test_company_with_only_ended_agreements_becomes_private_keeping_company_data(
    staff_client, practice
):
    company = RelationFactory(practice=practice, legal_name="Jansen Advies", kvk_number="12345678")
    ServiceAgreementFactory(
        relation=company,
        start_date=timezone.localdate() - timedelta(days=30),
        end_date=timezone.localdate(),
    )
    # The person's names come from the confirmation step (tests/relations/test_conversions.py).
    staff_client.post(
        reverse("relations-convert-to-private", args=[company.public_id]),
        {"confirmed": "1", "first_name": "Piet", "last_name": "Jansen"},
    )
    company.refresh_from_db()
    assert company.entity == "private"
    assert company.kvk_number == "12345678"  # kept, not silently lost
    assert company.last_name == "Jansen"
    event = company.timeline.get(kind="converted_to_private")
    assert "kvk_number" in event.fields
    assert "legal_name" in event.fields


def test_agreement_activity_by_date(practice):
    today = timezone.localdate()
    relation = RelationFactory(practice=practice)
    future = ServiceAgreementFactory(relation=relation, start_date=today + timedelta(days=1))
    running = ServiceAgreementFactory(relation=relation, start_date=today - timedelta(days=9))
    ending_tomorrow = ServiceAgreementFactory(
        relation=relation, start_date=today - timedelta(days=9), end_date=today + timedelta(days=1)
    )
    ended = ServiceAgreementFactory(
        relation=relation, start_date=today - timedelta(days=9), end_date=today
    )
    active = set(ServiceAgreement.objects.running())
    assert active == {running, ending_tomorrow}
    assert [a.is_running for a in (future, running, ending_tomorrow, ended)] == [
        False,
        True,
        True,
        False,
    ]


def test_private_becomes_company(staff_client, practice):
    person = RelationFactory(practice=practice, private=True, first_name="Piet", last_name="Bakker")
    # The legal name comes from the confirmation step, which proposes the person's name.
    staff_client.post(
        reverse("relations-convert-to-company", args=[person.public_id]),
        {"confirmed": "1", "legal_name": "Piet Bakker"},
    )
    person.refresh_from_db()
    assert person.entity == "company"
    assert person.legal_name == "Piet Bakker"
    assert person.timeline.filter(kind="converted_to_company").exists()


def test_archive_and_restore(staff_client, staff, practice):
    relation = RelationFactory(practice=practice)
    # Confirmed, as its confirm page (or the dialog) posts it.
    staff_client.post(reverse("relations-archive", args=[relation.public_id]), {"confirmed": "1"})
    relation.refresh_from_db()
    assert relation.archived_at is not None
    assert relation.archived_by == staff
    assert relation in Relation.objects.archived()
    post(staff_client, "relations-restore", relation)
    relation.refresh_from_db()
    assert relation.archived_at is None
    kinds = list(relation.timeline.values_list("kind", flat=True))
    assert kinds[:2] == ["restored", "archived"]


def test_archived_relation_cannot_be_edited(staff_client, staff, practice):
    relation = RelationFactory(practice=practice)
    services.archive(practice=practice, user=staff, relations=[relation])
    response = staff_client.get(reverse("relations-edit", args=[relation.public_id]))
    assert response.status_code == 302


@pytest.mark.parametrize(
    "name",
    [
        # relations-archive answers GET with its confirm page: tests/relations/test_agreement_rules.py
        "relations-restore",
        "relations-convert-to-client",
    ],
)
def test_actions_refuse_read_only_and_get(readonly_client, staff_client, practice, name):
    relation = RelationFactory(practice=practice, contact=True)
    assert readonly_client.post(reverse(name, args=[relation.public_id])).status_code == 403
    assert staff_client.get(reverse(name, args=[relation.public_id])).status_code == 405
    relation.refresh_from_db()
    assert relation.version == 1


@pytest.mark.parametrize("name", ["relations-convert-to-private", "relations-convert-to-company"])
def test_conversions_refuse_read_only_and_only_ask_on_get(
    readonly_client, staff_client, practice, name
):
    """The conversions' GET is their confirmation step (tests/relations/test_conversions.py)."""
    relation = RelationFactory(practice=practice, contact=True)
    assert readonly_client.post(reverse(name, args=[relation.public_id])).status_code == 403
    assert readonly_client.get(reverse(name, args=[relation.public_id])).status_code == 403
    staff_client.get(reverse(name, args=[relation.public_id]))
    relation.refresh_from_db()
    assert relation.version == 1


def test_nothing_deletes_a_relation():
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    relation_admin = admin.site._registry[Relation]
    assert relation_admin.has_delete_permission(request) is False
    request.user = type("U", (), {"has_perm": lambda *a: True, "is_active": True})()
    assert "delete_selected" not in relation_admin.get_actions(request)
    from relations import urls

    assert not [p for p in urls.urlpatterns if "delete" in str(p.pattern)]


def test_relation_rows_are_protected_from_cascades(practice):
    from django.db.models import ProtectedError

    RelationFactory(practice=practice)
    with pytest.raises(ProtectedError):
        practice.delete()


def test_code_allocation_under_bulk_never_repeats(practice, staff):
    contacts = [RelationFactory(practice=practice, contact=True) for _ in range(5)]
    RelationFactory(practice=practice, client_code="1002")
    result = services.convert_to_client(practice=practice, user=staff, relations=contacts)
    codes = [r.client_code for r in result.done]
    assert codes == ["1000", "1001", "1003", "1004", "1005"]


def test_a_relation_cannot_be_deleted_through_the_orm(practice):
    from relations.models import RelationsAreNeverDeleted

    relation = RelationFactory(practice=practice)
    with pytest.raises(RelationsAreNeverDeleted):
        relation.delete()
    with pytest.raises(RelationsAreNeverDeleted):
        Relation.objects.filter(pk=relation.pk).delete()
    assert Relation.objects.filter(pk=relation.pk).exists()


def test_postgresql_refuses_a_raw_delete_of_a_relation(practice):
    from django.db import connection, transaction
    from django.db.utils import IntegrityError

    if connection.vendor != "postgresql":
        # SQLite empties tables with DELETE between tests, so the trigger lives on PostgreSQL only;
        # the ORM guard above holds on both.
        assert connection.vendor == "sqlite"
        return
    relation = RelationFactory(practice=practice)
    with (
        pytest.raises(IntegrityError, match="never deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM relations_relation WHERE id = %s", [relation.pk])
    assert Relation.objects.filter(pk=relation.pk).exists()
