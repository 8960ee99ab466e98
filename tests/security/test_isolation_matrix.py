"""Tenant isolation on every URL, generated from the URLconf (tests/security/matrix.py).

Practice A's people attack practice B's objects by GET and by a CSRF-valid POST carrying plausible
form data: 404, and not one row anywhere changes. Within A, read-only members get 403 on every
change and staff on every owner page; anonymous users go to the login page; portal users get 404 on
every staff page; nobody but superusers reaches the admin. Each check first shows that the same
request does work for someone allowed to make it, so a refusal can only come from the access rules.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.views import redirect_to_login
from django.test import Client
from django.urls import reverse

from practice.models import Membership
from relations import extensions
from relations.views.pages import tabs_for
from tests.factories import PASSWORD, MembershipFactory, PracticeFactory, UserFactory
from tests.security.matrix import (
    CHANGE,
    EXEMPT,
    MEMBER,
    OWNER,
    PORTAL,
    STAFF,
    TAB,
    UnknownKeyword,
    is_admin,
    route_named,
    routes,
    staff_cases,
    staff_routes,
    url_for,
    url_kwargs,
)
from tests.security.world import (
    CsrfClient,
    changes,
    portal_client,
    portal_session,
    snapshot,
    staff_client,
    world_fixture,  # noqa: F401  (the `world` fixture)
)

pytestmark = pytest.mark.django_db


def _ids(cases):
    return [f"{name}-{method}" for name, method in cases]


def _send(client: Client, method: str, url: str, data: dict) -> object:
    return client.get(url) if method == "GET" else client.post(url, data)


def _attempt(client: Client, method: str, url: str, data: dict) -> tuple[object, dict]:
    """The request, and what it changed in the database (nothing, for every refusal)."""
    before = snapshot()
    response = _send(client, method, url, data)
    return response, changes(before, snapshot())


def _persona(side, access: str):
    """The least privileged member who may use a page of this access level."""
    return {MEMBER: side.readonly, CHANGE: side.staff, OWNER: side.owner}[access]


# --- the matrix is complete ----------------------------------------------------------------------


def test_every_url_pattern_is_in_the_matrix_or_exempt():
    unclassified = [
        route.route
        for route in routes()
        if not is_admin(route)
        and route.name not in STAFF
        and route.name not in PORTAL
        and route.name not in EXEMPT
    ]
    assert unclassified == [], (
        "URL patterns that the isolation matrix does not know: classify them in "
        f"tests/security/matrix.py (STAFF, PORTAL or EXEMPT with a reason): {unclassified}"
    )


def test_the_matrix_names_no_url_that_is_gone():
    names = {route.name for route in routes()}
    stale = sorted((set(STAFF) | PORTAL | set(EXEMPT)) - names)
    assert stale == [], f"tests/security/matrix.py names URLs the URLconf no longer has: {stale}"


def test_every_url_keyword_points_at_an_object(world):
    problems = []
    for route in staff_routes():
        try:
            url_for(route, world.b)
        except UnknownKeyword as exc:
            problems.append(str(exc))
    assert problems == []


def test_an_unknown_keyword_fails_loudly(world):
    route = route_named("relations-detail")
    odd = type(route)(route.route, route.name, ("public_id", "slug"), route.parts)
    with pytest.raises(UnknownKeyword, match="<slug>"):
        url_kwargs(odd, world.b)


@pytest.mark.parametrize("name", sorted(STAFF))
def test_each_staff_url_answers_only_its_declared_methods(world, name):
    """The matrix's methods are the view's: PATCH gets 405 with exactly them in Allow."""
    client = staff_client(world.a.owner)
    url = url_for(route_named(name), world.a)
    before = snapshot()
    response = client.generic(
        "PATCH", url, headers={"x-csrftoken": client.cookies["csrftoken"].value}
    )
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == set(STAFF[name].methods)
    assert changes(before, snapshot()) == {}


# --- who may: the same requests succeed for the right person -------------------------------------


@pytest.mark.parametrize(("name", "method"), staff_cases(), ids=_ids(staff_cases()))
def test_the_right_member_can_use_each_page_on_their_own_practice(world, name, method):
    spec = STAFF[name]
    client = staff_client(_persona(world.a, spec.access))
    response, changed = _attempt(
        client, method, url_for(route_named(name), world.a), spec.data(world.a)
    )
    if method == "GET":
        assert response.status_code == 200
        assert changed == {}, f"{name}: a GET wrote to the database"
    else:
        assert response.status_code in (200, 302), response.status_code
        if spec.changes_db:
            assert changed, f"{name}: the POST was accepted but changed nothing: check its data"


NO_ID_GETS = [name for name, method in staff_cases(method="GET") if not route_named(name).kwargs]


@pytest.mark.parametrize("name", NO_ID_GETS)
def test_a_get_writes_nothing_even_in_a_practice_that_has_nothing_yet(name):
    """A new office's owner looks around: no page creates rows on the way (DESIGN §8)."""
    practice = PracticeFactory(slug="fresh")
    owner = UserFactory(username="fresh-owner")
    MembershipFactory(practice=practice, user=owner, role=Membership.Role.OWNER)
    response, changed = _attempt(staff_client(owner), "GET", reverse(name), {})
    assert response.status_code == 200
    assert changed == {}


