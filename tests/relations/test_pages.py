"""New, detail, edit: the relation's own pages, their rules and refusals."""

import pytest
from django.urls import reverse

from relations.models import Relation, TimelineEvent
from tests.factories import RelationFactory
from tests.forms import as_browser_submits

pytestmark = pytest.mark.django_db

VALID_BSN = "111222333"
VALID_VAT = "NL000099998B57"


def company_post(**overrides):
    data = {
        "kind": "client",
        "entity": "company",
        "legal_name": "Bakkerij De Gouden Korst B.V.",
        "legal_form": "bv",
        "kvk_number": "12345678",
        "vat_number": VALID_VAT,
        "email": "info@goudenkorst.nl",
        "language": "nl",
    }
    data.update(overrides)
    return data


def private_contact_post(**overrides):
    data = {
        "kind": "contact",
        "entity": "private",
        "first_name": "Jan",
        "name_prefix": "de",
        "last_name": "Vries",
        "email": "jan@devries.nl",
        "language": "nl",
    }
    data.update(overrides)
    return data


@pytest.fixture
def client_company(practice, staff):
    return RelationFactory(practice=practice, legal_name="Bakkerij B.V.", client_code="1000")


# --- new -------------------------------------------------------------------------------------


def test_new_asks_for_the_kind_first(staff_client):
    page = staff_client.get(reverse("relations-new")).content.decode()
    assert 'value="client:company"' in page
    assert 'value="contact:private"' in page


def test_company_form_shows_company_fields_and_private_form_does_not(staff_client):
    company = staff_client.get(reverse("relations-new"), {"choice": "client:company"})
    assert 'name="kvk_number"' in company.content.decode()
    assert 'name="bsn"' not in company.content.decode()
    private = staff_client.get(reverse("relations-new"), {"kind": "contact", "entity": "private"})
    assert 'name="bsn"' in private.content.decode()
    assert 'name="kvk_number"' not in private.content.decode()
    assert 'name="client_code"' not in private.content.decode()


def test_it_creates_a_client_company_with_the_next_code(staff_client, staff, practice):
    response = staff_client.post(reverse("relations-new"), company_post())
    relation = Relation.objects.get(practice=practice)
    assert response.status_code == 302
    assert response["Location"] == relation.get_absolute_url()
    assert relation.kind == "client"
    assert relation.client_code == "1000"
    assert relation.display_name == "Bakkerij De Gouden Korst B.V."
    assert relation.vat_number == VALID_VAT
    assert relation.created_by == staff
    assert set(relation.timeline.values_list("kind", flat=True)) == {"created", "team_added"}
    assert relation.team.get().user == staff
    assert relation.team.get().role == "manager"
    practice.refresh_from_db()
    assert practice.client_code_next == 1001


def test_code_assignment_skips_codes_in_use(staff_client, practice):
    RelationFactory(practice=practice, client_code="1000")
    RelationFactory(practice=practice, client_code="1001")
    staff_client.post(reverse("relations-new"), company_post())
    assert Relation.objects.filter(practice=practice, client_code="1002").exists()


def test_leading_zeros_make_a_different_code(staff_client, practice):
    RelationFactory(practice=practice, client_code="0042")
    response = staff_client.post(reverse("relations-new"), company_post(client_code="42"))
    assert response.status_code == 302
    assert set(Relation.objects.values_list("client_code", flat=True)) == {"0042", "42"}


def test_a_duplicate_client_code_is_a_field_error(staff_client, practice):
    RelationFactory(practice=practice, client_code="2000", kvk_number="")
    response = staff_client.post(reverse("relations-new"), company_post(client_code="2000"))
    assert response.status_code == 200
    assert "2000 is in use" in response.content.decode()
    assert Relation.objects.count() == 1


