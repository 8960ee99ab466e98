"""The Connections tab: listing from both sides, the picker, adding and ending, with and without htmx."""

from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections import services
from connections.models import Connection
from connections.views import PICKER_LIMIT, tab_context
from practice.models import Membership
from relations.models import TimelineEvent
from tests.factories import AddressFactory, RelationFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
CONFIRMED = {"confirmed": "1"}  # the answer on the confirm page (practice/confirm.py)
Event = TimelineEvent.Kind


def add_url(relation):
    return reverse("connections-add", args=[relation.public_id])


def picker_url(relation):
    return reverse("connections-picker", args=[relation.public_id])


def end_url(relation, connection):
    return reverse("connections-end", args=[relation.public_id, connection.pk])


def tab_url(relation):
    return reverse("relations-tab", args=[relation.public_id, "connections"])


def director(other):
    return {"other": str(other.public_id), "role": "director:subject", "start_date": "2021-04-01"}


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the tab -------------------------------------------------------------------------------------


def test_the_tab_follows_bank_accounts(staff_client, company):
    page = staff_client.get(company.get_absolute_url()).content.decode()

    assert page.index(reverse("relations-tab", args=[company.public_id, "banks"])) < page.index(
        tab_url(company)
    )


def test_one_row_shows_on_both_pages_in_each_sides_words(staff_client, connect, company, jan):
    connect(jan, company, Connection.Type.DIRECTOR, start_date=date(2021, 4, 1))

    jans = staff_client.get(tab_url(jan)).content.decode()
    companys = staff_client.get(tab_url(company)).content.decode()

    assert "director of <a" in jans
    assert f'href="{company.get_absolute_url()}">Bakkerij B.V.</a>' in jans
    assert "has director <a" in companys
    assert f'href="{jan.get_absolute_url()}">Jan de Vries</a>' in companys
    assert "01/04/2021" in jans  # day/month/year in English too
    assert "01/04/2021" in companys


def test_current_connections_come_before_ended_ones(staff_client, connect, staff, practice, jan):
    old = RelationFactory(practice=practice, legal_name="Vroeger B.V.")
    now = RelationFactory(practice=practice, legal_name="Zuivel B.V.")
    services.end_connection(connection=connect(jan, old), user=staff, on=timezone.localdate())
    connect(jan, now)

    response = staff_client.get(tab_url(jan))
    page = response.content.decode()

    assert page.index("Zuivel B.V.") < page.index("Ended") < page.index("Vroeger B.V.")
    assert [r["other"] for r in response.context["current_connections"]] == [now]
    assert [r["other"] for r in response.context["ended_connections"]] == [old]


def test_changers_get_add_and_end_controls(staff_client, connect, company, jan):
    connection = connect(jan, company)

    page = staff_client.get(tab_url(company)).content.decode()

    assert f'href="{add_url(company)}"' in page
    assert f'action="{end_url(company, connection)}"' in page


def test_read_only_member_sees_no_controls(readonly_client, connect, company, jan):
    connection = connect(jan, company)

    page = readonly_client.get(tab_url(company)).content.decode()

    assert "has director" in page
    assert add_url(company) not in page
    assert end_url(company, connection) not in page


def test_an_ended_connection_has_no_end_button(staff_client, connect, staff, company, jan):
    connection = connect(jan, company)
    services.end_connection(connection=connection, user=staff)

    page = staff_client.get(tab_url(company)).content.decode()

    assert end_url(company, connection) not in page


def test_the_tab_is_one_query_however_many_connections(
    staff, connect, practice, jan, django_assert_num_queries
):
    for n in range(5):
        connect(jan, RelationFactory(practice=practice, legal_name=f"Bedrijf {n} B.V."))
    request = RequestFactory().get(tab_url(jan))
    request.user, request.membership = staff, Membership.objects.get(user=staff)

    with django_assert_num_queries(1):
        context = tab_context(request, jan)
        # Rendered without the request: its context processors are the page's, not the tab's.
        page = render_to_string("connections/tab.html", {"relation": jan, **context})
    assert page.count("director of <a") == 5


