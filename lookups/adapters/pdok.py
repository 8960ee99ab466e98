"""PDOK Locatieserver (the Dutch government's geocoder over the BAG): postcode + number → address.

Public, no key. The `free` endpoint of version 3.1 (https://api.pdok.nl/bzk/locatieserver/search/
v3_1/ui/, and the wiki of github.com/PDOK/locatieserver): a Solr query in `q`, filters in `fq`,
the fields wanted in `fl`; since 3.1 a parameter outside the OpenAPI specification is refused.
The answer is Solr's envelope::

    {"response": {"numFound": 1, "start": 0, "maxScore": 9.1, "numFoundExact": true,
                  "docs": [{"type": "adres", "straatnaam": "Keizersgracht", "huisnummer": 123,
                            "huisletter": "A", "huisnummertoevoeging": "2", "postcode": "1015CJ",
                            "woonplaatsnaam": "Amsterdam", "gemeentenaam": "Amsterdam", ...}]}}
"""

from __future__ import annotations

import re
from typing import Any

import requests

from lookups.adapters.base import (
    MAX_REPLY_BYTES,
    TIMEOUT,
    FoundAddress,
    LookupRejected,
    LookupUnavailable,
    request_json,
)

DEFAULT_URL = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
FIELDS = "type,straatnaam,huisnummer,huisletter,huisnummertoevoeging,postcode,woonplaatsnaam,gemeentenaam"
ROWS = 20  # one postcode and number: a handful of letters and additions at most

POSTCODE = re.compile(r"^[1-9][0-9]{3}[A-Z]{2}$")
NUMBER = re.compile(r"^[0-9]{1,5}$")


def normal_postcode(postcode: str) -> str:
    return re.sub(r"\s+", "", postcode or "").upper()


class PdokAddressAdapter:
    name = "PDOK Locatieserver"

    def __init__(
        self,
        base_url: str = "",
        *,
        timeout: tuple[float, float] = TIMEOUT,
        max_bytes: int = MAX_REPLY_BYTES,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = (base_url or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()

    def find(self, postcode: str, house_number: str, addition: str = "") -> FoundAddress | None:
        code = normal_postcode(postcode)
        number = (house_number or "").strip()
        if not POSTCODE.match(code) or not NUMBER.match(number):
            raise LookupRejected("not a Dutch postcode and house number")
        status, data = request_json(
            self.session,
            "GET",
            f"{self.base_url}/free",
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            params={
                "q": f"postcode:{code} AND huisnummer:{int(number)}",
                "fq": "type:adres",
                "fl": FIELDS,
                "rows": str(ROWS),
            },
        )
        if status != 200:
            raise LookupRejected(f"HTTP {status}")
        docs = _docs(data)
        matching = [
            d
            for d in docs
            if _str(d, "postcode") == code and _str(d, "huisnummer") == str(int(number))
        ]
        if not matching:
            return None
        wanted = re.sub(r"[\s-]+", "", addition or "").upper()
        exact = [d for d in matching if _addition(d) == wanted]
        doc = (exact or matching)[0]
        street, city = _str(doc, "straatnaam"), _str(doc, "woonplaatsnaam")
        if not street or not city:
            raise LookupUnavailable("an address without street or city")
        return FoundAddress(
            street=street,
            city=city,
            postcode=code,
            house_number=str(int(number)),
            addition=_addition(doc),
            municipality=_str(doc, "gemeentenaam"),
        )


def _docs(data: Any) -> list[dict[str, Any]]:
    response = data.get("response") if isinstance(data, dict) else None
    docs = response.get("docs") if isinstance(response, dict) else None
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        raise LookupUnavailable("not the Locatieserver's answer")
    return [d for d in docs if d.get("type", "adres") == "adres"]


def _str(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()[:200]


def _addition(doc: dict[str, Any]) -> str:
    return (_str(doc, "huisletter") + _str(doc, "huisnummertoevoeging")).upper()