def test_the_same_code_in_another_practice_is_fine(staff_client, other_practice):
    RelationFactory(practice=other_practice, client_code="1000")
    assert staff_client.post(reverse("relations-new"), company_post()).status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kvk_number", "1234567", "exactly 8 digits"),
        ("vat_number", "NL123456789B99", "not a valid VAT number"),
        ("rsin", "123456789", "not a valid RSIN"),
        ("establishment_number", "12345", "exactly 12 digits"),
        ("legal_name", "", "needs a legal name"),
        ("email", "not-an-email", "Enter a valid email address"),
    ],
)
def test_invalid_company_data_is_a_field_error_and_nothing_is_written(
    staff_client, field, value, message
):
    response = staff_client.post(reverse("relations-new"), company_post(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Relation.objects.exists()
    assert not TimelineEvent.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bsn", "123456789", "not a valid BSN"),
        ("email", "", "This field is required"),
        ("last_name", "", "This field is required"),
        ("date_of_birth", "2999-01-01", "cannot be in the future"),
    ],
)
def test_invalid_private_data_is_a_field_error(staff_client, field, value, message):
    response = staff_client.post(reverse("relations-new"), private_contact_post(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Relation.objects.exists()


def test_contact_private_is_created_without_code(staff_client, practice):
    staff_client.post(reverse("relations-new"), private_contact_post(bsn=VALID_BSN))
    relation = Relation.objects.get()
    assert (relation.kind, relation.entity, relation.client_code) == ("contact", "private", "")
    assert relation.display_name == "Jan de Vries"
    assert relation.bsn == VALID_BSN


def test_duplicate_kvk_is_flagged_and_can_be_confirmed(staff_client, practice):
    existing = RelationFactory(practice=practice, kvk_number="12345678", client_code="900")
    first = staff_client.post(reverse("relations-new"), company_post())
    page = first.content.decode()
    assert first.status_code == 200
    assert "may be a duplicate" in page
    assert existing.get_absolute_url() in page
    assert Relation.objects.count() == 1
    second = staff_client.post(reverse("relations-new"), company_post(confirm_duplicates="on"))
    assert second.status_code == 302
    assert Relation.objects.count() == 2


def test_duplicate_in_another_practice_is_not_flagged(staff_client, other_practice):
    RelationFactory(practice=other_practice, kvk_number="12345678")
    assert staff_client.post(reverse("relations-new"), company_post()).status_code == 302


def test_read_only_cannot_create(readonly_client):
    assert readonly_client.get(reverse("relations-new")).status_code == 403
    assert readonly_client.post(reverse("relations-new"), company_post()).status_code == 403
    assert not Relation.objects.exists()


# --- detail ----------------------------------------------------------------------------------


def test_detail_shows_the_relation_and_its_tabs(staff_client, client_company):
    page = staff_client.get(client_company.get_absolute_url()).content.decode()
    assert "Bakkerij B.V." in page
    for tab in ("Company details", "Addresses", "Bank accounts", "Agreements", "Timeline"):
        assert tab in page or tab in page.replace("Bedrijfsgegevens", "Company details")


def test_private_contact_has_no_company_or_agreements_tab(staff_client, practice):
    person = RelationFactory(practice=practice, private=True, contact=True)
    page = staff_client.get(person.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Company details" not in page
    assert "Agreements" not in page
    unknown = staff_client.get(reverse("relations-tab", args=[person.public_id, "company"]))
    assert unknown.status_code == 302


def test_outsider_gets_404_on_every_page_of_the_relation(outsider_client, client_company):
    pid = client_company.public_id
    for url in (
        client_company.get_absolute_url(),
        reverse("relations-tab", args=[pid, "timeline"]),
        reverse("relations-edit", args=[pid]),
    ):
        assert outsider_client.get(url).status_code == 404
    for name in (
        "relations-archive",
        "relations-restore",
        "relations-convert-to-private",
        "relations-convert-to-company",
        "relations-convert-to-client",
        "relations-reveal-bsn",
    ):
        assert outsider_client.post(reverse(name, args=[pid])).status_code == 404
    client_company.refresh_from_db()
    assert client_company.archived_at is None
    assert client_company.version == 1


def test_anonymous_is_redirected_to_login(client, client_company):
    response = client.get(client_company.get_absolute_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_detail_query_count_is_fixed(staff_client, client_company, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        staff_client.get(client_company.get_absolute_url())


def test_bsn_is_masked_and_revealed_on_request(staff_client, staff, practice):
    person = RelationFactory(practice=practice, private=True, bsn=VALID_BSN)
    page = staff_client.get(person.get_absolute_url()).content.decode()
    assert VALID_BSN not in page
    assert "*****2333" in page
    response = staff_client.post(reverse("relations-reveal-bsn", args=[person.public_id]))
    assert VALID_BSN in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    event = person.timeline.get(kind="bsn_revealed")
    assert event.actor == staff
    assert VALID_BSN not in str(event.fields)


def test_read_only_cannot_reveal_a_bsn(readonly_client, practice):
    person = RelationFactory(practice=practice, private=True, bsn=VALID_BSN)
    page = readonly_client.get(person.get_absolute_url()).content.decode()
    assert "Reveal BSN" not in page
    assert VALID_BSN not in page
    response = readonly_client.post(reverse("relations-reveal-bsn", args=[person.public_id]))
    assert response.status_code == 403
    assert not person.timeline.filter(kind="bsn_revealed").exists()


def test_reveal_needs_post(staff_client, practice):
    person = RelationFactory(practice=practice, private=True, bsn=VALID_BSN)
    assert (
        staff_client.get(reverse("relations-reveal-bsn", args=[person.public_id])).status_code
        == 405
    )


# --- edit ------------------------------------------------------------------------------------


def edit_post(relation, **overrides):
    data = company_post(
        legal_name=relation.legal_name,
        legal_form=relation.legal_form,
        client_code=relation.client_code,
        kvk_number=relation.kvk_number,
        vat_number="",
        email=relation.email,
        version=relation.version,
    )
    data.update(overrides)
    return data


def test_edit_saves_bumps_version_and_records_the_changed_fields(staff_client, client_company):
    url = reverse("relations-edit", args=[client_company.public_id])
    response = staff_client.post(url, edit_post(client_company, legal_name="Bakkerij Nieuw B.V."))
    assert response.status_code == 302
    client_company.refresh_from_db()
    assert client_company.display_name == "Bakkerij Nieuw B.V."
    assert client_company.version == 2
    assert client_company.ledger_version == 2
    event = client_company.timeline.get(kind="changed")
    assert event.fields == ["legal_name"]


def test_a_stale_save_is_refused_and_keeps_the_form(staff_client, owner_client, client_company):
    url = reverse("relations-edit", args=[client_company.public_id])
    stale = edit_post(client_company, legal_name="Bob's version")
    owner_client.post(url, edit_post(client_company, legal_name="Alice's version"))
    response = staff_client.post(url, stale)
    page = response.content.decode()
    assert response.status_code == 200
    assert "changed this relation meanwhile" in page
    assert "Bob&#x27;s version" in page
    client_company.refresh_from_db()
    assert client_company.legal_name == "Alice's version"
    assert client_company.version == 2


def test_a_frozen_code_cannot_change(staff_client, client_company):
    Relation.objects.filter(pk=client_company.pk).update(code_frozen=True)
    url = reverse("relations-edit", args=[client_company.public_id])
    staff_client.post(url, edit_post(client_company, client_code="7777"))
    client_company.refresh_from_db()
    assert client_company.client_code == "1000"


def test_read_only_cannot_edit(readonly_client, client_company):
    url = reverse("relations-edit", args=[client_company.public_id])
    assert readonly_client.get(url).status_code == 403
    assert readonly_client.post(url, edit_post(client_company, legal_name="X")).status_code == 403
    client_company.refresh_from_db()
    assert client_company.legal_name == "Bakkerij B.V."


def test_a_stale_form_that_changed_other_fields_saves_both_peoples_changes(
    staff_client, owner_client, client_company
):
    url = reverse("relations-edit", args=[client_company.public_id])
    bob = as_browser_submits(staff_client.get(url).context["form"])
    alice = as_browser_submits(owner_client.get(url).context["form"])
    assert owner_client.post(url, {**alice, "phone": "020 111 1111"}).status_code == 302

    # Bob changed only the e-mail address, on the form from before Alice's save: no conflict (this
    # used to stop him with one), his change is laid over hers.
    assert staff_client.post(url, {**bob, "email": "bob@bakkerij.nl"}).status_code == 302
    client_company.refresh_from_db()
    assert (client_company.email, client_company.phone) == ("bob@bakkerij.nl", "020 111 1111")


def test_a_field_both_people_changed_is_named_and_keeps_this_persons_value(
    staff_client, owner_client, client_company
):
    url = reverse("relations-edit", args=[client_company.public_id])
    bob = as_browser_submits(staff_client.get(url).context["form"])
    alice = as_browser_submits(owner_client.get(url).context["form"])
    owner_client.post(url, {**alice, "phone": "020 111 1111", "website": "https://alice.nl"})

    response = staff_client.post(url, {**bob, "phone": "020 222 2222"})
    shown = response.context["form"]
    assert shown["phone"].value() == "020 222 2222"
    assert shown["website"].value() == "https://alice.nl"
    assert [str(label) for label, _value in shown.conflicting] == [str(shown["phone"].label)]
    assert "020 111 1111" in response.content.decode()  # what Alice saved, to compare with
    client_company.refresh_from_db()
    assert client_company.phone == "020 111 1111"  # nothing of Bob's was saved yet


def test_a_conflict_without_what_was_loaded_still_refuses_and_lists_every_difference(
    staff_client, owner_client, client_company
):
    url = reverse("relations-edit", args=[client_company.public_id])
    stale = edit_post(client_company, legal_name="Bob's version")  # no `loaded` value at all
    owner_client.post(
        url, edit_post(client_company, legal_name="Alice's version", phone="020 333 3333")
    )
    response = staff_client.post(url, {**stale, "loaded": "not json"})
    shown = response.context["form"]
    assert shown["legal_name"].value() == "Bob's version"
    assert {str(label) for label, _v in shown.conflicting} >= {str(shown["legal_name"].label)}
    client_company.refresh_from_db()
    assert client_company.legal_name == "Alice's version"


def test_a_timeline_event_without_an_actor_reads_as_the_system(staff_client, client_company):
    # Events the ledger or an import records have no person behind them; the tab must still render.
    TimelineEvent.record(client_company, TimelineEvent.Kind.CHANGED, actor=None, fields=["email"])
    url = reverse("relations-tab", args=[client_company.public_id, "timeline"])
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "· system" in response.content.decode()
