"""The Bank accounts tab: add, edit and remove inline (htmx) and as plain pages (no JavaScript)."""

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from practice.models import Membership
from relations.models import BankAccount, Relation, TimelineEvent
from relations.views.parts import tab_context
from tests.factories import BankAccountFactory, RelationFactory

pytestmark = pytest.mark.django_db

CONFIRMED = {"confirmed": "1"}  # the answer on the confirm page (practice/confirm.py)

HTMX = {"HTTP_HX_REQUEST": "true"}
VALID = {
    "iban": "nl91 abna 0417 1643 00",
    "bic": "",
    "holder": "Bakkerij Brood B.V.",
    "is_default": "on",
}
OTHER_IBAN = "NL02RABO0123456789"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice)


def new_url(relation):
    return reverse("relations-bank-new", args=[relation.public_id])


def edit_url(relation, account):
    return reverse("relations-bank-edit", args=[relation.public_id, account.pk])


def remove_url(relation, account):
    return reverse("relations-bank-remove", args=[relation.public_id, account.pk])


def tab_url(relation):
    return reverse("relations-tab", args=[relation.public_id, "banks"])


def ledger_version(relation):
    return Relation.objects.values_list("ledger_version", flat=True).get(pk=relation.pk)


def assert_nothing_written(relation):
    assert not BankAccount.objects.exists()
    assert not TimelineEvent.objects.exists()
    assert ledger_version(relation) == 1


# --- adding ------------------------------------------------------------------------------------


def test_it_adds_an_account_with_bic_and_bank_from_the_iban(staff_client, staff, relation):
    response = staff_client.post(new_url(relation), VALID)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    account = relation.bank_accounts.get()
    assert account.iban == "NL91ABNA0417164300"
    assert account.bic == "ABNANL2A"
    assert account.bank_name == "ABN AMRO BANK N.V."
    assert account.holder == "Bakkerij Brood B.V."
    assert account.is_default
    event = relation.timeline.get()
    assert (event.kind, event.actor) == (TimelineEvent.Kind.BANK_ADDED, staff)
    assert ledger_version(relation) == 2
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Bank account added."]


def test_an_entered_bic_is_kept(staff_client, relation):
    staff_client.post(new_url(relation), {**VALID, "bic": "abnanl2axxx"})

    assert relation.bank_accounts.get().bic == "ABNANL2AXXX"


def test_a_new_default_account_takes_over(owner_client, relation):
    old = BankAccountFactory(relation=relation, iban=OTHER_IBAN, is_default=True)

    owner_client.post(new_url(relation), VALID)

    old.refresh_from_db()
    assert not old.is_default
    assert relation.bank_accounts.get(iban="NL91ABNA0417164300").is_default


def test_the_first_account_is_the_default_even_unticked(owner_client, relation):
    owner_client.post(new_url(relation), {**VALID, "is_default": ""})

    assert relation.bank_accounts.get().is_default


def test_a_second_account_not_ticked_leaves_the_default(owner_client, relation):
    old = BankAccountFactory(relation=relation, iban=OTHER_IBAN, is_default=True)

    owner_client.post(new_url(relation), {**VALID, "is_default": ""})

    old.refresh_from_db()
    assert old.is_default
    assert not relation.bank_accounts.get(iban="NL91ABNA0417164300").is_default


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("iban", {**VALID, "iban": "NL91ABNA0417164301"}),  # check digits do not match
        ("iban", {**VALID, "iban": ""}),
        ("bic", {**VALID, "bic": "ABN"}),
        ("holder", {**VALID, "holder": "H" * 41}),  # the ledger's limit is 40
    ],
)
def test_invalid_input_is_a_field_error_and_nothing_is_written(staff_client, relation, field, data):
    response = staff_client.post(new_url(relation), data)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert f'id="id_{field}_error"' in response.content.decode()
    assert_nothing_written(relation)


def test_a_holder_of_exactly_40_characters_is_accepted(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "holder": "H" * 40})

    assert response.status_code == 302
    assert relation.bank_accounts.get().holder == "H" * 40


def test_the_same_iban_twice_on_one_relation_is_a_field_error(staff_client, relation):
    BankAccountFactory(relation=relation, iban="NL91ABNA0417164300")

    response = staff_client.post(new_url(relation), VALID)

    assert response.status_code == 200
    assert "This relation already has this IBAN." in response.content.decode()
    assert relation.bank_accounts.count() == 1
    assert not TimelineEvent.objects.exists()


