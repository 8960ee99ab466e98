"""Every page and form of Kring, rendered in Dutch, has no English left in it.

How it knows, in two independent ways:

1. Every string Django or Kring asks to have translated passes through gettext (templates'
   {% translate %}, lazy model and form labels, Django's own messages such as "- Select an option -"
   or the password rules). During this test those functions are wrapped: each msgid looked up while
   Dutch is active is checked against the Dutch catalogue the app really uses (Kring's and Django's
   merged). A msgid that has no entry there would reach the user in English, so it is recorded.
   This is exact, needs no list of words and cannot be fooled by a translation that happens to
   equal its msgid ("IBAN").
2. What is not asked to be translated cannot be caught that way: an identifier printed as it is
   ("country, house_number"), an English text written straight into a template. The visible text
   of every page is therefore also searched for programmers' identifiers (snake_case) and for a
   short list of common English words that no Dutch sentence contains.

The pages: every staff URL of the isolation matrix (tests/security/matrix.py, which fails when a URL
is added without being registered there) for a seeded practice with an object of every kind, every
detail tab of every kind of relation and their edit forms, every form posted empty (so that its
errors render), the POST-only actions with the confirmation they leave behind, the portal (sign-in,
an invitation, the portal page, withdrawn access), the office's login and the error pages (403 for a
read-only member, a CSRF failure, 404). Each action runs in a transaction that is rolled back.
"""

from __future__ import annotations

import html
import re
from typing import Any, cast

from django.core import mail
from django.db import transaction
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from portal import services as portal_services
from relations.views.pages import tabs_for
from tests.security.matrix import STAFF, route_named, staff_routes, url_for
from tests.security.world import PORTAL_PASSWORD, TOKEN_IN_LINK, world_fixture  # noqa: F401