ALL_TABS = sorted(
    {"overview", "company", "addresses", "banks", "team", "agreements", "timeline"}
    | set(extensions.tabs)
)


def test_the_tab_list_above_is_complete(world):
    seen = {slug for relation in world.a.relations() for slug, _label in tabs_for(relation)}
    assert seen <= set(ALL_TABS), f"add these tabs to ALL_TABS: {sorted(seen - set(ALL_TABS))}"


@pytest.mark.parametrize("tab", ALL_TABS)
def test_every_tab_of_every_relation_is_read_without_writing_and_only_by_its_practice(world, tab):
    """Tabs come from several apps (relations.extensions): each is scoped, and none writes."""
    reader = staff_client(world.a.readonly)
    outsider = staff_client(world.b.owner)
    urls = [
        reverse("relations-tab", args=[relation.public_id, tab])
        for relation in world.a.relations()
        if tab in dict(tabs_for(relation))
    ]
    assert urls, f"no relation of the test world has the {tab} tab"
    before = snapshot()
    for url in urls:
        assert reader.get(url).status_code == 200, url
        assert outsider.get(url).status_code == 404, url
    assert changes(before, snapshot()) == {}


# --- another practice's objects: 404, nothing changes --------------------------------------------

ID_CASES = staff_cases(with_id=True)


@pytest.mark.parametrize(("name", "method"), ID_CASES, ids=_ids(ID_CASES))
def test_another_practices_object_is_404_and_untouched(world, name, method):
    """A's owner (who passes every role check) asks for B's object, with B's own valid form data."""
    client = staff_client(world.a.owner)
    url = url_for(route_named(name), world.b)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.b))
    assert response.status_code == 404
    assert changed == {}


NESTED_CASES = staff_cases(nested=True)


@pytest.mark.parametrize(("name", "method"), NESTED_CASES, ids=_ids(NESTED_CASES))
def test_another_practices_object_under_ones_own_relation_is_404_and_untouched(world, name, method):
    """A's own client in the URL, B's address (bank account, agreement…) as the object under it."""
    client = staff_client(world.a.staff)
    url = url_for(route_named(name), world.a, inner=world.b)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.a))
    assert response.status_code == 404
    assert changed == {}


@pytest.mark.parametrize(("name", "method"), ID_CASES, ids=_ids(ID_CASES))
def test_a_read_only_outsider_cannot_tell_another_practices_ids_from_made_up_ones(
    world, name, method
):
    route = route_named(name)
    client = staff_client(world.a.readonly)
    data = STAFF[name].data(world.b)
    made_up = {
        key: uuid.uuid4() if key == "public_id" else 2_000_000_000 if key == "pk" else TAB
        for key in route.kwargs
    }
    response, changed = _attempt(client, method, url_for(route, world.b), data)
    invented = _send(client, method, reverse(name, kwargs=made_up), data)
    assert response.status_code in (403, 404)
    assert response.status_code == invented.status_code
    assert changed == {}


# --- within the practice: read-only members change nothing, staff no owner pages -----------------

READ_ONLY_CASES = [
    (name, method)
    for name, method in staff_cases()
    if (method == "POST" and not STAFF[name].readonly_may_post) or STAFF[name].access != MEMBER
]


@pytest.mark.parametrize(("name", "method"), READ_ONLY_CASES, ids=_ids(READ_ONLY_CASES))
def test_a_read_only_member_gets_403_on_every_change(world, name, method):
    client = staff_client(world.a.readonly)
    url = url_for(route_named(name), world.a)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.a))
    assert response.status_code == 403
    assert changed == {}


OWNER_CASES = [(name, method) for name, method in staff_cases() if STAFF[name].access == OWNER]


@pytest.mark.parametrize(("name", "method"), OWNER_CASES, ids=_ids(OWNER_CASES))
def test_staff_get_403_on_owner_pages(world, name, method):
    client = staff_client(world.a.staff)
    url = url_for(route_named(name), world.a)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.a))
    assert response.status_code == 403
    assert changed == {}


# --- anonymous users and portal users ------------------------------------------------------------

