"""The KvK Handelsregister API (developers.kvk.nl): Basisprofiel by KvK number, with an API key.

`GET {base}/v1/basisprofielen/{kvkNummer}` (8 digits) with the key in the `apikey` header answers
the profile; its `_embedded` holds the `hoofdvestiging` (establishment number, addresses) and the
`eigenaar` (legal form, RSIN)::

    {"kvkNummer": "68750110", "naam": "Test BV Donald", "statutaireNaam": "Test BV Donald",
     "handelsnamen": [{"naam": "Test BV Donald", "volgorde": 1}],
     "sbiActiviteiten": [{"sbiCode": "6420", "sbiOmschrijving": "...", "indHoofdactiviteit": "Ja"}],
     "_embedded": {"hoofdvestiging": {"vestigingsnummer": "000037178598",
                                      "adressen": [{"type": "bezoekadres", "straatnaam": "...",
                                                    "huisnummer": 1, "postcode": "...", "plaats": "..."}]},
                   "eigenaar": {"rechtsvorm": "BeslotenVennootschap", "rsin": "..."}}}

Errors come as `{"fout": [{"code": "IPD0005", "omschrijving": "..."}]}`: 404 for an unknown number,
400 for a malformed one, 401/403 for a missing or refused key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests

from lookups.adapters.base import (
    MAX_REPLY_BYTES,
    TIMEOUT,
    LookupRejected,
    LookupUnavailable,
    request_json,
)

DEFAULT_URL = "https://api.kvk.nl/api"
KVK_NUMBER = re.compile(r"^[0-9]{8}$")


@dataclass(frozen=True)
class KvkAddress:
    type: str  # "bezoekadres" | "postadres"
    street: str
    house_number: str
    addition: str
    postcode: str
    city: str
    country: str


@dataclass(frozen=True)
class KvkProfile:
    kvk_number: str
    legal_name: str
    trade_names: tuple[str, ...]
    legal_form: str  # the KvK's word, e.g. "BeslotenVennootschap"
    rsin: str
    establishment_number: str
    sbi_codes: tuple[str, ...]  # the main activity first
    addresses: tuple[KvkAddress, ...] = field(default=())


def _s(value: Any, limit: int = 200) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()[:limit]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class KvkAdapter:
    name = "KvK"

    def __init__(
        self,
        api_key: str,
        base_url: str = "",
        *,
        timeout: tuple[float, float] = TIMEOUT,
        max_bytes: int = MAX_REPLY_BYTES,
        session: requests.Session | None = None,
    ) -> None:
        self.api_key = api_key
        self.base_url = (base_url or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.session = session or requests.Session()

    def profile(self, kvk_number: str) -> KvkProfile | None:
        """The company's basisprofiel; None when the KvK knows no such number."""
        number = re.sub(r"[\s.]+", "", kvk_number or "")
        if not KVK_NUMBER.match(number):
            raise LookupRejected("a KvK number has 8 digits")
        status, data = request_json(
            self.session,
            "GET",
            f"{self.base_url}/v1/basisprofielen/{number}",
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            headers={"apikey": self.api_key},
        )
        if status == 404:
            return None
        if status in (401, 403):
            raise LookupUnavailable(f"HTTP {status}: the API key was refused")
        if status != 200:
            codes = [_s(f.get("code")) for f in _list(_dict(data).get("fout"))]
            raise LookupRejected(f"HTTP {status}: {codes}")
        if not isinstance(data, dict) or _s(data.get("kvkNummer")) != number:
            raise LookupUnavailable("not the KvK's answer")
        embedded = _dict(data.get("_embedded"))
        main = _dict(embedded.get("hoofdvestiging"))
        owner = _dict(embedded.get("eigenaar"))
        activities = _list(data.get("sbiActiviteiten"))
        activities.sort(key=lambda a: a.get("indHoofdactiviteit") != "Ja")
        names = sorted(
            _list(data.get("handelsnamen")), key=lambda n: _s(n.get("volgorde")).zfill(4)
        )
        return KvkProfile(
            kvk_number=number,
            legal_name=_s(data.get("statutaireNaam")) or _s(data.get("naam")),
            trade_names=tuple(n for n in (_s(h.get("naam")) for h in names) if n),
            legal_form=_s(owner.get("rechtsvorm")),
            rsin=_s(owner.get("rsin"), 9),
            establishment_number=_s(main.get("vestigingsnummer"), 12),
            sbi_codes=tuple(c for c in (_s(a.get("sbiCode"), 6) for a in activities) if c),
            addresses=tuple(
                KvkAddress(
                    type=_s(a.get("type"), 20),
                    street=_s(a.get("straatnaam")),
                    house_number=_s(a.get("huisnummer"), 10),
                    addition=(_s(a.get("huisletter"), 5) + _s(a.get("huisnummerToevoeging"), 5)),
                    postcode=_s(a.get("postcode"), 12),
                    city=_s(a.get("plaats")),
                    country=_s(
                        _dict(a.get("land")).get("code")
                        if isinstance(a.get("land"), dict)
                        else a.get("land"),
                        40,
                    ),
                )
                for a in _list(main.get("adressen"))
            ),
        )
