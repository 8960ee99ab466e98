"""Issue 12: Kring writes only what it owns. Every update is a read-modify-write of the complete
Twinfield record (TWINFIELD.md §2.1, sync/TWINFIELD_NOTES.md): fields Kring does not keep survive a
push, and a remote change to a field Kring owns is a conflict, never an overwrite."""

from __future__ import annotations

import pytest

from relations import services as relations_services
from relations.models import Relation
from sync import drain, services
from sync.importer import run_import
from sync.models import SyncState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_check_per_drain(monkeypatch):
    monkeypatch.setattr(drain, "CHANGE_CHECK_SECONDS", 3600)


def _import(practice, owner, fake, n=3) -> list[Relation]:
    fake.seed_customers(n)
    run = run_import(practice=practice, user=owner)
    assert run.created == n
    return list(Relation.objects.filter(practice=practice).order_by("client_code"))


def _rename(relation, user, name):
    relation.refresh_from_db()
    relation.legal_name = name
    relations_services.update_relation(
        relation=relation, user=user, version=relation.version, changed=["legal_name"]
    )


def _address(fake, code, address_id):
    return next(a for a in fake.customers[code]["addresses"] if a["id"] == address_id)


def _status(relation):
    return SyncState.objects.get(relation=relation).status


def test_a_telephone_and_an_email_added_in_twinfield_survive_a_kring_push(
    practice, owner, staff, twinfield_connection, fake_twinfield
):
    client, *_ = _import(practice, owner, fake_twinfield)
    code = client.client_code
    fake_twinfield.advance(1)  # a second after what Kring saw, or the feed takes it for Kring's
    fake_twinfield.change_address(code, 1, telephone="030-1234567", field1="T.a.v. J. Jansen")
    fake_twinfield.change_address(code, 2, email="post@klant.example", telefax="030-7654321")

    _rename(client, staff, "Hernoemd in Kring B.V.")
    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts, report.failed) == (1, 0, 0)
    record = fake_twinfield.customers[code]
    assert record["name"] == "Hernoemd in Kring B.V."
    invoice, postal = _address(fake_twinfield, code, 1), _address(fake_twinfield, code, 2)
    assert (invoice["telephone"], invoice["field1"]) == ("030-1234567", "T.a.v. J. Jansen")
    assert (postal["email"], postal["telefax"]) == ("post@klant.example", "030-7654321")
    assert _status(client) == SyncState.Status.SYNCED


def test_fields_kring_does_not_own_survive_a_push_without_a_read(
    practice, owner, staff, twinfield_connection, fake_twinfield
):
    """The change feed vouches for the record Kring last saw: the write is built on that complete
    record, so even without reading the debtor again its other fields go back as they are."""
    fake_twinfield.seed_customers(2)
    code = "1000"
    fake_twinfield.customers[code]["addresses"][2]["telephone"] = "06-12345678"
    fake_twinfield.customers[code]["addresses"][1]["email"] = "post@klant.example"
    fake_twinfield.customers[code]["banks"][0]["natbiccode"] = "ABNA"
    fake_twinfield.customers[code]["shortname"] = "KLANT1000"
    run_import(practice=practice, user=owner)
    client = Relation.objects.get(practice=practice, client_code=code)
    reads = fake_twinfield.requests["read"] + fake_twinfield.requests["reads"]

    _rename(client, staff, "Zonder Lezen B.V.")
    assert drain.push_practice(practice).pushed == 1

    assert fake_twinfield.requests["read"] + fake_twinfield.requests["reads"] == reads
    record = fake_twinfield.customers[code]
    assert record["name"] == "Zonder Lezen B.V."
    assert record["shortname"] == "KLANT1000"
    assert _address(fake_twinfield, code, 3)["telephone"] == "06-12345678"
    assert _address(fake_twinfield, code, 2)["email"] == "post@klant.example"
    assert record["banks"][0]["natbiccode"] == "ABNA"
    assert [a["id"] for a in record["addresses"]] == [1, 2, 3]  # ids kept, nothing added


def test_a_name_changed_on_both_sides_is_a_conflict(
    practice, owner, staff, twinfield_connection, fake_twinfield
):
    client, *_ = _import(practice, owner, fake_twinfield)
    fake_twinfield.advance(1)
    fake_twinfield.change(client.client_code, name="Veranderd in Twinfield B.V.")

    _rename(client, staff, "Veranderd in Kring B.V.")
    report = drain.push_practice(practice)

    assert (report.pushed, report.conflicts) == (0, 1)
    assert _status(client) == SyncState.Status.CONFLICT
    assert fake_twinfield.customers[client.client_code]["name"] == "Veranderd in Twinfield B.V."


def test_a_twinfield_change_to_a_field_kring_owns_is_a_conflict_not_an_overwrite(
    practice, owner, staff, twinfield_connection, fake_twinfield
):
    """Kring did not touch the address; a bookkeeper moved it in Twinfield. Kring's push (another
    field) must not put the old street back."""
    client, *_ = _import(practice, owner, fake_twinfield)
    code = client.client_code
    fake_twinfield.advance(1)
    fake_twinfield.change_address(code, 1, field2="Nieuwe Gracht 1", postcode="3512 AA")

    _rename(client, staff, "Alleen De Naam B.V.")
    report = drain.push_practice(practice)

    assert report.conflicts == 1
    assert _status(client) == SyncState.Status.CONFLICT
    assert _address(fake_twinfield, code, 1)["field2"] == "Nieuwe Gracht 1"
    assert fake_twinfield.customers[code]["name"] != "Alleen De Naam B.V."


def test_keep_krings_after_a_conflict_still_keeps_twinfields_other_fields(
    practice, owner, staff, twinfield_connection, fake_twinfield
):
    client, *_ = _import(practice, owner, fake_twinfield)
    code = client.client_code
    fake_twinfield.advance(1)
    fake_twinfield.change_address(code, 1, telephone="030-1111111")
    fake_twinfield.change(code, name="Twinfield Naam B.V.")
    _rename(client, staff, "Kring Naam B.V.")
    assert drain.push_practice(practice).conflicts == 1

    services.keep_kring(relation=Relation.objects.get(pk=client.pk), user=staff)
    assert drain.push_practice(practice).pushed == 1

    assert fake_twinfield.customers[code]["name"] == "Kring Naam B.V."
    assert _address(fake_twinfield, code, 1)["telephone"] == "030-1111111"
