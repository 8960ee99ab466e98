"""Office links: placeholders allow-listed and URL-encoded, only https/mailto/tel, a missing value
hides the link, a relation's override beats the office default."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from lookups import links
from lookups.models import OfficeLink, RelationLink
from sync.models import LedgerConnection
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db


def test_placeholders_are_url_encoded_in_full() -> None:
    url = links.fill(
        "https://portal.example/klant?code={client_code}&btw={btw}",
        {"client_code": "12/3?x=1&y#z", "btw": "NL 1:2"},
    )
    assert url == "https://portal.example/klant?code=12%2F3%3Fx%3D1%26y%23z&btw=NL%201%3A2"


def test_mailto_and_tel() -> None:
    assert links.fill(
        "mailto:boekhouding@example.nl?subject={client_code}", {"client_code": "1 2"}
    ) == ("mailto:boekhouding@example.nl?subject=1%202")
    assert links.fill("tel:+31201234567", {}) == "tel:+31201234567"


@pytest.mark.parametrize(
    "template",
    [
        "javascript:alert(1)",
        "JavaScript:alert({kvk})",
        "data:text/html,<script>",
        "http://example.nl/{kvk}",
        "{btw}",  # a placeholder cannot choose the scheme
        "https://{client_code}.example.nl/",  # nor the host
        "https:{kvk}",
        "//example.nl/{kvk}",
        "https://example.nl/{bsn}",  # not an allowed placeholder
        "https://example.nl/{kvk.__class__}",
        "https://example.nl/{kvk!r}",
        "https://example.nl/{kvk:>20}",
        "https://example.nl/{0}",
        "https://example.nl/a b",
        'https://example.nl/"onmouseover=x',
        "https://example.nl/{kvk",
        "",
    ],
)
def test_other_schemes_and_placeholders_are_refused(template: str) -> None:
    with pytest.raises(ValidationError):
        links.check_template(template)
    assert links.fill(template, {"kvk": "1", "btw": "NL1", "client_code": "1"}) is None


def test_the_dutch_names_of_placeholders() -> None:
    assert links.fill(
        "https://example.nl/{kantoorcode}/{klantcode}", {"office_code": "NLA", "client_code": "7"}
    ) == ("https://example.nl/NLA/7")


def test_a_missing_value_hides_the_link() -> None:
    assert links.fill("https://example.nl/{kvk}", {"kvk": ""}) is None
    assert links.fill("https://example.nl/{kvk}", {}) is None


def test_relation_override_beats_the_office_default(practice):
    relation = RelationFactory(practice=practice, client_code="1001", kvk_number="12345678")
    other = RelationFactory(practice=practice, client_code="1002", kvk_number="")
    LedgerConnection.objects.create(practice=practice, office_code="NLA001")
    shown = OfficeLink.objects.create(
        practice=practice,
        name="Uw administratie",
        url_template="https://twinfield.example/{office_code}/{client_code}",
        audience=OfficeLink.Audience.BOTH,
    )
    kvk = OfficeLink.objects.create(
        practice=practice, name="KvK", url_template="https://kvk.example/{kvk}"
    )
    off = OfficeLink.objects.create(
        practice=practice,
        name="Off by default",
        url_template="https://example.nl/{client_code}",
        on_by_default=False,
    )
    assert {link.name: link.url for link in links.shown_links(relation, ["staff", "both"])} == {
        "Uw administratie": "https://twinfield.example/NLA001/1001",
        "KvK": "https://kvk.example/12345678",
    }
    # No KvK number: that link is hidden for the other relation.
    assert [link.name for link in links.shown_links(other, ["staff", "both"])] == [
        "Uw administratie"
    ]
    RelationLink.objects.create(link=shown, relation=relation, enabled=False)
    RelationLink.objects.create(
        link=kvk, relation=relation, url_template="https://kvk.example/alt/{kvk}"
    )
    RelationLink.objects.create(link=off, relation=relation, enabled=True)
    assert {link.name: link.url for link in links.shown_links(relation, ["staff", "both"])} == {
        "KvK": "https://kvk.example/alt/12345678",
        "Off by default": "https://example.nl/1001",
    }
    # The other relation still has the office's defaults; clients see only client links.
    assert [link.name for link in links.shown_links(other, ["client", "both"])] == [
        "Uw administratie"
    ]