def test_the_same_iban_on_another_relation_is_flagged_and_can_be_confirmed(
    staff_client, practice, relation
):
    other = RelationFactory(practice=practice)
    BankAccountFactory(relation=other, iban="NL91ABNA0417164300")

    flagged = staff_client.post(new_url(relation), VALID)
    assert flagged.status_code == 200
    assert "may be a duplicate" in flagged.content.decode()
    assert other.get_absolute_url() in flagged.content.decode()
    assert not relation.bank_accounts.exists()
    confirmed = staff_client.post(new_url(relation), {**VALID, "confirm_duplicates": "on"})
    assert confirmed.status_code == 302
    assert relation.bank_accounts.get().iban == "NL91ABNA0417164300"


def test_the_same_iban_in_another_practice_is_not_flagged(staff_client, other_practice, relation):
    BankAccountFactory(relation=RelationFactory(practice=other_practice), iban="NL91ABNA0417164300")
    assert staff_client.post(new_url(relation), VALID).status_code == 302
    assert relation.bank_accounts.count() == 1


def test_htmx_invalid_iban_returns_the_form_fragment(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "iban": "NL00XXXX"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "This is not a valid IBAN." in page
    assert f'hx-post="{new_url(relation)}"' in page
    assert_nothing_written(relation)


# --- editing -----------------------------------------------------------------------------------


def test_it_edits_an_account_and_names_the_changed_fields(staff_client, relation):
    account = BankAccountFactory(relation=relation, holder="Oud")

    response = staff_client.post(
        edit_url(relation, account),
        {"iban": account.iban, "bic": account.bic, "holder": "Nieuw", "is_default": "on"},
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.holder == "Nieuw"
    event = relation.timeline.get()
    assert (event.kind, event.fields) == (TimelineEvent.Kind.BANK_CHANGED, ["holder"])
    assert ledger_version(relation) == 2


def test_editing_keeps_its_own_iban(staff_client, relation):
    """The duplicate check must not trip over the account being edited."""
    account = BankAccountFactory(relation=relation)

    response = staff_client.post(
        edit_url(relation, account), {"iban": account.iban, "holder": "X", "is_default": "on"}
    )

    assert response.status_code == 302


def test_edit_form_fragment_for_htmx(staff_client, relation):
    account = BankAccountFactory(relation=relation, holder="Bakker")

    response = staff_client.get(edit_url(relation, account), **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert 'value="Bakker"' in page
    for name in ("iban", "bic", "holder", "is_default"):
        assert f'for="id_{name}"' in page


def test_edit_form_without_javascript_is_a_full_page(staff_client, relation):
    account = BankAccountFactory(relation=relation)

    page = staff_client.get(edit_url(relation, account)).content.decode()

    assert "<html" in page
    assert f'action="{edit_url(relation, account)}"' in page
    assert f'href="{tab_url(relation)}"' in page


def test_htmx_post_returns_the_list_with_the_iban_in_groups(staff_client, relation):
    response = staff_client.post(new_url(relation), VALID, **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert "NL91 ABNA 0417 1643 00" in page
    assert response["HX-Retarget"] == "#banks-list"


# --- removing ----------------------------------------------------------------------------------


def test_it_removes_an_account_and_promotes_the_next(staff_client, staff, relation):
    default = BankAccountFactory(relation=relation, is_default=True)
    other = BankAccountFactory(relation=relation, iban=OTHER_IBAN, is_default=False)

    response = staff_client.post(remove_url(relation, default), CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    assert list(relation.bank_accounts.all()) == [other]
    other.refresh_from_db()
    assert other.is_default
    event = relation.timeline.get()
    assert (event.kind, event.actor) == (TimelineEvent.Kind.BANK_REMOVED, staff)
    assert ledger_version(relation) == 2


def test_htmx_remove_returns_the_list_fragment(staff_client, relation):
    account = BankAccountFactory(relation=relation)

    response = staff_client.post(remove_url(relation, account), CONFIRMED, **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert "No bank accounts yet." in page
    assert not BankAccount.objects.exists()


# --- who may do what ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, relation):
    account = BankAccountFactory(relation=relation)
    login = reverse("login")

    assert client.get(new_url(relation))["Location"].startswith(login)
    assert client.post(new_url(relation), VALID)["Location"].startswith(login)
    assert client.post(edit_url(relation, account), VALID)["Location"].startswith(login)
    assert client.post(remove_url(relation, account))["Location"].startswith(login)
    assert relation.bank_accounts.count() == 1


def test_outsider_gets_404(outsider_client, relation):
    account = BankAccountFactory(relation=relation)

    assert outsider_client.get(new_url(relation)).status_code == 404
    assert outsider_client.post(new_url(relation), VALID).status_code == 404
    assert outsider_client.get(edit_url(relation, account)).status_code == 404
    assert outsider_client.post(remove_url(relation, account)).status_code == 404
    assert relation.bank_accounts.count() == 1


def test_another_relations_account_is_404_under_your_own_relation(staff_client, practice, relation):
    foreign = BankAccountFactory(relation=RelationFactory(practice=practice), holder="Ander")

    assert staff_client.get(edit_url(relation, foreign)).status_code == 404
    assert staff_client.post(edit_url(relation, foreign), VALID).status_code == 404
    assert staff_client.post(remove_url(relation, foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.holder == "Ander"


def test_outsider_cannot_reach_an_account_through_their_own_relation(
    outsider_client, other_practice, relation
):
    own = RelationFactory(practice=other_practice)
    theirs = BankAccountFactory(relation=relation)

    assert outsider_client.post(remove_url(own, theirs)).status_code == 404
    assert BankAccount.objects.filter(pk=theirs.pk).exists()


def test_read_only_member_gets_403(readonly_client, relation):
    account = BankAccountFactory(relation=relation)

    assert readonly_client.get(new_url(relation)).status_code == 403
    assert readonly_client.post(new_url(relation), VALID).status_code == 403
    assert readonly_client.get(edit_url(relation, account), **HTMX).status_code == 403
    assert readonly_client.post(remove_url(relation, account)).status_code == 403
    assert relation.bank_accounts.count() == 1
    assert not TimelineEvent.objects.exists()


def test_wrong_method_is_405(staff_client, relation):
    account = BankAccountFactory(relation=relation)

    assert staff_client.put(new_url(relation)).status_code == 405
    assert staff_client.patch(edit_url(relation, account)).status_code == 405
    assert staff_client.put(remove_url(relation, account)).status_code == 405
    # GET is the confirm page (practice/confirm.py) and changes nothing.
    assert staff_client.get(remove_url(relation, account)).status_code == 200


def test_archived_relation_refuses_changes(staff_client, practice):
    archived = RelationFactory(practice=practice, archived_at=timezone.now())
    account = BankAccountFactory(relation=archived, holder="Oud")

    response = staff_client.post(new_url(archived), {**VALID, "iban": OTHER_IBAN})
    assert response.status_code == 302
    assert response["Location"] == tab_url(archived)
    staff_client.post(edit_url(archived, account), {**VALID, "holder": "Nieuw"})
    htmx = staff_client.post(remove_url(archived, account), **HTMX)
    assert htmx["HX-Redirect"] == tab_url(archived)

    account.refresh_from_db()
    assert account.holder == "Oud"
    assert archived.bank_accounts.count() == 1
    assert not TimelineEvent.objects.exists()
    assert ledger_version(archived) == 1


# --- the tab itself ----------------------------------------------------------------------------


def test_iban_is_shown_in_groups_of_four():
    assert BankAccount(iban="NL91ABNA0417164300").formatted_iban == "NL91 ABNA 0417 1643 00"


@pytest.mark.parametrize(("user_fixture", "controls"), [("staff", True), ("readonly", False)])
def test_tab_renders_accounts_and_controls_only_for_changers(
    request, relation, user_fixture, controls
):
    user = request.getfixturevalue(user_fixture)
    account = BankAccountFactory(relation=relation, holder="Bakker")
    http = RequestFactory().get(tab_url(relation))
    http.user, http.membership = user, Membership.objects.get(user=user)

    context = {"relation": relation, **tab_context(http, relation, "banks")}
    page = render_to_string("relations/tabs/banks.html", context, request=http)

    assert "NL91 ABNA 0417 1643 00" in page
    assert "ABNANL2A" in page
    assert "Bakker" in page
    assert (edit_url(relation, account) in page) is controls
    assert (new_url(relation) in page) is controls
