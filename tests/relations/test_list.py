"""The relations list: filters in the URL, search, sort, capped count, pagination, constant queries."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from relations.models import Relation, TeamAssignment
from relations.views import listing
from tests.factories import AddressFactory, RelationFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/relations/"


@pytest.fixture(autouse=True)
def english(settings):
    """Assert on the English msgids, whatever the Dutch catalogue says."""
    settings.LANGUAGE_CODE = "en"


def names(response) -> list[str]:
    return [relation.display_name for relation in response.context["relations"]]


def with_city(relation: Relation, city: str, **kwargs) -> Relation:
    AddressFactory(relation=relation, city=city, **kwargs)
    relation.refresh_derived()  # the factory does not refresh search_text
    relation.save()
    return relation


def test_url_name_is_relations_list():
    assert reverse("relations-list") == URL


def test_it_shows_the_columns(owner_client, practice):
    client_row = with_city(
        RelationFactory(practice=practice, legal_name="Bakkerij Bol BV", client_code="0042"),
        "Utrecht",
    )
    RelationFactory(
        practice=practice, contact=True, private=True, first_name="Jan", last_name="Jansen"
    )

    response = owner_client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="{client_row.get_absolute_url()}">Bakkerij Bol BV</a>' in html
    assert '<span class="badge client">Client</span>' in html
    assert '<span class="badge contact">Contact</span>' in html
    assert "Private person" in html
    assert "Company" in html
    assert ">0042<" in html
    assert client_row.email in html
    assert ">Utrecht<" in html
    assert html.count("<h1") == 1


def test_city_is_the_default_visiting_address(owner_client, practice):
    relation = RelationFactory(practice=practice)
    AddressFactory(relation=relation, type="postal", city="Postbusdorp")
    AddressFactory(relation=relation, type="visiting", city="Oudstad", is_default=False)
    AddressFactory(relation=relation, type="visiting", city="Zwolle", is_default=True)

    response = owner_client.get(URL)

    assert response.context["relations"][0].city == "Zwolle"


def test_list_city_prefers_visiting_then_postal_then_invoice(owner_client, practice):
    """The default visiting address, else the postal one, else the invoice one (an import's only)."""
    invoice_only = RelationFactory(practice=practice, legal_name="A Factuur")
    AddressFactory(relation=invoice_only, type="invoice", city="Factuurstad")
    postal = RelationFactory(practice=practice, legal_name="B Post")
    AddressFactory(relation=postal, type="invoice", city="Factuurstad")
    AddressFactory(relation=postal, type="postal", city="Poststad")
    visiting = RelationFactory(practice=practice, legal_name="C Bezoek")
    AddressFactory(relation=visiting, type="invoice", city="Factuurstad")
    AddressFactory(relation=visiting, type="postal", city="Poststad")
    AddressFactory(relation=visiting, type="visiting", city="Bezoekstad")
    secondary = RelationFactory(practice=practice, legal_name="D Tweede")
    AddressFactory(relation=secondary, type="visiting", city="Nevenstad", is_default=False)
    AddressFactory(relation=secondary, type="postal", city="Poststad")
    RelationFactory(practice=practice, legal_name="E Geen")

    cities = [row.city for row in owner_client.get(URL).context["relations"]]

    assert cities == ["Factuurstad", "Poststad", "Bezoekstad", "Poststad", ""]


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={URL}"


def test_user_without_membership_gets_404(client, practice):
    client.force_login(UserFactory(username="stranger"))
    assert client.get(URL).status_code == 404


def test_wrong_method_is_405(owner_client):
    assert owner_client.post(URL).status_code == 405


def test_outsider_sees_only_their_own_practice(outsider_client, practice, other_practice):
    RelationFactory(practice=practice, legal_name="Van Dam Klant BV")
    RelationFactory(practice=other_practice, legal_name="Elders Klant BV")

    response = outsider_client.get(URL)

    assert names(response) == ["Elders Klant BV"]
    assert "Van Dam Klant BV" not in response.content.decode()
    # Not even a search reaches across practices.
    assert names(outsider_client.get(URL, {"q": "van dam"})) == []


def test_archived_relations_are_hidden_by_default(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Actief BV")
    RelationFactory(practice=practice, legal_name="Gearchiveerd BV", archived_at=timezone.now())

    assert names(owner_client.get(URL)) == ["Actief BV"]
    archived = owner_client.get(URL, {"status": "archived"})
    assert names(archived) == ["Gearchiveerd BV"]
    assert '<span class="badge archived">Archived</span>' in archived.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Client Company", "Client Private", "Contact Company", "Contact Private"]),
        ({"kind": "client"}, ["Client Company", "Client Private"]),
        ({"kind": "contact"}, ["Contact Company", "Contact Private"]),
        ({"entity": "company"}, ["Client Company", "Contact Company"]),
        ({"entity": "private"}, ["Client Private", "Contact Private"]),
        ({"kind": "contact", "entity": "private"}, ["Contact Private"]),
    ],
)
def test_kind_and_type_filters(owner_client, practice, params, expected):
    RelationFactory(practice=practice, legal_name="Client Company")
    RelationFactory(practice=practice, private=True, first_name="Client", last_name="Private")
    RelationFactory(practice=practice, contact=True, legal_name="Contact Company")
    RelationFactory(
        practice=practice, contact=True, private=True, first_name="Contact", last_name="Private"
    )

    assert names(owner_client.get(URL, params)) == expected


