"""The Agreements tab: add, edit and end service agreements of a client, inline and without JavaScript."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from practice.models import Membership
from relations.models import Relation, ServiceAgreement, TimelineEvent
from relations.views.parts import tab_context
from tests.factories import RelationFactory, ServiceAgreementFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CONFIRMED = {"confirmed": "1"}  # posted from the confirm page, or added by the dialog
VALID = {"service": "vat", "start_date": "2026-01-01", "end_date": "", "notes": "Per kwartaal"}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice)


def days(n):
    return timezone.localdate() + timedelta(days=n)


def new_url(relation):
    return reverse("relations-agreement-new", args=[relation.public_id])


def edit_url(relation, agreement):
    return reverse("relations-agreement-edit", args=[relation.public_id, agreement.pk])


def end_url(relation, agreement):
    return reverse("relations-agreement-end", args=[relation.public_id, agreement.pk])


def tab_url(relation):
    return reverse("relations-tab", args=[relation.public_id, "agreements"])


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- adding ------------------------------------------------------------------------------------


def test_it_adds_an_agreement_and_redirects_to_the_tab(staff_client, staff, relation, practice):
    response = staff_client.post(new_url(relation), VALID)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    agreement = relation.agreements.get()
    assert agreement.service == ServiceAgreement.Service.VAT
    assert str(agreement.start_date) == "2026-01-01"
    assert agreement.end_date is None
    assert agreement.notes == "Per kwartaal"
    assert agreement.practice == practice
    event = relation.timeline.get()
    assert (event.kind, event.actor, event.agreement) == (
        TimelineEvent.Kind.AGREEMENT_ADDED,
        staff,
        agreement,
    )
    assert message_texts(response) == ["Agreement added."]


def test_end_date_before_start_is_a_field_error_and_nothing_is_written(staff_client, relation):
    response = staff_client.post(
        new_url(relation), {**VALID, "start_date": "2026-03-01", "end_date": "2026-02-28"}
    )

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["end_date"]
    assert "The end date cannot be before the start date." in response.content.decode()
    assert not ServiceAgreement.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_unknown_service_is_a_field_error(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "service": "magic"})

    assert list(response.context["form"].errors) == ["service"]
    assert not ServiceAgreement.objects.exists()


def test_htmx_invalid_post_returns_the_form_fragment(staff_client, relation):
    response = staff_client.post(
        new_url(relation), {**VALID, "start_date": "2026-03-01", "end_date": "2026-01-01"}, **HTMX
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="id_end_date_error"' in page
    assert not ServiceAgreement.objects.exists()


def test_htmx_post_returns_the_refreshed_list(staff_client, relation):
    response = staff_client.post(new_url(relation), {**VALID, "start_date": str(days(-1))}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="agreements-list"' in page
    assert "VAT returns" in page
    assert "Agreement added." in page
    assert response["HX-Retarget"] == "#agreements-list"


def test_a_contact_cannot_get_an_agreement(staff_client, practice):
    contact = RelationFactory(practice=practice, contact=True)

    response = staff_client.post(new_url(contact), VALID)

    assert response.status_code == 302
    assert response["Location"] == tab_url(contact)
    assert message_texts(response) == ["Only clients have service agreements."]
    assert staff_client.get(new_url(contact)).status_code == 302
    assert not ServiceAgreement.objects.exists()


# --- editing -----------------------------------------------------------------------------------


def test_it_edits_an_agreement_and_names_the_changed_fields(staff_client, staff, relation):
    agreement = ServiceAgreementFactory(relation=relation, start_date=days(-30), notes="")

    response = staff_client.post(
        edit_url(relation, agreement),
        {
            "service": "bookkeeping",
            "start_date": str(days(-30)),
            # Rendered by the form (the model default is callable) and posted back by the browser.
            "initial-start_date": str(days(-30)),
            "notes": "Maandelijks",
        },
    )

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.notes == "Maandelijks"
    event = relation.timeline.get()
    assert (event.kind, event.actor, event.agreement, event.fields) == (
        TimelineEvent.Kind.AGREEMENT_CHANGED,
        staff,
        agreement,
        ["notes"],
    )


def test_edit_form_fragment_and_full_page(staff_client, relation):
    agreement = ServiceAgreementFactory(relation=relation, notes="Jaarrekening 2025")

    fragment = staff_client.get(edit_url(relation, agreement), **HTMX).content.decode()
    page = staff_client.get(edit_url(relation, agreement)).content.decode()

    assert "<html" not in fragment
    assert "Jaarrekening 2025" in fragment
    assert 'name="initial-start_date"' in fragment  # what makes changed_data exact
    for name in ("service", "start_date", "end_date", "notes"):
        assert f'for="id_{name}"' in fragment
    assert "<html" in page
    assert f'action="{edit_url(relation, agreement)}"' in page
    assert f'href="{tab_url(relation)}"' in page


# --- ending ------------------------------------------------------------------------------------


def test_it_ends_an_agreement_today(staff_client, staff, relation):
    agreement = ServiceAgreementFactory(relation=relation, start_date=days(-100))

    response = staff_client.post(end_url(relation, agreement), CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == tab_url(relation)
    agreement.refresh_from_db()
    assert agreement.end_date == timezone.localdate()
    assert not agreement.is_running
    assert not relation.agreements.running().exists()
    event = relation.timeline.get()
    assert (event.kind, event.actor, event.agreement) == (
        TimelineEvent.Kind.AGREEMENT_ENDED,
        staff,
        agreement,
    )
    assert message_texts(response) == ["Agreement ended."]


def test_htmx_end_moves_the_agreement_to_ended(staff_client, relation):
    agreement = ServiceAgreementFactory(relation=relation, start_date=days(-100))

    response = staff_client.post(end_url(relation, agreement), CONFIRMED, **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert page.index("No running agreements.") < page.index("Bookkeeping")
    assert end_url(relation, agreement) not in page


def test_ending_an_ended_agreement_is_refused(staff_client, relation):
    agreement = ServiceAgreementFactory(
        relation=relation, start_date=days(-100), end_date=days(-10)
    )

    response = staff_client.post(end_url(relation, agreement), CONFIRMED)

    assert response.status_code == 302
    assert message_texts(response) == ["This agreement has ended already."]
    agreement.refresh_from_db()
    assert agreement.end_date == days(-10)
    assert not TimelineEvent.objects.exists()


# --- who may do what ---------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, relation):
    agreement = ServiceAgreementFactory(relation=relation)
    login = reverse("login")

    assert client.get(new_url(relation))["Location"].startswith(login)
    assert client.post(new_url(relation), VALID)["Location"].startswith(login)
    assert client.get(edit_url(relation, agreement))["Location"].startswith(login)
    assert client.post(end_url(relation, agreement), CONFIRMED)["Location"].startswith(login)
    assert relation.agreements.get().end_date is None


def test_outsider_gets_404(outsider_client, relation):
    agreement = ServiceAgreementFactory(relation=relation)

    assert outsider_client.get(new_url(relation)).status_code == 404
    assert outsider_client.post(new_url(relation), VALID).status_code == 404
    assert outsider_client.post(edit_url(relation, agreement), VALID).status_code == 404
    assert outsider_client.post(end_url(relation, agreement), CONFIRMED).status_code == 404
    assert relation.agreements.get().end_date is None


def test_another_relations_agreement_is_404_under_your_own_relation(
    staff_client, practice, relation
):
    foreign = ServiceAgreementFactory(relation=RelationFactory(practice=practice))

    assert staff_client.get(edit_url(relation, foreign)).status_code == 404
    assert staff_client.post(edit_url(relation, foreign), VALID).status_code == 404
    assert staff_client.post(end_url(relation, foreign), CONFIRMED).status_code == 404
    foreign.refresh_from_db()
    assert foreign.end_date is None
    assert foreign.service == "bookkeeping"


def test_outsider_cannot_reach_an_agreement_through_their_own_relation(
    outsider_client, other_practice, relation
):
    own = RelationFactory(practice=other_practice)
    theirs = ServiceAgreementFactory(relation=relation)

    assert outsider_client.post(end_url(own, theirs), CONFIRMED).status_code == 404
    theirs.refresh_from_db()
    assert theirs.end_date is None


def test_read_only_member_gets_403(readonly_client, relation):
    agreement = ServiceAgreementFactory(relation=relation)

    assert readonly_client.get(new_url(relation)).status_code == 403
    assert readonly_client.post(new_url(relation), VALID).status_code == 403
    assert readonly_client.post(edit_url(relation, agreement), VALID, **HTMX).status_code == 403
    assert readonly_client.post(end_url(relation, agreement), CONFIRMED).status_code == 403
    assert relation.agreements.get().end_date is None
    assert not TimelineEvent.objects.exists()


def test_wrong_method_is_405(staff_client, relation):
    agreement = ServiceAgreementFactory(relation=relation)

    assert staff_client.delete(new_url(relation)).status_code == 405
    assert staff_client.put(edit_url(relation, agreement)).status_code == 405
    # GET is the confirm page (tests/relations/test_agreement_rules.py); other methods are refused.
    assert staff_client.put(end_url(relation, agreement)).status_code == 405


def test_archived_relation_refuses_changes(staff_client, practice):
    archived = RelationFactory(practice=practice, archived_at=timezone.now())
    agreement = ServiceAgreementFactory(relation=archived, start_date=days(-10))

    response = staff_client.post(end_url(archived, agreement), CONFIRMED)
    assert response.status_code == 302
    assert response["Location"] == tab_url(archived)
    assert "archived" in message_texts(response)[0]
    staff_client.post(new_url(archived), VALID)
    htmx = staff_client.post(edit_url(archived, agreement), {**VALID, "notes": "x"}, **HTMX)
    assert htmx["HX-Redirect"] == tab_url(archived)

    agreement.refresh_from_db()
    assert (agreement.end_date, agreement.notes) == (None, "")
    assert archived.agreements.count() == 1
    assert not TimelineEvent.objects.exists()
    assert Relation.objects.get(pk=archived.pk).version == archived.version


# --- the tab itself ----------------------------------------------------------------------------


def _render(user, relation):
    http = RequestFactory().get(tab_url(relation))
    http.user, http.membership = user, Membership.objects.get(user=user)
    context = {"relation": relation, **tab_context(http, relation, "agreements")}
    return context, render_to_string("relations/tabs/agreements.html", context, request=http)


def test_tab_separates_running_planned_and_ended_agreements(staff, relation):
    active = ServiceAgreementFactory(relation=relation, service="payroll", start_date=days(-5))
    upcoming = ServiceAgreementFactory(relation=relation, service="vat", start_date=days(5))
    ending = ServiceAgreementFactory(
        relation=relation, service="advisory", start_date=days(-5), end_date=days(5)
    )
    ended = ServiceAgreementFactory(
        relation=relation, service="income_tax", start_date=days(-50), end_date=days(0)
    )

    context, page = _render(staff, relation)

    assert set(context["running_agreements"]) == {active, ending}
    assert context["planned_agreements"] == [upcoming]
    assert context["ended_agreements"] == [ended]
    assert page.index("Payroll") < page.index("Not started yet") < page.index("VAT returns")
    assert page.index("VAT returns") < page.index("Ended") < page.index("Income tax")
    assert end_url(relation, active) in page
    assert end_url(relation, ended) not in page


def test_tab_context_is_one_query(staff, relation, django_assert_num_queries):
    ServiceAgreementFactory.create_batch(3, relation=relation)
    http = RequestFactory().get(tab_url(relation))
    http.user, http.membership = staff, Membership.objects.get(user=staff)

    with django_assert_num_queries(1):
        tab_context(http, relation, "agreements")


def test_read_only_member_sees_no_controls(readonly, relation):
    agreement = ServiceAgreementFactory(relation=relation)

    _context, page = _render(readonly, relation)

    assert "Bookkeeping" in page
    assert new_url(relation) not in page
    assert end_url(relation, agreement) not in page
    assert edit_url(relation, agreement) not in page


def test_contact_tab_explains_agreements_belong_to_clients(staff, practice):
    contact = RelationFactory(practice=practice, contact=True)

    _context, page = _render(staff, contact)

    assert "Service agreements belong to clients." in page
    assert new_url(contact) not in page
