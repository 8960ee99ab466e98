"""Destructive actions ask first (issue 11, "Rough edges"): a confirm page without JavaScript, a
dialog with it (static/js/confirm.js, driven by `data-confirm`; the browser half is in
tests/e2e/test_confirmations.py).

The rule, for every such action: a GET or a POST without `confirmed=1` shows what will happen and
changes nothing; the page's own form (with `confirmed=1`) does it. An unconfirmed htmx POST is sent
to that page as a full navigation rather than having a page swapped into a tab.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from portal.models import Invitation
from relations.models import Address, BankAccount, Relation
from tests.factories import AddressFactory, BankAccountFactory, RelationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(staff):
    """In Dutch, the language the office works in: these pages are read, not only their msgids."""
    client = Client(headers={"accept-language": "nl"})
    client.force_login(staff)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


def confirm_form(html: str, action: str) -> str:
    """The confirm page's form posting to `action` (it must carry confirmed=1)."""
    match = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.DOTALL)
    assert match, f"no form posting to {action}"
    return match.group(1)


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice, legal_name="Bakkerij B.V.")


# --- addresses -----------------------------------------------------------------------------------


def test_removing_an_address_asks_first_without_javascript(staff_client, relation):
    address = AddressFactory(relation=relation, street="Keizersgracht", city="Amsterdam")
    url = reverse("relations-address-remove", args=[relation.public_id, address.pk])

    for response in (staff_client.get(url), staff_client.post(url)):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Keizersgracht" in html
        assert 'name="confirmed" value="1"' in confirm_form(html, url)
        assert "Annuleren" in html
    assert Address.objects.filter(pk=address.pk).exists()
    relation.refresh_from_db()
    assert relation.version == 1

    done = staff_client.post(url, {"confirmed": "1"})
    assert done.status_code == 302
    assert not Address.objects.filter(pk=address.pk).exists()


def test_an_unconfirmed_inline_removal_goes_to_the_confirm_page(staff_client, relation):
    address = AddressFactory(relation=relation)
    url = reverse("relations-address-remove", args=[relation.public_id, address.pk])
    response = staff_client.post(url, **HTMX)
    assert response["HX-Redirect"] == url
    assert Address.objects.filter(pk=address.pk).exists()
    confirmed = staff_client.post(url, {"confirmed": "1"}, **HTMX)
    assert confirmed.status_code == 200
    assert 'id="addresses-list"' in confirmed.content.decode()
    assert not Address.objects.filter(pk=address.pk).exists()


def test_the_remove_buttons_carry_the_dialog_question(staff_client, relation):
    AddressFactory(relation=relation, street="Keizersgracht")
    BankAccountFactory(relation=relation)
    for tab in ("addresses", "banks"):
        html = staff_client.get(
            reverse("relations-tab", args=[relation.public_id, tab])
        ).content.decode()
        assert re.search(r'<form[^>]*data-confirm="[^"]+"', html), tab


# --- bank accounts -------------------------------------------------------------------------------


def test_removing_a_bank_account_asks_first_without_javascript(staff_client, relation):
    account = BankAccountFactory(relation=relation, iban="NL91ABNA0417164300")
    url = reverse("relations-bank-remove", args=[relation.public_id, account.pk])
    for response in (staff_client.get(url), staff_client.post(url)):
        html = response.content.decode()
        assert "NL91 ABNA 0417 1643 00" in html
        assert 'name="confirmed" value="1"' in confirm_form(html, url)
    assert BankAccount.objects.filter(pk=account.pk).exists()
    staff_client.post(url, {"confirmed": "1"})
    assert not BankAccount.objects.filter(pk=account.pk).exists()


# --- bulk convert --------------------------------------------------------------------------------