def test_invalid_parameters_fall_back_to_the_defaults(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Enige BV")

    response = owner_client.get(
        URL,
        {"kind": "x", "entity": "y", "status": "z", "sort": "bsn", "per_page": "7", "page": "q"},
    )

    assert response.status_code == 200
    assert names(response) == ["Enige BV"]
    assert response.context["filters"] == listing.ListFilters()


def test_filter_form_has_labels_and_keeps_the_values(owner_client, practice):
    html = owner_client.get(
        URL, {"kind": "contact", "q": "zwaan", "per_page": "25"}
    ).content.decode()

    assert 'method="get"' in html
    for name in ("q", "kind", "entity", "status", "sort", "per_page"):
        assert f'<label for="id_{name}">' in html
    assert 'value="zwaan"' in html
    assert 'aria-describedby="id_q_helptext"' in html
    assert 'id="id_q_helptext"' in html
    assert '<option value="contact" selected>' in html
    assert '<option value="25" selected>' in html
    assert '<button type="submit" class="button">Apply filters</button>' in html


def test_the_cached_filter_bar_follows_the_filters_and_the_language(owner_client, practice):
    contacts = owner_client.get(URL, {"kind": "contact", "q": "a<b"}).content.decode()
    clients = owner_client.get(URL, {"kind": "client", "q": "a<b"}).content.decode()
    dutch = owner_client.get(
        URL, {"kind": "client", "q": "a<b"}, headers={"accept-language": "nl"}
    ).content.decode()

    assert '<option value="contact" selected>' in contacts
    assert '<option value="client" selected>' not in contacts
    assert '<option value="client" selected>' in clients
    assert '<option value="contact" selected>' not in clients
    assert 'value="a&lt;b"' in clients
    assert '<label for="id_q">Search</label>' in clients
    assert '<label for="id_q">Zoeken</label>' in dutch
    assert '<option value="client" selected>Klanten</option>' in dutch


@pytest.mark.parametrize(
    "query",
    ["cafe", "CAFE", "café", "Café de", "zwaan cafe", "0042", "Info0042@", "utrecht", "12345678"],
)
def test_search_is_case_and_accent_blind_on_name_code_email_city_and_kvk(
    owner_client, practice, query
):
    with_city(
        RelationFactory(
            practice=practice, legal_name="Café de Zwaan", client_code="0042", kvk_number="12345678"
        ),
        "Utrecht",
    )
    RelationFactory(practice=practice, legal_name="Bakkerij Bol", kvk_number="87654321")

    assert names(owner_client.get(URL, {"q": query})) == ["Café de Zwaan"]


def test_search_needs_every_word(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Café de Zwaan")
    RelationFactory(practice=practice, legal_name="Café Centraal")

    assert names(owner_client.get(URL, {"q": "cafe"})) == ["Café Centraal", "Café de Zwaan"]
    assert names(owner_client.get(URL, {"q": "cafe zwaan"})) == ["Café de Zwaan"]
    assert names(owner_client.get(URL, {"q": "cafe nergens"})) == []


def test_a_search_word_of_one_or_two_letters_matches_the_start_of_a_word(owner_client, practice):
    RelationFactory(practice=practice, private=True, first_name="Jan", last_name="Smit")
    RelationFactory(practice=practice, private=True, first_name="Piet", last_name="Jansen")
    RelationFactory(practice=practice, private=True, first_name="Hajar", last_name="Bos")
    RelationFactory(practice=practice, legal_name="Élan Vital B.V.")

    assert names(owner_client.get(URL, {"q": "ja"})) == ["Jan Smit", "Piet Jansen"]
    assert names(owner_client.get(URL, {"q": "J"})) == ["Jan Smit", "Piet Jansen"]
    assert names(owner_client.get(URL, {"q": "el"})) == ["Élan Vital B.V."]  # accent-blind
    assert names(owner_client.get(URL, {"q": "ja smit"})) == ["Jan Smit"]
    assert names(owner_client.get(URL, {"q": "jar"})) == ["Hajar Bos"]  # three letters: anywhere


def test_search_treats_like_wildcards_literally(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Honderd Procent BV")

    assert names(owner_client.get(URL, {"q": "%"})) == []
    assert names(owner_client.get(URL, {"q": "_"})) == []


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Alfa", "Bravo", "Charlie"]),
        ("-name", ["Charlie", "Bravo", "Alfa"]),
        ("code", ["Bravo", "Charlie", "Alfa"]),
        ("-code", ["Alfa", "Charlie", "Bravo"]),
        ("created", ["Charlie", "Alfa", "Bravo"]),
        ("-created", ["Bravo", "Alfa", "Charlie"]),
    ],
)
def test_sort(owner_client, practice, sort, expected):
    now = timezone.now()
    RelationFactory(practice=practice, legal_name="Alfa", client_code="3000", created_at=now)
    RelationFactory(
        practice=practice, legal_name="Bravo", client_code="1000", created_at=now + timedelta(1)
    )
    RelationFactory(
        practice=practice, legal_name="Charlie", client_code="2000", created_at=now - timedelta(1)
    )

    assert names(owner_client.get(URL, {"sort": sort})) == expected


@pytest.mark.parametrize(("sort", "reverse_ids"), [("name", False), ("-name", True)])
def test_ties_are_broken_by_id(owner_client, practice, sort, reverse_ids):
    rows = [RelationFactory(practice=practice, legal_name="Dezelfde BV") for _ in range(4)]
    ids = [str(r.public_id) for r in sorted(rows, key=lambda r: r.pk)]

    response = owner_client.get(URL, {"sort": sort})

    shown = [row.public_id for row in response.context["relations"]]
    assert shown == (ids[::-1] if reverse_ids else ids)


def test_pagination_with_previous_and_next(owner_client, practice):
    for n in range(60):
        RelationFactory(practice=practice, legal_name=f"Relatie {n:03}")

    first = owner_client.get(URL, {"kind": "client"})
    assert names(first) == [f"Relatie {n:03}" for n in range(50)]
    html = first.content.decode()
    assert 'href="?kind=client&amp;page=2"' in html
    assert 'rel="prev"' not in html
    assert "Page 1 of 2" in html
    assert "60 relations" in html

    second = owner_client.get(URL, {"kind": "client", "page": "2"})
    assert names(second) == [f"Relatie {n:03}" for n in range(50, 60)]
    html = second.content.decode()
    assert 'rel="next"' not in html
    assert 'href="?kind=client"' in html  # previous = page 1, without a page parameter

    small = owner_client.get(URL, {"per_page": "25", "page": "3"})
    assert names(small) == [f"Relatie {n:03}" for n in range(50, 60)]
    assert "Page 3 of 3" in small.content.decode()


def test_a_page_past_the_end_shows_the_last_page(owner_client, practice):
    for n in range(3):
        RelationFactory(practice=practice, legal_name=f"Relatie {n}")

    response = owner_client.get(URL, {"page": "99"})

    assert response.context["page"] == 1
    assert len(names(response)) == 3


def test_count_is_capped(owner_client, practice, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    for n in range(5):
        RelationFactory(practice=practice, legal_name=f"Relatie {n}")

    response = owner_client.get(URL, {"per_page": "25"})

    html = response.content.decode()
    assert "3+ relations" in html
    assert response.context["count"] is None
    assert "Page 1 of" not in html
    assert len(names(response)) == 5  # the cap limits the count, not the rows


def test_count_beyond_cap_still_pages_on(owner_client, practice, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    for n in range(30):
        RelationFactory(practice=practice, legal_name=f"Relatie {n:02}")

    response = owner_client.get(URL, {"per_page": "25", "page": "2"})

    assert names(response) == [f"Relatie {n:02}" for n in range(25, 30)]
    html = response.content.decode()
    assert re.search(r"Page 2\s*</span>", html)
    assert 'rel="prev" href="?per_page=25"' in html
    assert 'rel="next"' not in html


def test_count_is_exact_below_the_cap(owner_client, practice):
    RelationFactory(practice=practice)

    response = owner_client.get(URL)

    assert response.context["count"] == 1
    assert re.search(r">\s*1 relation\s*<", response.content.decode())


def test_the_cap_is_shown_with_grouping(owner_client, practice, monkeypatch):
    monkeypatch.setattr(listing, "COUNT_CAP", 1_000)
    Relation.objects.bulk_create(
        Relation(
            practice=practice,
            kind="contact",
            entity="company",
            legal_name=f"R{n}",
            display_name=f"R{n:04}",
            email=f"r{n}@example.nl",
        )
        for n in range(1_001)
    )

    assert "1,000+ relations" in owner_client.get(URL).content.decode()


def test_no_unbounded_count(owner_client, practice):
    RelationFactory(practice=practice)

    with CaptureQueriesContext(connection) as queries:
        owner_client.get(URL, {"q": "a"})

    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert f"LIMIT {listing.COUNT_CAP + 1}" in counts[0]


@pytest.mark.parametrize("rows", [5, 60])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"team": "mine"},
        {"q": "stad"},
        {"q": "stad 1"},
        {"kind": "contact", "sort": "-code"},
        {"team": "mine", "q": "stad", "sort": "-created"},
    ],
)
def test_query_count_does_not_grow_with_the_page(
    owner, owner_client, practice, rows, params, django_assert_num_queries
):
    for n in range(rows):
        relation = RelationFactory(practice=practice, contact=n % 2 == 0)
        AddressFactory(relation=relation, city=f"Stad {n}")
        relation.refresh_derived()
        relation.save()
        for role in ("manager", "accountant"):  # two roles, still one row
            TeamAssignment.objects.create(
                practice=practice, relation=relation, user=owner, role=role
            )
    owner_client.get(URL)  # warm up the session

    # session, user, membership, capped count, rows, the nav's other memberships: nothing per row,
    # whatever the filters, and no session save (the idle window is renewed once a minute).
    with django_assert_num_queries(6):
        response = owner_client.get(URL, {"per_page": "100", **params})

    shown = response.context["relations"]
    assert len(shown) == response.context["count"] > 0
    assert len({row.public_id for row in shown}) == len(shown)
    assert all(row.city.startswith("Stad ") for row in shown)
    if params.keys() <= {"team"}:
        assert len(shown) == rows


