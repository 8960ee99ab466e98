"""Issue 12: old data does not block new work. The import checks each debtor with the forms' own
rules (relations.forms validators); what Kring would refuse is kept as imported, reported, and
flagged "needs review" (controleren) on the relation and in a list filter. An edit that leaves such
a field alone saves, with a warning naming it; only a changed value must be valid."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from relations.forms import validate_vat_number
from relations.models import Relation
from sync.importer import run_import
from tests.fakes.twinfield import FakeTwinfield, connect
from tests.forms import as_browser_submits

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _dutch():
    with translation.override("nl"):
        yield


def _legacy(vat: str) -> bool:
    try:
        validate_vat_number(vat)
    except Exception:
        return True
    return False


@pytest.fixture
def imported(practice, owner):
    with FakeTwinfield() as fake:
        fake.seed_customers(20)  # btw-ids of the old style: most fail the check digit
        fake.customers["1003"]["addresses"][2]["postcode"] = ""  # a visiting address without one
        connect(practice, fake)
        run = run_import(practice=practice, user=owner)
        yield run, fake


def test_debtors_the_forms_would_refuse_are_imported_flagged_and_reported(practice, imported):
    run, fake = imported
    legacy = {
        code for code, record in fake.customers.items() if _legacy(record["addresses"][0]["field4"])
    }
    assert legacy  # the seeded data really is old-style
    flagged = set(
        Relation.objects.filter(practice=practice, needs_review=True).values_list(
            "client_code", flat=True
        )
    )
    assert flagged == legacy | {"1003"}
    assert run.created == 20
    assert {e["code"] for e in run.report if e.get("review")} == flagged
    relation = Relation.objects.get(practice=practice, client_code=sorted(legacy)[0])
    assert relation.vat_number == fake.customers[relation.client_code]["addresses"][0]["field4"]
    assert relation.review_notes[0]["field"] == "vat_number"
    assert "Dit is geen geldig btw-nummer" in relation.review_notes[0]["message"]
    no_postcode = Relation.objects.get(practice=practice, client_code="1003")
    assert any(n["field"] == "addresses" for n in no_postcode.review_notes)


def test_a_second_import_changes_nothing_and_keeps_the_flags(practice, owner, imported):
    _run, _fake = imported
    flagged = Relation.objects.filter(practice=practice, needs_review=True).count()
    again = run_import(practice=practice, user=owner)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 20)
    assert Relation.objects.filter(practice=practice, needs_review=True).count() == flagged


def test_the_command_reports_the_debtors_to_review(practice, owner, imported, capsys):
    call_command("ledger_import", practice.slug)
    out = capsys.readouterr().out
    assert "20 ongewijzigd" in out or "ongewijzigd" in out


def test_the_list_filters_on_needs_review_and_shows_the_badge(practice, imported, staff_client):
    page = staff_client.get(
        reverse("relations-list"), {"review": "needed", "per_page": 100}, HTTP_ACCEPT_LANGUAGE="nl"
    )
    html = page.content.decode()
    flagged = Relation.objects.filter(practice=practice, needs_review=True)
    unflagged = Relation.objects.filter(practice=practice, needs_review=False)
    assert all(r.display_name in html for r in flagged)
    assert not any(r.display_name in html for r in unflagged)
    assert 'class="badge review"' in html
    assert "Controleren" in html


def _edit_data(staff_client, relation, **changes):
    form = staff_client.get(reverse("relations-edit", args=[relation.public_id])).context["form"]
    data = as_browser_submits(form)
    data.update(changes)
    return data


def test_renaming_a_client_with_a_legacy_btw_id_saves_with_a_warning(
    practice, imported, staff_client
):
    relation = Relation.objects.filter(
        practice=practice, needs_review=True, review_notes__0__field="vat_number"
    ).first()
    url = reverse("relations-edit", args=[relation.public_id])

    response = staff_client.post(url, _edit_data(staff_client, relation, legal_name="Nieuw B.V."))

    assert response.status_code == 302
    relation.refresh_from_db()
    assert relation.legal_name == "Nieuw B.V."
    assert _legacy(relation.vat_number)  # kept as it was
    assert relation.needs_review
    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    [warning] = warnings  # names the field, in the page's language
    assert "VAT number" in warning or "Btw-nummer" in warning


def test_a_changed_value_must_be_valid_and_a_fixed_one_clears_the_flag(
    practice, imported, staff_client
):
    relation = Relation.objects.filter(
        practice=practice, needs_review=True, review_notes__0__field="vat_number"
    ).first()
    url = reverse("relations-edit", args=[relation.public_id])

    refused = staff_client.post(url, _edit_data(staff_client, relation, vat_number="NL12"))
    assert refused.status_code == 200
    assert "NL123456789B01" in refused.content.decode()  # the form's own error, next to the field

    fixed = staff_client.post(url, _edit_data(staff_client, relation, vat_number="NL004495445B01"))
    assert fixed.status_code == 302
    relation.refresh_from_db()
    assert relation.vat_number == "NL004495445B01"
    assert not any(n["field"] == "vat_number" for n in relation.review_notes)