def test_bulk_convert_asks_first_and_says_per_row_what_will_happen(staff_client, practice):
    contact = RelationFactory(practice=practice, contact=True, legal_name="Zzp Jansen")
    client_ = RelationFactory(practice=practice, legal_name="Al Klant B.V.", client_code="1234")
    data = {
        "action": "convert_to_client",
        "ids": [str(contact.public_id), str(client_.public_id)],
        "next": "/relations/?q=jansen",
    }
    response = staff_client.post(reverse("relations-bulk"), data)
    assert response.status_code == 200
    html = response.content.decode()
    form = confirm_form(html, reverse("relations-bulk"))
    assert 'name="confirmed" value="1"' in form
    assert str(contact.public_id) in form
    assert str(client_.public_id) in form
    assert 'name="action" value="convert_to_client"' in form
    assert 'value="/relations/?q=jansen"' in form
    # Row by row, in Dutch.
    assert re.search(r"Zzp Jansen.*?Wordt klant", html, re.DOTALL)
    assert re.search(r"Al Klant B\.V\..*?Overgeslagen: al een klant", html, re.DOTALL)
    assert Relation.objects.get(pk=contact.pk).kind == "contact"

    done = staff_client.post(reverse("relations-bulk"), {**data, "confirmed": "1"})
    assert done.status_code == 302
    assert Relation.objects.get(pk=contact.pk).kind == "client"
    report = staff_client.get(done["Location"]).content.decode()
    assert "Omgezet naar klant" in report
    assert "Overgeslagen: al een klant" in report


def test_the_bulk_convert_button_carries_the_dialog_question(staff_client, practice):
    RelationFactory(practice=practice, contact=True)
    html = staff_client.get(reverse("relations-list")).content.decode()
    assert re.search(r'<button[^>]*value="convert_to_client"[^>]*data-confirm="[^"]+"', html)


# --- connections ---------------------------------------------------------------------------------


def test_ending_a_connection_asks_first_without_javascript(staff_client, practice, relation):
    jan = RelationFactory(
        practice=practice, contact=True, private=True, first_name="Jan", last_name="Vries"
    )
    a, b = sorted([relation, jan], key=lambda r: r.pk)
    connection = Connection.objects.create(
        practice=practice, a=a, b=b, type="director", a_is_subject=a == jan
    )
    url = reverse("connections-end", args=[relation.public_id, connection.pk])
    response = staff_client.post(url, {"end_date": "2026-01-31"})
    assert response.status_code == 200
    form = confirm_form(response.content.decode(), url)
    assert 'name="confirmed" value="1"' in form
    assert 'value="2026-01-31"' in form  # the chosen date is carried to the confirmation
    assert "Jan Vries" in response.content.decode()
    assert staff_client.get(url).status_code == 200
    connection.refresh_from_db()
    assert connection.end_date is None

    staff_client.post(url, {"end_date": "2026-01-31", "confirmed": "1"})
    connection.refresh_from_db()
    assert str(connection.end_date) == "2026-01-31"


def test_the_connection_end_button_carries_the_dialog_question(staff_client, practice, relation):
    jan = RelationFactory(practice=practice, contact=True, private=True)
    a, b = sorted([relation, jan], key=lambda r: r.pk)
    Connection.objects.create(practice=practice, a=a, b=b, type="director", a_is_subject=a == jan)
    html = staff_client.get(
        reverse("relations-tab", args=[relation.public_id, "connections"])
    ).content.decode()
    assert re.search(r'<form[^>]*data-confirm="[^"]+"', html)


# --- portal access -------------------------------------------------------------------------------


def test_revoking_portal_access_asks_first(staff_client, practice, staff):
    from portal import services as portal_services

    contact = RelationFactory(
        practice=practice, contact=True, private=True, first_name="Jan", last_name="Vries"
    )
    portal_services.invite(relation=contact, user=staff, base_url="http://testserver")
    url = reverse("portal-revoke", args=[contact.public_id])
    for response in (staff_client.get(url), staff_client.post(url)):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Jan Vries" in html
        assert 'name="confirmed" value="1"' in confirm_form(html, url)
    assert Invitation.objects.open().exists()
    page = staff_client.get(contact.get_absolute_url()).content.decode()
    assert re.search(rf'<form[^>]*action="{re.escape(url)}"[^>]*data-confirm="[^"]+"', page)

    staff_client.post(url, {"confirmed": "1"})
    assert not Invitation.objects.open().exists()
    assert Relation.objects.get(pk=contact.pk).portal_state == "revoked"


def test_a_read_only_member_gets_no_confirm_page(readonly_client, relation):
    address = AddressFactory(relation=relation)
    url = reverse("relations-address-remove", args=[relation.public_id, address.pk])
    assert readonly_client.get(url).status_code == 403