def test_htmx_request_renders_only_the_rows_partial(owner_client, practice):
    RelationFactory(practice=practice, legal_name="Zwaan BV")

    response = owner_client.get(URL, {"q": "zwaan"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "Zwaan BV" in html
    assert "<html" not in html
    assert "<h1" not in html
    assert 'id="id_q"' not in html
    assert "HX-Request" in response["Vary"]
    full = owner_client.get(URL, {"q": "zwaan"})
    assert "<html" in full.content.decode()
    assert "HX-Request" in full["Vary"]


def test_new_relation_link_only_for_members_who_may_change(
    owner_client, staff_client, readonly_client
):
    href = f'href="{reverse("relations-new")}"'
    assert href in owner_client.get(URL).content.decode()
    assert href in staff_client.get(URL).content.decode()
    assert href not in readonly_client.get(URL).content.decode()


def test_export_link_carries_the_filters(owner_client, practice):
    RelationFactory(practice=practice)

    response = owner_client.get(URL, {"kind": "client", "q": "café", "sort": "-name", "page": "1"})

    expected = f"{reverse('relations-export')}?q=caf%C3%A9&kind=client&sort=-name"
    assert response.context["export_url"] == expected
    assert f'href="{expected.replace("&", "&amp;")}"' in response.content.decode()


def test_staff_sees_a_labelled_checkbox_per_row_and_the_bulk_bar(staff_client, practice):
    relation = RelationFactory(practice=practice, legal_name="Zwaan BV")

    html = staff_client.get(URL, {"kind": "client"}).content.decode()

    assert f'name="ids" value="{relation.public_id}" id="select-{relation.public_id}"' in html
    assert f'<label for="select-{relation.public_id}">' in html
    assert "Select Zwaan BV" in html
    assert f'action="{reverse("relations-bulk")}"' in html
    assert 'name="next" value="/relations/?kind=client"' in html
    assert 'name="action" value="convert_to_client"' in html
    assert 'name="action" value="archive"' in html
    assert 'name="action" value="restore"' not in html
    archived = staff_client.get(URL, {"status": "archived"})
    assert archived.status_code == 200


def test_read_only_member_sees_the_list_without_checkboxes_or_bulk_bar(readonly_client, practice):
    RelationFactory(practice=practice, legal_name="Zwaan BV")

    html = readonly_client.get(URL).content.decode()

    assert "Zwaan BV" in html
    assert 'name="ids"' not in html
    assert reverse("relations-bulk") not in html
    assert 'name="action"' not in html


def test_no_inline_script_or_style(owner_client, practice):
    RelationFactory(practice=practice)

    html = owner_client.get(URL).content.decode()

    assert "<script>" not in html
    assert "style=" not in html


def test_list_shows_each_contacts_portal_state(staff_client, practice):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import RelationFactory

    soon = timezone.now() + timedelta(days=3)
    past = timezone.now() - timedelta(days=1)
    RelationFactory(
        practice=practice,
        contact=True,
        legal_name="Pending Co",
        portal_state="pending",
        portal_invited_until=soon,
    )
    RelationFactory(
        practice=practice,
        contact=True,
        legal_name="Expired Co",
        portal_state="pending",
        portal_invited_until=past,
    )
    RelationFactory(
        practice=practice, contact=True, legal_name="Access Co", portal_state="accepted"
    )
    page = staff_client.get(reverse("relations-list")).content.decode()
    assert "portal-pending" in page
    assert "portal-expired" in page
    assert "portal-accepted" in page
    assert "Invitation expired" in page


def table_rows(html: str) -> list[str]:
    """The result table's body rows, whitespace between tags dropped."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        f"<tr>{row.split('</tr>')[0]}</tr>"
        for row in re.sub(r">\s+<", "><", body).split("<tr>")[1:]
    ]


def test_each_row_shows_every_cell_escaped_and_labelled(staff_client, practice):
    client_row = with_city(
        RelationFactory(practice=practice, legal_name="A <b>&</b> Zn", client_code="0042"),
        "Utrecht",
    )
    contact = RelationFactory(
        practice=practice, contact=True, private=True, first_name="Jan", last_name="Zwart",
        portal_state="revoked",
    )  # fmt: skip

    rows = table_rows(staff_client.get(URL).content.decode())

    pid, url = client_row.public_id, client_row.get_absolute_url()
    assert rows[0] == (
        f'<tr><td><input type="checkbox" name="ids" value="{pid}" id="select-{pid}">'
        f'<label for="select-{pid}"><span class="visually-hidden">Select A &lt;b&gt;&amp;&lt;/b&gt; Zn'
        f"</span></label></td>"
        f'<th scope="row"><a href="{url}">A &lt;b&gt;&amp;&lt;/b&gt; Zn</a></th>'
        '<td><span class="badge client">Client</span></td><td>Company</td><td>0042</td>'
        f'<td><a href="mailto:{client_row.email}">{client_row.email}</a></td><td>Utrecht</td>'
        "<td></td><td>Active</td></tr>"
    )
    pid, url = contact.public_id, contact.get_absolute_url()
    assert rows[1] == (
        f'<tr><td><input type="checkbox" name="ids" value="{pid}" id="select-{pid}">'
        f'<label for="select-{pid}"><span class="visually-hidden">Select Jan Zwart</span></label></td>'
        f'<th scope="row"><a href="{url}">Jan Zwart</a></th>'
        '<td><span class="badge contact">Contact</span></td><td>Private person</td><td></td>'
        f'<td><a href="mailto:{contact.email}">{contact.email}</a></td><td></td>'
        '<td><span class="badge portal-revoked">Revoked</span></td><td>Active</td></tr>'
    )


def test_rows_of_the_archive_and_in_dutch(staff_client, readonly_client, practice):
    archived = RelationFactory(practice=practice, contact=True, legal_name="Oud BV")
    archived.archived_at = timezone.now()
    archived.save()

    [row] = table_rows(
        staff_client.get(URL, {"status": "archived"}, headers={"accept-language": "nl"})
        .content.decode()
    )  # fmt: skip

    assert '<span class="visually-hidden">Oud BV selecteren</span>' in row
    assert '<span class="badge contact">Contactpersoon</span><' in row
    assert "<td>Bedrijf</td>" in row
    assert '<span class="badge portal-none">Niet uitgenodigd</span>' in row
    assert '<td><span class="badge archived">Gearchiveerd</span></td></tr>' in row
    [row] = table_rows(readonly_client.get(URL, {"status": "archived"}).content.decode())
    # The link carries the list's filters, for the relation's way back (test_list_flow.py).
    href = f"{archived.get_absolute_url()}?back=status%3Darchived"
    assert row.startswith(f'<tr><th scope="row"><a href="{href}">Oud BV</a>')