# Words of English that no Dutch sentence holds (names in the seeded data are Dutch).
ENGLISH_WORDS = re.compile(
    r"\b(the|this|these|and|with|your|you|please|select|option|field|required|password|forbidden|"
    r"found|enter|invalid|must|cannot|should|been|there|which|from|when|will|yet|already|"
    r"changed|added|removed|saved|choose|page|of the)\b",
    re.IGNORECASE,
)
IDENTIFIER = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")
HIDDEN = re.compile(r"<(script|style|template)\b.*?</\1>", re.DOTALL | re.IGNORECASE)
TAG = re.compile(r"<[^>]+>")
ATTRIBUTE_TEXT = re.compile(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"')


class Recorder:
    """Wraps gettext and friends; `missing` gets every msgid looked up in Dutch that has no entry."""

    def __init__(self) -> None:
        self.missing: set[str] = set()
        # Read through Django's private catalogue (`_catalog`, `_fallback`): not in the stubs.
        self.dutch: Any = cast(Any, trans_real.translation("nl"))
        # Django translates some texts twice ({% get_available_languages %} hands out "Nederlands",
        # which a template's lookup passes through gettext again): Dutch already, not English.
        self.translations = set(
            self.dutch._catalog.keys() and dict(self.dutch._catalog.items()).values()
        )

    def known(self, key) -> bool:
        catalogue: Any = self.dutch
        while catalogue is not None:
            if key in catalogue._catalog:
                return True
            catalogue = getattr(catalogue, "_fallback", None)
        return False

    def check(self, key, shown: str) -> None:
        if (
            shown
            and translation.get_language() == "nl"
            and not self.known(key)
            and shown not in self.translations
        ):
            self.missing.add(shown)

    def install(self, monkeypatch) -> None:
        trans = translation._trans  # type: ignore[attr-defined]  # Django's private gettext proxy
        real = {
            name: getattr(trans, name) for name in ("gettext", "ngettext", "pgettext", "npgettext")
        }

        def gettext(message):
            self.check(message, message)
            return real["gettext"](message)

        def ngettext(singular, plural, number):
            self.check((singular, 0), singular)
            return real["ngettext"](singular, plural, number)

        def pgettext(context, message):
            self.check(f"{context}\x04{message}", message)
            return real["pgettext"](context, message)

        def npgettext(context, singular, plural, number):
            self.check((f"{context}\x04{singular}", 0), singular)
            return real["npgettext"](context, singular, plural, number)

        for name, function in locals().copy().items():
            if name in real:
                monkeypatch.setattr(trans, name, function)


def visible_text(page: str) -> str:
    text = HIDDEN.sub(" ", page)
    extra = " ".join(ATTRIBUTE_TEXT.findall(text))
    return html.unescape(TAG.sub(" ", text) + " " + extra)


def dutch_client(user=None, **kwargs) -> Client:
    client = Client(headers={"accept-language": "nl"}, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def rolled_back(request, *args, **kwargs):
    """Run one request (or action) in a transaction undone afterwards: the world stays as seeded."""
    with transaction.atomic():
        result = request(*args, **kwargs)
        transaction.set_rollback(True)
    return result


def test_every_page_in_dutch_has_no_english_left(db, world, monkeypatch):
    recorder = Recorder()
    recorder.install(monkeypatch)
    side = world.a
    pages: dict[str, str] = {}

    def visit(label: str, response) -> None:
        assert response.status_code < 500, label
        if response.get("Content-Type", "").startswith("text/html"):
            pages[label] = response.content.decode()

    owner = dutch_client(side.owner)
    # Every staff page by URL name, and every form posted empty.
    for route in staff_routes():
        spec = STAFF[route.name]
        url = url_for(route, side)
        if "GET" in spec.methods:
            visit(f"GET {route.name}", owner.get(url))
            if "POST" in spec.methods:
                visit(f"POST {route.name} (empty)", rolled_back(owner.post, url, {}))
        elif route.name != "practice-switch":
            response = rolled_back(owner.post, url, spec.data(side), follow=True)
            visit(f"POST {route.name}", response)
    # Every tab of every kind of relation, and its edit form.
    for relation in side.relations():
        for slug, _label in tabs_for(relation):
            visit(
                f"{relation.display_name} {slug}",
                owner.get(reverse("relations-tab", args=[relation.public_id, slug])),
            )
        visit(
            f"edit {relation.display_name}",
            owner.get(reverse("relations-edit", args=[relation.public_id])),
        )
    for kind in ("client", "contact"):
        for entity in ("company", "private"):
            new = reverse("relations-new")
            visit(f"new {kind} {entity}", owner.get(new, {"kind": kind, "entity": entity}))
            visit(
                f"new {kind} {entity} (empty)",
                rolled_back(owner.post, new, {"kind": kind, "entity": entity}),
            )
    # The error pages.
    readonly = dutch_client(side.readonly)
    archive = url_for(route_named("relations-archive"), side)
    visit("403", readonly.post(archive))
    csrf = dutch_client(side.staff, enforce_csrf_checks=True)
    visit("403 csrf", csrf.post(archive))
    visit("404", owner.get("/bestaat-niet/"))
    # The office's login, empty and wrong.
    visit("login", dutch_client().get(reverse("login")))
    visit(
        "login (wrong)", dutch_client().post(reverse("login"), {"username": "x", "password": "y"})
    )
    # The portal: sign-in, an invitation link, the page itself, withdrawn access.
    anonymous = dutch_client()
    visit("portal login", anonymous.get(reverse("portal-login")))
    visit("portal login (empty)", anonymous.post(reverse("portal-login"), {}))
    visit(
        "portal login (wrong)",
        anonymous.post(reverse("portal-login"), {"email": side.portal_email, "password": "nee"}),
    )
    visit("portal accept (unknown)", anonymous.get(reverse("portal-accept", args=["onbekend"])))

    def accept_page():
        with TestCase.captureOnCommitCallbacks(execute=True):
            portal_services.resend(
                relation=side.invited, user=side.staff, base_url="http://testserver"
            )
        pages["invitation mail"] = mail.outbox[-1].body
        token = TOKEN_IN_LINK.search(mail.outbox[-1].body).group(1)
        url = reverse("portal-accept", args=[token])
        visit("portal accept", anonymous.get(url))
        visit(
            "portal accept (short)",
            anonymous.post(url, {"new_password1": "kort", "new_password2": "kort"}),
        )

    rolled_back(accept_page)
    portal = dutch_client(side.portal_user)
    visit("portal home", portal.get(reverse("portal-home")))

    def withdrawn():
        portal_services.revoke(relation=side.portal_contact, user=side.owner)
        visit("portal withdrawn", portal.get(reverse("portal-home")))

    rolled_back(withdrawn)

    assert len(pages) > 80
    assert sorted(recorder.missing) == []
    english = {
        label: sorted({m.group(0) for m in ENGLISH_WORDS.finditer(visible_text(page))})
        for label, page in pages.items()
    }
    assert {label: words for label, words in english.items() if words} == {}
    identifiers = {
        label: sorted(set(IDENTIFIER.findall(visible_text(page)))) for label, page in pages.items()
    }
    assert {label: found for label, found in identifiers.items() if found} == {}
