"""ISO 3166-1 countries, named in the user's language.

The codes and the translated names come from pycountry (the ISO lists of Debian's iso-codes, with
their gettext catalogues); Django ships no country list of its own.
"""

from __future__ import annotations

import gettext
from functools import cache

import pycountry
from django.utils.translation import get_language

from relations.text import fold

CODES = frozenset(country.alpha_2 for country in pycountry.countries)


@cache
def _catalogue(language: str) -> gettext.NullTranslations:
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def _language() -> str:
    return (get_language() or "nl").split("-")[0]


@cache
def _names(language: str) -> dict[str, str]:
    catalogue = _catalogue(language)
    # The common name where ISO's is formal ("Bolivia", not "Bolivia, Plurinational State of").
    return {
        country.alpha_2: catalogue.gettext(getattr(country, "common_name", None) or country.name)
        for country in pycountry.countries
    }


@cache
def _choices(language: str) -> tuple[tuple[str, str], ...]:
    names = _names(language)
    return tuple(sorted(names.items(), key=lambda item: (fold(item[1]), item[1])))


def country_choices() -> tuple[tuple[str, str], ...]:
    """Every country as (code, name), sorted by name in the active language."""
    return _choices(_language())


def country_name(code: str) -> str:
    """The country's name in the active language; a code outside ISO 3166-1 as it is stored."""
    return _names(_language()).get(code, code)