ALL_CASES = staff_cases()


@pytest.mark.parametrize(("name", "method"), ALL_CASES, ids=_ids(ALL_CASES))
def test_anonymous_users_are_sent_to_the_login_page(world, name, method):
    client = CsrfClient()
    client.fetch_token(reverse("login"))
    url = url_for(route_named(name), world.a)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.a))
    assert response.status_code == 302
    assert response.url == redirect_to_login(url).url
    assert changed == {}


@pytest.mark.parametrize(("name", "method"), ALL_CASES, ids=_ids(ALL_CASES))
def test_portal_users_get_404_on_every_staff_page(world, name, method):
    """Kees accepted his invitation from practice A: A's staff pages do not exist for him."""
    client = portal_session(world.a)
    url = url_for(route_named(name), world.a)
    response, changed = _attempt(client, method, url, STAFF[name].data(world.a))
    assert response.status_code == 404
    assert changed == {}


OPEN_PAGES = {
    "login": {},
    "portal-login": {},
    "portal-accept": {"token": "not-a-token-anyone-was-sent"},
    "set_language": {},
    "office-join": {"token": "not-a-token-anyone-was-sent"},
    "two-step-verify": {},
    "password-reset": {},
    "password-reset-done": {},
    "password-reset-confirm": {"uidb64": "MQ", "token": "not-a-token-anyone-was-sent"},
    "password-reset-complete": {},
    "portal-password-reset": {},
    "portal-password-reset-done": {},
    "portal-password-reset-confirm": {"uidb64": "MQ", "token": "not-a-token-anyone-was-sent"},
    "portal-password-reset-complete": {},
}


def test_every_exempt_page_but_logout_is_checked_below():
    assert set(OPEN_PAGES) | {"logout"} == set(EXEMPT)  # logout answers POST only


@pytest.mark.parametrize("name", sorted(OPEN_PAGES))
def test_the_open_pages_write_nothing_on_get(world, name):
    response, changed = _attempt(Client(), "GET", reverse(name, kwargs=OPEN_PAGES[name]), {})
    assert response.status_code in (200, 302, 404)
    assert changed == {}


def test_portal_pages_are_for_portal_users_only(world):
    home = reverse("portal-home")
    anonymous = Client().get(home)
    assert anonymous.status_code == 302
    assert anonymous.url == redirect_to_login(home, login_url=reverse("portal-login")).url
    for member in (world.a.owner, world.a.readonly):
        assert staff_client(member).get(home).status_code == 404
    client = portal_client(world.a)
    page, changed = _attempt(client, "GET", home, {})
    assert page.status_code == 200
    assert changed == {}
    assert client.get(world.a.portal_contact.get_absolute_url()).status_code == 404
    assert world.a.portal_contact.display_name in page.text
    assert world.b.portal_contact.display_name not in page.text


# --- the admin: superusers only ------------------------------------------------------------------

ADMIN_KWARGS = {
    "object_id": "1",
    "content_type_id": "1",
    "id": "1",
    "pk": "1",  # django-otp's device pages (config, QR code)
    "url": "elsewhere/",
}
ADMIN_ROUTES = [r for r in routes() if is_admin(r) and r.name != "admin:login"]


def _admin_path(route) -> str:
    values = dict(ADMIN_KWARGS)
    if "app_label" in route.kwargs:
        values["app_label"] = "relations"
    unknown = set(route.kwargs) - set(values)
    assert not unknown, f"{route.route}: no sample value for {unknown} in ADMIN_KWARGS"
    return route.concrete(values)


def test_non_staff_users_cannot_reach_any_admin_url(world):
    """An office owner is no superuser: the admin sends them (and contacts) to its login."""
    login, index = reverse("admin:login"), reverse("admin:index")
    clients = {
        "office owner": staff_client(world.a.owner),
        "portal user": portal_client(world.a),
        "anonymous": Client(),
    }
    reached = []
    for route in ADMIN_ROUTES:
        path = _admin_path(route)
        for who, client in clients.items():
            response = client.get(path)
            # The admin's logout sends someone without access to its index, which sends them on.
            if response.status_code != 302 or not (
                response.url.startswith(login) or response.url == index
            ):
                reached.append((who, route.route, response.status_code))
    assert reached == []
    assert len(ADMIN_ROUTES) > 50  # every registered model's pages, walked from the URLconf


def test_an_office_owner_cannot_sign_in_to_the_admin(world):
    client = CsrfClient()
    client.fetch_token(reverse("admin:login"))
    response = client.post(
        reverse("admin:login"),
        {"username": world.a.owner.username, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 200  # the form again, with its error
    assert client.get(reverse("admin:index")).status_code == 302
