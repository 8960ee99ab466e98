"""The portal's chat pages (collab.portal_views): who reaches them, what they show and never show.

* Anonymous users go to the portal's login; staff get 404; a contact reaches only the threads of the
  clients it has portal access to: another office's thread, a thread of a client of its own office
  it is not connected to, and a thread of its client once the switch is off, are all 404 and
  untouched, for every method.
* The canary: the world's internal notes hold INTERNAL_CANARY. Every portal page crawled as the
  contact (and every e-mail sent to it while staff post) never holds it, nor anything of the other
  office.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.views import redirect_to_login
from django.test import Client, TestCase
from django.urls import reverse

from collab import services as collab_services
from connections import services as connection_services
from connections.models import Connection
from tests.security.matrix import PORTAL, route_named
from tests.security.world import (
    INTERNAL_CANARY,
    changes,
    portal_client,
    snapshot,
    staff_client,
    world_fixture,  # noqa: F401  (the `world` fixture)
)

pytestmark = pytest.mark.django_db

CHAT = sorted(name for name in PORTAL if name.startswith("portal-chat"))
WITH_THREAD = [name for name in CHAT if "pk" in route_named(name).kwargs]
POSTS = {"portal-chat-new", "portal-chat-post", "portal-chat-read"}


def _url(name: str, thread=None) -> str:
    return reverse(name, args=[thread.pk] if thread is not None else [])


def _data(name: str, side) -> dict:
    if name == "portal-chat-new":
        return {"client": str(side.client.public_id), "subject": "Vraag", "body": "Hallo"}
    if name == "portal-chat-post":
        return {"body": "Hallo"}
    return {}


def _attempt(client, name: str, url: str, data: dict):
    before = snapshot()
    response = client.post(url, data) if name in POSTS else client.get(url)
    return response, changes(before, snapshot())


def test_the_chat_pages_are_all_covered_here():
    assert set(CHAT) == {
        "portal-chat",
        "portal-chat-new",
        "portal-chat-thread",
        "portal-chat-post",
        "portal-chat-read",
    }


@pytest.mark.parametrize("name", CHAT)
def test_anonymous_users_go_to_the_portal_login(world, name):
    url = _url(name, world.a.thread if name in WITH_THREAD else None)
    response, changed = _attempt(Client(), name, url, _data(name, world.a))
    assert response.status_code == 302
    assert response.url == redirect_to_login(url, login_url=reverse("portal-login")).url
    assert changed == {}


@pytest.mark.parametrize("name", CHAT)
def test_staff_get_404_on_the_portal_chat(world, name):
    client = staff_client(world.a.owner)
    url = _url(name, world.a.thread if name in WITH_THREAD else None)
    response, changed = _attempt(client, name, url, _data(name, world.a))
    assert response.status_code == 404
    assert changed == {}


@pytest.mark.parametrize("name", CHAT)
def test_the_contact_uses_each_page_on_its_own_clients_thread(world, name):
    client = portal_client(world.a)
    url = _url(name, world.a.thread if name in WITH_THREAD else None)
    response, changed = _attempt(client, name, url, _data(name, world.a))
    if name in POSTS:
        assert response.status_code == 302
        assert changed
    else:
        assert response.status_code == 200
        assert changed == {}, f"{name}: a GET wrote to the database"


@pytest.mark.parametrize("name", WITH_THREAD)
def test_another_offices_thread_is_404_and_untouched(world, name):
    client = portal_client(world.a)
    response, changed = _attempt(client, name, _url(name, world.b.thread), _data(name, world.b))
    assert response.status_code == 404
    assert changed == {}


@pytest.mark.parametrize("name", WITH_THREAD)
def test_a_thread_of_a_client_without_access_is_404_and_untouched(world, name):
    """Kees is contact of A's client, not of A's `failed` client: that client's thread is 404."""
    a = world.a
    with TestCase.captureOnCommitCallbacks(execute=True):
        other = collab_services.start_thread(
            client=a.failed,
            user=a.staff,
            subject="Alleen voor de klant Mislukt",
            body="Niet voor Kees",
            internal=False,
            base_url="http://testserver",
        )
    client = portal_client(a)
    response, changed = _attempt(client, name, _url(name, other), _data(name, a))
    assert response.status_code == 404
    assert changed == {}
    assert "Alleen voor de klant Mislukt" not in client.get(reverse("portal-chat")).text


def test_starting_a_thread_on_a_client_without_access_is_refused(world):
    client = portal_client(world.a)
    for outsider in (world.a.failed, world.b.client):
        data = {"client": str(outsider.public_id), "subject": "Vraag", "body": "Hallo"}
        response, changed = _attempt(client, "portal-chat-new", reverse("portal-chat-new"), data)
        assert response.status_code == 200  # the form again, with its error
        assert response.context["form"].errors
        assert changed == {}


@pytest.mark.parametrize("name", WITH_THREAD)
def test_with_the_switch_off_the_own_clients_thread_is_404(world, name):
    a = world.a
    connection = Connection.objects.involving(a.portal_contact).get(portal_access=True)
    connection_services.set_portal_access(connection=connection, user=a.staff, on=False)
    client = portal_client(a)
    response, changed = _attempt(client, name, _url(name, a.thread), _data(name, a))
    assert response.status_code == 404
    assert changed == {}


# --- the canary ----------------------------------------------------------------------------------

HREF = re.compile(r'href="(/portal/[^"#]*)"')


def _crawl(client) -> dict[str, str]:
    """Every portal page reachable from the home page by its links (GET), and its text."""
    seen: dict[str, str] = {}
    queue = [reverse("portal-home")]
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = response.content.decode()
        queue += [href for href in HREF.findall(seen[url]) if href not in seen]
    return seen


def test_no_portal_page_holds_an_internal_note_or_the_other_office(world, mailoutbox):
    a, b = world.a, world.b
    client = portal_client(a)
    pages = _crawl(client)
    assert reverse("portal-chat-thread", args=[a.thread.pk]) in pages  # the crawl got there
    for url, text in pages.items():
        assert INTERNAL_CANARY not in text, url
        assert b.thread.subject not in text, url
        assert "klant betaalt traag" not in text, url
    thread_page = pages[reverse("portal-chat-thread", args=[a.thread.pk])]
    assert a.message.body in thread_page
    # The office answers: an internal note, a reply to it (internal), then a visible message.
    mailoutbox.clear()
    with TestCase.captureOnCommitCallbacks(execute=True):
        note = collab_services.post_staff_message(
            thread=a.thread,
            user=a.staff,
            body=f"{INTERNAL_CANARY} nog een",
            internal=True,
            base_url="http://testserver",
        )
        collab_services.post_staff_message(
            thread=a.thread,
            user=a.staff,
            body=f"Citaat: {INTERNAL_CANARY}",
            internal=False,
            reply_to=note,
            base_url="http://testserver",
        )
        collab_services.post_staff_message(
            thread=a.thread,
            user=a.staff,
            body="Zichtbaar bericht",
            internal=False,
            base_url="http://testserver",
        )
    for url, text in _crawl(client).items():
        assert INTERNAL_CANARY not in text, url
    assert len(mailoutbox) == 1
    for mail in mailoutbox:
        assert mail.to == [a.portal_email]
        assert INTERNAL_CANARY not in mail.body
        assert INTERNAL_CANARY not in mail.subject
        assert "Zichtbaar bericht" not in mail.body
