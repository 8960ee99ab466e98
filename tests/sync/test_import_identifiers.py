"""Issue 13: the import checks identifiers and bank details with the forms' own rules and words
(relations.identifiers), and writes the one-default rule as the tabs do (relations.intake)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from relations import identifiers
from relations.forms import BankAccountForm, RelationForm
from relations.models import Address, BankAccount, Relation
from sync.adapters.base import LedgerAddress, LedgerBank
from sync.importer import run_import
from tests.factories import RelationFactory
from tests.sync.test_import import debtor, entry, iban, seed

pytestmark = pytest.mark.django_db

BAD_CHECKSUM_VAT = "NL123456789B02"  # the right shape, the wrong check digits


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _message(validate, value: str) -> str:
    with pytest.raises(ValidationError) as exc:
        validate(value)
    return " ".join(exc.value.messages)


def _form_error(practice, **values) -> dict[str, list[str]]:
    relation = RelationFactory.create(practice=practice)
    data = {
        "legal_name": relation.legal_name,
        "client_code": relation.client_code,
        "email": relation.email,
        "language": "nl",
        "version": relation.version,
        **values,
    }
    form = RelationForm(data, instance=relation, kind=relation.kind, entity=relation.entity)
    assert not form.is_valid()
    return {name: [str(error) for error in errors] for name, errors in form.errors.items()}


def test_a_btw_id_with_a_bad_checksum_is_refused_by_form_and_import_alike(practice, owner):
    problem = _message(identifiers.validate_vat_number, BAD_CHECKSUM_VAT)
    assert _form_error(practice, vat_number=BAD_CHECKSUM_VAT)["vat_number"] == [problem]

    seed(practice, [debtor(2, vat_number=BAD_CHECKSUM_VAT)])
    run = run_import(practice=practice, user=owner)

    relation = Relation.objects.get(client_code="1002")
    # Kept as imported and flagged for review, in the form's own words.
    assert relation.vat_number == BAD_CHECKSUM_VAT
    assert relation.needs_review
    assert relation.review_notes == [
        {"field": "vat_number", "message": f"VAT number {BAD_CHECKSUM_VAT}: {problem}"}
    ]
    assert any(problem in message for message in entry(run, "1002")["messages"])


def test_a_bad_kvk_number_is_left_out_with_the_forms_message(practice, owner):
    problem = _message(identifiers.validate_kvk_number, "1234567")
    assert _form_error(practice, kvk_number="1234567")["kvk_number"] == [problem]

    seed(practice, [debtor(2, kvk_number="1234567")])
    run = run_import(practice=practice, user=owner)

    assert Relation.objects.get(client_code="1002").kvk_number == ""
    assert entry(run, "1002")["messages"] == [f"KvK number 1234567: {problem} It was left out."]


def test_a_kvk_number_typed_with_separators_is_taken_as_the_form_takes_it(practice, owner):
    seed(practice, [debtor(2, kvk_number="1234 5678")])
    run_import(practice=practice, user=owner)
    assert Relation.objects.get(client_code="1002").kvk_number == "12345678"


def test_a_bad_bic_is_left_out_with_the_forms_message(practice, owner):
    relation = RelationFactory(practice=practice)
    form = BankAccountForm({"iban": iban(7), "bic": "NOTABIC!", "holder": ""}, relation=relation)
    assert not form.is_valid()
    problem = _message(identifiers.validate_bic, "NOTABIC!")
    assert form.errors["bic"] == [problem]

    banks = (LedgerBank(iban=iban(2), bic="NOTABIC!", default=True),)
    seed(practice, [debtor(2, banks=banks)])
    run = run_import(practice=practice, user=owner)

    account = BankAccount.objects.get(relation__client_code="1002")
    assert (account.iban, account.bic) == (iban(2).replace(" ", ""), "")
    assert entry(run, "1002")["messages"] == [f"BIC NOTABIC!: {problem} It was left out."]


def test_the_import_keeps_one_default_per_type(practice, owner):
    addresses = (
        LedgerAddress(type="visiting", line="Weg 1", postcode="1015 CJ", city="A", default=True),
        LedgerAddress(type="visiting", line="Weg 2", postcode="1015 CJ", city="B", default=True),
        LedgerAddress(type="postal", line="Postbus 1", postcode="1000 AA", city="C", default=True),
    )
    banks = (
        LedgerBank(iban=iban(1), default=True),
        LedgerBank(iban=iban(2), default=True),
        LedgerBank(iban=iban(1), default=True),  # the same account twice
    )
    seed(practice, [debtor(2, addresses=addresses, banks=banks)])
    run_import(practice=practice, user=owner)

    defaults = Address.objects.filter(relation__client_code="1002", is_default=True)
    assert sorted(defaults.values_list("type", "city")) == [("postal", "C"), ("visiting", "A")]
    accounts = BankAccount.objects.filter(relation__client_code="1002").order_by("pk")
    assert [(a.iban, a.is_default) for a in accounts] == [
        (iban(1).replace(" ", ""), True),
        (iban(2).replace(" ", ""), False),
    ]
