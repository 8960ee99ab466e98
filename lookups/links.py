"""Office links: URL templates with allow-listed placeholders, filled in for one relation.

Rules (a template breaking one is refused when saved, and never shown if one slipped in):

* only `https:`, `mailto:` and `tel:`, written in the template itself: a placeholder can never
  choose the scheme, nor (for https) the host, which must be literal;
* placeholders are `{client_code}`, `{kvk}`, `{btw}` and `{office_code}` (or, in Dutch,
  `{klantcode}` and `{kantoorcode}`), nothing else (no
  attribute or index access, no format spec), each value URL-encoded in full (`/`, `?`, `#`, `&`
  and `:` included), so that a value can only ever be data inside the URL;
* a link whose placeholder has no value for the relation is hidden.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from lookups.models import OfficeLink, RelationLink
from relations import extensions
from relations.models import Relation

PLACEHOLDERS = ("client_code", "kvk", "btw", "office_code")
# The Dutch names of the same placeholders (what a Dutch office reads in its help text).
ALIASES = {"klantcode": "client_code", "kantoorcode": "office_code"}
SCHEMES = ("https", "mailto", "tel")
FORBIDDEN = set("\x00\r\n\t \\\"'<>`")


@dataclass(frozen=True)
class ShownLink:
    name: str
    url: str
    audience: str


def _fields(template: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder name or None) pairs; ValueError for a malformed template."""
    parts = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            name = ALIASES.get(name, name)
            if spec or conversion or name not in PLACEHOLDERS:
                raise ValueError(name)
        parts.append((literal, name))
    return parts


def check_template(template: str) -> None:
    """ValidationError unless the template keeps the rules above."""
    if any(char in FORBIDDEN or ord(char) < 32 for char in template):
        raise ValidationError(_("A URL template cannot hold spaces, quotes or control characters."))
    try:
        parts = _fields(template)
    except ValueError as exc:
        raise ValidationError(
            _("Use only the placeholders {client_code}, {kvk}, {btw} and {office_code}.")
        ) from exc
    literal = template.split("{", 1)[0]
    scheme = urlsplit(literal).scheme.lower() if ":" in literal else ""
    if scheme not in SCHEMES:
        raise ValidationError(_("A link must start with https:, mailto: or tel:."))
    if scheme == "https":
        head = literal[len("https:") :]
        host = urlsplit(template).netloc
        if not head.startswith("//") or not host or "{" in host or "}" in host:
            raise ValidationError(_("An https link needs a host of its own, without placeholders."))
    if not parts:
        raise ValidationError(_("Enter a URL."))


def values_for(relation: Relation, office: dict[str, str] | None = None) -> dict[str, str]:
    """The placeholders' values for the relation; `office`: what the registered providers give
    for its office (relations.extensions.link_values_for), when the caller has it already."""
    values = {
        "client_code": relation.client_code,
        "kvk": relation.kvk_number,
        "btw": relation.vat_number,
    }
    values.update(extensions.link_values_for(relation) if office is None else office)
    return {name: (values.get(name) or "").strip() for name in PLACEHOLDERS}


def fill(template: str, values: dict[str, str]) -> str | None:
    """The URL for these values; None when a placeholder has no value or the rules are broken."""
    try:
        check_template(template)
        parts = _fields(template)
    except (ValidationError, ValueError):
        return None
    url = []
    for literal, name in parts:
        url.append(literal)
        if name is not None:
            value = values.get(name, "")
            if not value:
                return None
            url.append(quote(value, safe=""))
    return "".join(url)


def links_for(
    relation: Relation, audiences: Iterable[str] = ("staff", "both")
) -> list[tuple[OfficeLink, RelationLink | None, str | None]]:
    """Every office link for these audiences with the relation's override and its URL (None:
    hidden: off for the relation, or a placeholder without a value)."""
    return links_for_many([relation], audiences)[relation.pk]


def links_for_many(
    relations: Sequence[Relation], audiences: Iterable[str]
) -> dict[int, list[tuple[OfficeLink, RelationLink | None, str | None]]]:
    """`links_for` of several relations of one office, in a fixed number of queries: one when the
    office has no links, three when it has."""
    rows: dict[int, list[tuple[OfficeLink, RelationLink | None, str | None]]] = {
        r.pk: [] for r in relations
    }
    if not relations:
        return rows
    practice_ids = {r.practice_id for r in relations}
    assert len(practice_ids) == 1, "links of one office at a time"
    links = list(
        OfficeLink.objects.filter(practice_id__in=practice_ids, audience__in=list(audiences))
    )
    if not links:
        return rows
    overrides = {
        (o.relation_id, o.link_id): o
        for o in RelationLink.objects.filter(relation__in=list(relations), link__in=links)
    }
    office = extensions.link_values_for(relations[0])  # the office's values: the same for all
    for relation in relations:
        values = values_for(relation, office)
        for link in links:
            override = overrides.get((relation.pk, link.pk))
            shown = override.enabled if override is not None else link.on_by_default
            template = (override.url_template if override else "") or link.url_template
            rows[relation.pk].append((link, override, fill(template, values) if shown else None))
    return rows


def shown_links(relation: Relation, audiences: Iterable[str]) -> list[ShownLink]:
    return shown_links_many([relation], audiences)[relation.pk]


def shown_links_many(
    relations: Sequence[Relation], audiences: Iterable[str]
) -> dict[int, list[ShownLink]]:
    return {
        pk: [ShownLink(link.name, url, link.audience) for link, _o, url in rows if url]
        for pk, rows in links_for_many(relations, audiences).items()
    }