def test_the_pages_query_count_does_not_grow_with_connections(staff_client, connect, practice, jan):
    def queries_for_tab(count):
        for n in range(count):
            connect(jan, RelationFactory(practice=practice, legal_name=f"Bedrijf {n} B.V."))
        with CaptureQueriesContext(db) as captured:
            response = staff_client.get(tab_url(jan))
        assert response.status_code == 200
        return len(captured)

    assert queries_for_tab(1) == queries_for_tab(12)


# --- the picker ----------------------------------------------------------------------------------


def test_picker_offers_only_active_relations_of_the_same_practice(
    staff_client, practice, other_practice, company
):
    match = RelationFactory(practice=practice, legal_name="Bakkerij Noord B.V.")
    RelationFactory(practice=practice, legal_name="Bakkerij Oud B.V.", archived_at=timezone.now())
    RelationFactory(practice=other_practice, legal_name="Bakkerij Elders B.V.")
    RelationFactory(practice=practice, legal_name="Slagerij B.V.")

    response = staff_client.get(picker_url(company), {"q": "bakkerij"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert list(response.context["candidates"]) == [match]
    assert f'name="other" value="{match.public_id}"' in page
    assert "Bakkerij B.V." not in page  # not the relation itself
    assert "Oud" not in page
    assert "Elders" not in page
    assert "Slagerij" not in page


def test_picker_shows_at_most_ten(staff_client, practice, company):
    RelationFactory.create_batch(PICKER_LIMIT + 3, practice=practice, legal_name="Zuivel B.V.")

    response = staff_client.get(picker_url(company), {"q": "zuivel"})

    assert len(response.context["candidates"]) == PICKER_LIMIT


def sanne(practice, **fields):
    return RelationFactory(
        practice=practice, private=True, first_name="Sanne", last_name="Jansen", **fields
    )


def test_pickers_tell_same_named_relations_apart(staff_client, practice, company):
    contact = sanne(practice, contact=True, email="sanne@utrecht.example")
    AddressFactory(relation=contact, type="invoice", city="Utrecht")
    client = sanne(practice, client_code="0042", email="")
    AddressFactory(relation=client, city="Zwolle")

    for response in (
        staff_client.get(picker_url(company), {"q": "sanne jansen"}, **HTMX),
        staff_client.get(add_url(company), {"q": "sanne jansen"}),  # without JavaScript
    ):
        page = response.content.decode()
        assert page.count("<strong>Sanne Jansen</strong>") == 2
        assert "Private person · Utrecht · sanne@utrecht.example" in page
        assert "Private person · 0042 · Zwolle" in page
        assert '<span class="badge contact">Contact</span>' in page
        assert '<span class="badge client">Client</span>' in page


def test_the_picker_reads_its_matches_in_constant_queries(staff_client, practice, company):
    for n in range(4):
        AddressFactory(relation=sanne(practice, client_code=f"010{n}"), city=f"Stad {n}")
    url = picker_url(company)
    staff_client.get(url, {"q": "sanne"})  # the session and membership, once

    with CaptureQueriesContext(db) as few:
        staff_client.get(url, {"q": "sanne"})
    for n in range(4):
        AddressFactory(relation=sanne(practice, client_code=f"020{n}"), city=f"Dorp {n}")
    with CaptureQueriesContext(db) as more:
        staff_client.get(url, {"q": "sanne"})

    assert len(more) == len(few)


def test_pickers_say_when_there_are_more_results(staff_client, practice, company):
    RelationFactory.create_batch(PICKER_LIMIT + 1, practice=practice, legal_name="Zuivel B.V.")
    exactly = RelationFactory.create_batch(PICKER_LIMIT, practice=practice, legal_name="Kaas B.V.")

    more = staff_client.get(picker_url(company), {"q": "zuivel"}).content.decode()
    enough = staff_client.get(picker_url(company), {"q": "kaas"}).content.decode()
    no_js = staff_client.get(add_url(company), {"q": "zuivel"}).content.decode()

    hint = f"More than {PICKER_LIMIT} relations match; type more of the name, code or city."
    assert hint in more
    assert hint in no_js
    assert len(exactly) == PICKER_LIMIT
    assert "More than" not in enough


def test_the_team_picker_tells_same_named_members_apart(staff_client, practice, company):
    from practice.models import Membership

    for email in ("jan@kantoor.example", "j.devries@kantoor.example"):
        user = UserFactory(first_name="Jan", last_name="de Vries", email=email)
        Membership.objects.create(user=user, practice=practice, role=Membership.Role.STAFF)

    page = staff_client.get(reverse("relations-team-add", args=[company.public_id]))

    html = page.content.decode()
    assert "Jan de Vries (jan@kantoor.example)" in html
    assert "Jan de Vries (j.devries@kantoor.example)" in html


def test_picker_without_a_query_offers_nothing_yet(staff_client, company, jan):
    response = staff_client.get(picker_url(company), {"q": " "})

    assert list(response.context["candidates"]) == []
    assert "Search, then choose one of the matches." in response.content.decode()


def test_picker_says_when_nothing_matches(staff_client, company):
    page = staff_client.get(picker_url(company), {"q": "xyz"}).content.decode()

    assert "No active relation of this practice matches." in page


# --- adding --------------------------------------------------------------------------------------


def test_it_adds_a_connection_and_both_timelines_hear(staff_client, staff, company, jan):
    response = staff_client.post(add_url(jan), director(company))

    assert response.status_code == 302
    assert response["Location"] == tab_url(jan)
    connection = Connection.objects.get()
    assert (connection.a, connection.b, connection.type) == (company, jan, "director")
    assert connection.describe_for(jan) == "Jan de Vries — director of Bakkerij B.V."
    assert connection.start_date == date(2021, 4, 1)
    assert list(jan.timeline.values_list("kind", "other_relation", "actor")) == [
        (Event.CONNECTION_ADDED, company.pk, staff.pk)
    ]
    assert list(company.timeline.values_list("kind", "other_relation", "actor")) == [
        (Event.CONNECTION_ADDED, jan.pk, staff.pk)
    ]
    assert messages_of(response) == ["Connection added: Jan de Vries — director of Bakkerij B.V.."]


def test_the_reverse_wording_is_offered_on_the_company(owner_client, company, jan):
    owner_client.post(add_url(company), {**director(jan), "role": "director:object"})

    assert Connection.objects.get().describe_for(jan) == "Jan de Vries — director of Bakkerij B.V."


def test_other_is_added_with_its_description(staff_client, company, jan):
    response = staff_client.post(
        add_url(jan),
        {"other": str(company.public_id), "role": "other:subject", "description": "Buurman"},
    )

    assert response.status_code == 302
    assert Connection.objects.get().description == "Buurman"


def test_other_without_a_description_is_a_field_error(staff_client, company, jan):
    response = staff_client.post(add_url(jan), {**director(company), "role": "other:subject"})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["description"]
    assert not Connection.objects.exists()


def test_without_a_choice_the_form_asks_for_one(staff_client, jan):
    response = staff_client.post(add_url(jan), {"role": "director:subject"})

    assert response.status_code == 200
    assert "Choose the other relation from the search results." in response.content.decode()
    assert not Connection.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_a_relation_of_another_practice_is_not_found(staff_client, other_practice, jan):
    elsewhere = RelationFactory(practice=other_practice)

    response = staff_client.post(add_url(jan), director(elsewhere))

    assert response.status_code == 200
    assert "Choose the other relation from the search results." in response.content.decode()
    assert elsewhere.display_name not in response.content.decode()
    assert not Connection.objects.exists()


def test_a_self_link_is_refused_in_the_form(staff_client, jan):
    response = staff_client.post(add_url(jan), director(jan))

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "other": ["A relation cannot be connected to itself."]
    }
    assert not Connection.objects.exists()


def test_an_archived_other_is_refused_in_the_form(staff_client, company, jan):
    company.archived_at = timezone.now()
    company.save()

    response = staff_client.post(add_url(jan), director(company))

    assert (
        "Bakkerij B.V. is archived. Restore it before connecting it." in response.content.decode()
    )
    assert not Connection.objects.exists()


def test_a_duplicate_is_explained_and_the_choice_is_kept(staff_client, connect, company, jan):
    connect(jan, company)

    response = staff_client.post(add_url(company), {**director(jan), "role": "director:object"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "This connection exists already: Bakkerij B.V. — has director Jan de Vries." in page
    assert f'value="{jan.public_id}" checked' in page
    assert Connection.objects.count() == 1


def test_add_form_for_htmx_is_a_fragment(staff_client, jan):
    response = staff_client.get(add_url(jan), **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert f'hx-post="{add_url(jan)}"' in page
    assert f'hx-get="{picker_url(jan)}"' in page
    assert 'for="id_role"' in page
    assert 'for="id_start_date"' in page


def test_add_form_without_javascript_is_a_page_whose_search_reloads_it(staff_client, company, jan):
    page = staff_client.get(add_url(jan)).content.decode()

    assert "<html" in page
    assert f'action="{add_url(jan)}"' in page
    assert 'method="get"' in page
    assert 'form="connections-search"' in page
    assert f'href="{tab_url(jan)}"' in page

    searched = staff_client.get(add_url(jan), {"q": "bakker", "role": "director:subject"})

    result = searched.content.decode()
    assert f'name="other" value="{company.public_id}"' in result
    assert 'value="bakker"' in result
    assert searched.context["form"].errors == {}  # searching is not submitting


def test_htmx_post_returns_the_list_in_place_of_the_form(staff_client, company, jan):
    response = staff_client.post(add_url(jan), director(company), **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert response["HX-Retarget"] == "#connections-list"
    assert "director of <a" in page
    assert "Connection added" in page
    assert Connection.objects.count() == 1


def test_htmx_invalid_post_returns_the_form_fragment(staff_client, jan):
    response = staff_client.post(add_url(jan), {"role": "director:subject"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="connections-form"' in page
    assert not Connection.objects.exists()


# --- ending --------------------------------------------------------------------------------------


def test_it_ends_a_connection_from_either_side(staff_client, connect, staff, company, jan):
    connection = connect(jan, company)

    response = staff_client.post(end_url(company, connection), CONFIRMED)

    assert response.status_code == 302
    assert response["Location"] == tab_url(company)
    connection.refresh_from_db()
    assert connection.end_date == timezone.localdate()
    assert Connection.objects.count() == 1
    for relation, other in ((jan, company), (company, jan)):
        event = relation.timeline.get(kind=Event.CONNECTION_ENDED)
        assert (event.other_relation, event.actor) == (other, staff)
    assert messages_of(response) == ["Connection ended: Bakkerij B.V. — has director Jan de Vries."]


def test_it_ends_on_the_date_given(staff_client, connect, company, jan):
    connection = connect(jan, company, start_date=date(2020, 1, 1))

    staff_client.post(end_url(jan, connection), {"end_date": "2023-06-30", **CONFIRMED})

    connection.refresh_from_db()
    assert connection.end_date == date(2023, 6, 30)


def test_an_end_before_the_start_is_refused_with_a_message(staff_client, connect, company, jan):
    connection = connect(jan, company, start_date=date(2020, 1, 1))

    response = staff_client.post(end_url(jan, connection), {"end_date": "2019-01-01", **CONFIRMED})

    assert response.status_code == 302
    assert "cannot be before the start date" in messages_of(response)[0]
    connection.refresh_from_db()
    assert connection.end_date is None


def test_htmx_end_returns_the_list(staff_client, connect, company, jan):
    connection = connect(jan, company)

    response = staff_client.post(end_url(jan, connection), CONFIRMED, **HTMX)

    page = response.content.decode()
    assert "<html" not in page
    assert response["HX-Retarget"] == "#connections-list"
    assert "Ended" in page
    assert end_url(jan, connection) not in page


def test_a_connection_not_involving_the_relation_is_404(
    staff_client, connect, practice, company, jan
):
    connection = connect(jan, company)
    bystander = RelationFactory(practice=practice)

    assert staff_client.post(end_url(bystander, connection)).status_code == 404
    connection.refresh_from_db()
    assert connection.end_date is None


# --- who may do what -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, connect, company, jan):
    connection = connect(jan, company)
    login = reverse("login")

    assert client.get(add_url(jan))["Location"].startswith(login)
    assert client.post(add_url(jan), director(company))["Location"].startswith(login)
    assert client.get(picker_url(jan), {"q": "bak"})["Location"].startswith(login)
    assert client.post(end_url(jan, connection))["Location"].startswith(login)
    assert Connection.objects.active().count() == 1


def test_outsider_gets_404(outsider_client, connect, other_practice, company, jan):
    connection = connect(jan, company)
    own = RelationFactory(practice=other_practice)

    assert outsider_client.get(tab_url(jan)).status_code == 404
    assert outsider_client.get(add_url(jan)).status_code == 404
    assert outsider_client.post(add_url(jan), director(company)).status_code == 404
    assert outsider_client.get(picker_url(jan), {"q": "bak"}).status_code == 404
    assert outsider_client.post(end_url(jan, connection)).status_code == 404
    # Their own relation with this practice's connection or relation ids: still nothing.
    assert outsider_client.post(end_url(own, connection)).status_code == 404
    assert outsider_client.post(add_url(own), director(company)).status_code == 200
    assert Connection.objects.get() == connection
    assert Connection.objects.active().count() == 1


def test_read_only_member_gets_403(readonly_client, connect, company, jan):
    connection = connect(jan, company)

    assert readonly_client.get(add_url(jan)).status_code == 403
    assert readonly_client.get(add_url(jan), **HTMX).status_code == 403
    assert readonly_client.post(add_url(company), director(jan)).status_code == 403
    assert readonly_client.get(picker_url(jan), {"q": "bak"}).status_code == 403
    assert readonly_client.post(end_url(jan, connection)).status_code == 403
    assert Connection.objects.active().count() == 1
    assert TimelineEvent.objects.count() == 2


def test_wrong_method_is_405(staff_client, connect, company, jan):
    connection = connect(jan, company)

    assert staff_client.put(add_url(jan)).status_code == 405
    assert staff_client.post(picker_url(jan)).status_code == 405
    assert staff_client.put(end_url(jan, connection)).status_code == 405
    # GET is the confirm page (practice/confirm.py) and changes nothing.
    assert staff_client.get(end_url(jan, connection)).status_code == 200


def test_csrf_is_enforced(staff, connect, company, jan):
    connection = connect(jan, company, Connection.Type.SHAREHOLDER)
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    client.force_login(staff)

    assert client.post(add_url(jan), director(company)).status_code == 403
    assert client.post(end_url(jan, connection)).status_code == 403
    assert list(Connection.objects.values_list("type", "end_date")) == [("shareholder", None)]


def test_archived_relation_refuses_changes(staff_client, connect, staff, company, jan):
    connection = connect(jan, company)
    jan.archived_at = timezone.now()
    jan.save()

    added = staff_client.post(add_url(jan), {**director(company), "role": "shareholder:subject"})
    ended = staff_client.post(end_url(jan, connection), CONFIRMED, **HTMX)

    assert added["Location"] == tab_url(jan)
    assert ended["HX-Redirect"] == tab_url(jan)
    assert Connection.objects.active().count() == 1
    assert TimelineEvent.objects.count() == 2
    assert add_url(jan) not in staff_client.get(tab_url(jan)).content.decode()


def test_an_ended_connection_stays_listed_and_nothing_is_deleted(
    staff_client, connect, company, jan
):
    connection = connect(jan, company)
    staff_client.post(end_url(jan, connection), CONFIRMED)

    response = staff_client.get(tab_url(company))

    assert [r["connection"] for r in response.context["ended_connections"]] == [connection]
    assert response.context["ended_connections"][0]["connection"].end_date <= (
        timezone.localdate() + timedelta(days=0)
    )


def test_picker_keeps_the_chosen_relation_while_searching_again(staff_client, practice, jan):
    chosen = RelationFactory(practice=practice, legal_name="Bakkerij Noord B.V.")

    response = staff_client.get(picker_url(jan), {"q": "zuivel", "other": str(chosen.public_id)})

    assert f'value="{chosen.public_id}" checked' in response.content.decode()


def test_an_unreadable_end_date_is_refused_with_a_message(staff_client, connect, company, jan):
    connection = connect(jan, company)

    response = staff_client.post(end_url(jan, connection), {"end_date": "gisteren", **CONFIRMED})

    assert response["Location"] == tab_url(jan)
    assert messages_of(response) == ["Enter a valid date."]
    connection.refresh_from_db()
    assert connection.end_date is None
