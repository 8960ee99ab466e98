"""The Tools tab: the VIES answer for the VAT number (checked in a task, stored with its date),
the bank behind each IBAN, a vCard of a private person."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lookups.models import LookupResult
from relations.models import Relation
from tests.factories import AddressFactory, BankAccountFactory, RelationFactory

pytestmark = pytest.mark.django_db


def tab(relation):
    return reverse("relations-tab", args=[relation.public_id, "tools"])


def check_url(relation):
    return reverse("lookups-vat-check", args=[relation.public_id])


@pytest.fixture
def company(practice):
    return RelationFactory(
        practice=practice, entity=Relation.Entity.COMPANY, vat_number="NL123456789B01"
    )


def test_tab_is_listed_between_ledger_and_timeline(staff_client, company):
    page = staff_client.get(tab(company)).content.decode()
    assert 'href="' + tab(company) + '"' in page
    timeline = reverse("relations-tab", args=[company.public_id, "timeline"])
    assert page.index(tab(company)) < page.index(timeline)


def test_without_a_provider_no_check_button(staff_client, company):
    page = staff_client.get(tab(company)).content.decode()
    assert "NL123456789B01" in page
    assert check_url(company) not in page
    response = staff_client.post(check_url(company))
    assert response.status_code == 302
    assert not LookupResult.objects.exists()


def test_vat_check_runs_as_a_task_and_is_shown_with_its_date(
    staff_client, company, lookups_on, vies
):
    assert check_url(company) in staff_client.get(tab(company)).content.decode()
    response = staff_client.post(check_url(company), follow=True)
    page = response.content.decode()
    assert "Valid at VIES" in page
    assert "VOORBEELD B.V." in page
    result = LookupResult.objects.get(kind="vat")
    assert result.key == "NL123456789B01"
    assert result.status == "found"
    assert result.data["requested_at"]
    assert vies.requests[vies.seen[0][1]] == 1


def test_unknown_vat_number_is_not_valid(staff_client, practice, lookups_on):
    company = RelationFactory(practice=practice, entity="company", vat_number="NL999999999B01")
    page = staff_client.post(check_url(company), follow=True).content.decode()
    assert "Not valid at VIES" in page


@pytest.mark.parametrize("trouble", ["429", "503", "MS_UNAVAILABLE"])
def test_vies_down_is_not_available_and_the_page_still_shows(
    staff_client, company, lookups_on, vies, trouble
):
    if trouble.isdigit():
        vies.fail_next(status=int(trouble))
    else:
        vies.unavailable_next(trouble)
    response = staff_client.post(check_url(company), follow=True)
    assert response.status_code == 200
    assert "VIES not available" in response.content.decode()
    assert LookupResult.objects.get(kind="vat").status == "unavailable"
    # Checked again once it answers.
    page = staff_client.post(check_url(company), follow=True).content.decode()
    assert "Valid at VIES" in page


def test_slow_vies_does_not_block_the_tab(staff_client, company, lookups_on, vies):
    # The tab itself never asks VIES: it shows what was stored, even while VIES hangs.
    release = vies.hold_next()
    try:
        assert staff_client.get(tab(company)).status_code == 200
        assert not vies.seen
    finally:
        release.set()


def test_read_only_member_sees_but_cannot_check(readonly_client, company, lookups_on):
    assert check_url(company) not in readonly_client.get(tab(company)).content.decode()
    assert readonly_client.post(check_url(company)).status_code == 403


def test_bank_behind_each_iban(staff_client, company):
    BankAccountFactory(relation=company, iban="NL91ABNA0417164300")
    page = staff_client.get(tab(company)).content.decode()
    assert "ABN AMRO BANK N.V." in page
    assert "ABNANL2A" in page


def test_vcard_of_a_private_person(staff_client, practice):
    person = RelationFactory(
        practice=practice,
        entity=Relation.Entity.PRIVATE,
        first_name="Jan",
        name_prefix="van der",
        last_name="Berg; Zn",
        email="jan@example.nl",
        mobile="+31612345678",
    )
    AddressFactory(relation=person, street="Dorpsstraat", house_number="1", city="Epe, Gld")
    url = reverse("lookups-vcard", args=[person.public_id])
    assert url in staff_client.get(tab(person)).content.decode()
    response = staff_client.get(url)
    assert response["Content-Type"].startswith("text/vcard")
    assert "attachment" in response["Content-Disposition"]
    card = response.content.decode()
    assert card.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n")
    assert "N:van der Berg\\; Zn;Jan;;;\r\n" in card
    assert "EMAIL;TYPE=INTERNET:jan@example.nl" in card
    assert "TEL;TYPE=CELL:+31612345678" in card
    assert "Epe\\, Gld" in card
    assert card.endswith("END:VCARD\r\n")
    assert all(len(line.encode()) <= 75 for line in card.split("\r\n"))


def test_no_vcard_for_a_company(staff_client, company):
    url = reverse("lookups-vcard", args=[company.public_id])
    assert url not in staff_client.get(tab(company)).content.decode()
    assert staff_client.get(url).status_code == 302
