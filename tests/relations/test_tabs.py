"""One tab mechanism (issue 13): relations' own tabs and every app's are registered the same way
(relations/extensions.py), and the detail page shows what is registered, in position order."""

from __future__ import annotations

import re
from copy import deepcopy

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils.translation import gettext_lazy

from relations import extensions
from relations.extensions import Tab, register_tab, unregister_tab
from relations.views.pages import tabs_for
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

SCRATCH = (
    "<h2>Scratch</h2><p id='scratch'>{{ scratch_note }} · {{ can_change|yesno:'may,may not' }}</p>"
)


def _with_scratch_template():
    """The template engine with one more template, as a new app would ship it."""
    templates = deepcopy(settings.TEMPLATES)
    templates[0]["APP_DIRS"] = False
    templates[0]["OPTIONS"]["loaders"] = [
        ("django.template.loaders.locmem.Loader", {"scratch/tab.html": SCRATCH}),
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    return override_settings(TEMPLATES=templates)


@pytest.fixture
def scratch_tab():
    """A throwaway tab registered as the work-process, chat or tools tabs will be."""
    register_tab(
        Tab(
            slug="scratch",
            label=gettext_lazy("Scratch"),
            template="scratch/tab.html",
            context=lambda request, relation: {"scratch_note": f"Notes on {relation}"},
            position=55,  # between Team (50) and Agreements (60)
            applies=lambda relation: relation.is_client,
        )
    )
    with _with_scratch_template():
        yield
    unregister_tab("scratch")


def test_every_built_in_tab_is_in_the_registry_in_order(practice):
    company = RelationFactory(practice=practice)
    person = RelationFactory(practice=practice, contact=True, private=True)

    assert [slug for slug, _label in tabs_for(company)] == [
        "overview",
        "company",
        "addresses",
        "banks",
        "connections",
        "team",
        "agreements",
        "work",  # the work app's Werkprocessen, for clients
        "ledger",
        "tools",
        "chat",  # collab's, registered from its AppConfig.ready() (clients only)
        "timeline",
    ]
    assert [slug for slug, _label in tabs_for(person)] == [
        "overview",
        "addresses",
        "banks",
        "connections",
        "team",
        "tools",
        "timeline",
    ]
    assert {"overview", "company", "addresses", "banks", "team", "agreements", "timeline"} <= set(
        extensions.tabs
    )


def test_a_registered_tab_renders_in_its_place_and_goes_when_unregistered(
    scratch_tab, staff_client, readonly_client, practice
):
    client_ = RelationFactory(practice=practice, legal_name="Bakkerij B.V.")
    contact = RelationFactory(practice=practice, contact=True)
    url = reverse("relations-tab", args=[client_.public_id, "scratch"])

    page = staff_client.get(client_.get_absolute_url())
    slugs = [slug for slug, _label, _url in page.context["tabs"]]
    assert slugs.index("team") < slugs.index("scratch") < slugs.index("agreements")
    assert f'href="{url}">Scratch</a>' in page.content.decode()

    tab = staff_client.get(url)
    html = tab.content.decode()
    assert tab.status_code == 200
    assert "<p id='scratch'>Notes on Bakkerij B.V. · may</p>" in html
    assert re.search(rf'<a href="{re.escape(url)}" aria-current="page">Scratch</a>', html)
    # The page's own context reaches the fragment: a read-only member may not change.
    assert "Notes on Bakkerij B.V. · may not" in readonly_client.get(url).content.decode()
    # Not for a relation it does not apply to: that URL leads to the overview.
    other = reverse("relations-tab", args=[contact.public_id, "scratch"])
    assert staff_client.get(other)["Location"] == contact.get_absolute_url()

    unregister_tab("scratch")
    assert "scratch" not in [slug for slug, _label in tabs_for(client_)]
    assert staff_client.get(url)["Location"] == client_.get_absolute_url()


def test_a_registered_tab_is_scoped_to_the_practice(scratch_tab, outsider_client, practice):
    client_ = RelationFactory(practice=practice)
    url = reverse("relations-tab", args=[client_.public_id, "scratch"])
    assert outsider_client.get(url).status_code == 404


def test_every_view_refuses_an_archived_relation_in_the_one_wording(staff_client, practice):
    """relations.rules.ARCHIVED_READ_ONLY, through relations/views/inline.py, wherever a view asks."""
    from django.contrib.messages import get_messages
    from django.utils import timezone

    from relations.rules import ARCHIVED_READ_ONLY

    archived = RelationFactory(practice=practice, archived_at=timezone.now())
    pid = archived.public_id
    for name in (
        "relations-edit",
        "relations-archive",
        "relations-team-add",
        "relations-address-new",
        "relations-bank-new",
        "relations-agreement-new",
        "connections-add",
    ):
        response = staff_client.get(reverse(name, args=[pid]), follow=True)
        assert response.redirect_chain, name
        said = [str(m) for m in get_messages(response.wsgi_request)]
        assert said == [str(ARCHIVED_READ_ONLY)], (name, said)
