"""A word of 100,000 characters without a space (issue 11: it made the page 835,999 px wide) wraps
wherever user text is shown, at a desktop width and on a 390 px phone."""

import pytest
from playwright.sync_api import Page

from relations.models import Relation, ServiceAgreement, TimelineEvent
from tests.factories import PASSWORD, AddressFactory, RelationFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORD = "x" * 100_000
TABS = ("", "tab/addresses/", "tab/agreements/", "tab/timeline/")

# Every element whose own text holds the marker: the widest right edge, and whether any of them
# has content sticking out of its box.
HOLDERS = """(marker) => {
    let right = 0, overflows = false, found = 0;
    for (const element of document.querySelectorAll("body *")) {
        const own = [...element.childNodes].some(
            (node) => node.nodeType === Node.TEXT_NODE && node.textContent.includes(marker));
        if (!own || element.closest(".visually-hidden")) continue;  // hidden text has no width
        found += 1;
        right = Math.max(right, element.getBoundingClientRect().right);
        overflows ||= element.scrollWidth > element.clientWidth + 1;
    }
    return {found, right, overflows};
}"""


def relation_with(practice, staff, *, name: str, notes: str, street: str, city: str) -> Relation:
    relation = RelationFactory.create(practice=practice, legal_name=name, notes=notes)
    AddressFactory.create(relation=relation, street=street, city=city)
    agreement = ServiceAgreement.objects.create(
        practice=practice, relation=relation, service="vat", notes=notes
    )
    other = RelationFactory.create(practice=practice, legal_name=name.replace("B", "O"))
    kind = TimelineEvent.Kind
    TimelineEvent.record(relation, kind.CONNECTION_ADDED, actor=staff, other_relation=other)
    TimelineEvent.record(relation, kind.AGREEMENT_ADDED, actor=staff, agreement=agreement)
    return Relation.objects.get(pk=relation.pk)


@pytest.fixture
def long_relation(practice, staff):
    """Text stored before the notes had a limit (or imported): the pages must still hold it."""
    return relation_with(
        practice, staff, name="B" * 200, notes=WORD, street="S" * 120, city="C" * 80
    )


@pytest.fixture
def plain_relation(practice, staff):
    """The same relation with ordinary text: the width its pages have without long words."""
    return relation_with(
        practice, staff, name="Bakkerij B.V.", notes="Per kwartaal", street="Damrak", city="Ede"
    )


def document_width(page: Page, url: str) -> int:
    page.goto(url)
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("width", [1280, 390])
def test_long_words_wrap(
    live_server, page: Page, login, staff, long_relation, plain_relation, width
):
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "bob", PASSWORD)

    for tab in TABS:
        url = f"{live_server.url}{long_relation.get_absolute_url()}{tab}"
        plain = document_width(page, f"{live_server.url}{plain_relation.get_absolute_url()}{tab}")
        wide = document_width(page, url)
        # The long text adds no width: the page is as wide as with ordinary text, which on a
        # desktop is the window (a phone's tables are the phone layout's business).
        assert wide <= max(width, plain), f"{url}: {wide} px in a {width} px window"
        if width == 1280:
            assert wide <= width
        for marker in ("xxxxxxxxxx", "BBBBBBBBBB", "SSSSSSSSSS", "OOOOOOOOOO"):
            holders = page.evaluate(HOLDERS, marker)
            if holders["found"]:
                assert not holders["overflows"], f"{url}: {marker[0]}… sticks out of its box"
                assert holders["right"] <= max(width, plain), f"{url}: {marker[0]}… {holders}"

    # The list's cells (at a desktop width; the phone list is its own item of the issue).
    if width == 1280:
        assert document_width(page, f"{live_server.url}/relations/?q=bbbb") <= width
        assert page.evaluate(HOLDERS, "BBBBBBBBBB")["found"]
