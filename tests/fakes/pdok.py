"""A fake PDOK Locatieserver (search v3_1) on loopback: the `free` endpoint as documented
(https://api.pdok.nl/bzk/locatieserver/search/v3_1/ui/), for the address look-up's tests.

It answers Solr's envelope (`response.numFound/start/maxScore/numFoundExact/docs`), refuses a query
parameter outside the OpenAPI specification with 400 (as 3.1 does), understands the field query
the adapter sends (`postcode:1015CJ AND huisnummer:123`, `fq=type:adres`, `fl`, `rows`) and keeps
its addresses in `addresses` (seed with `add()`). Switches: tests/fakes/http.py.
"""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.http import FakeServer, Reply, json_reply

PATH = "/bzk/locatieserver/search/v3_1/free"
ALLOWED = {"q", "fq", "fl", "rows", "start", "sort", "df", "bq", "lat", "lon", "wt", "indent"}
QUERY = re.compile(r"^postcode:(?P<postcode>\S+) AND huisnummer:(?P<number>\d+)$")


class FakePdok(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.addresses: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return self.url + PATH.removesuffix("/free")

    def add(
        self,
        postcode: str,
        number: int,
        street: str,
        city: str,
        *,
        letter: str = "",
        addition: str = "",
        municipality: str = "",
    ) -> None:
        doc: dict[str, Any] = {
            "type": "adres",
            "id": f"adr-{len(self.addresses)}",
            "straatnaam": street,
            "huisnummer": number,
            "postcode": postcode,
            "woonplaatsnaam": city,
            "gemeentenaam": municipality or city,
            "weergavenaam": f"{street} {number}{letter}, {postcode} {city}",
        }
        if letter:
            doc["huisletter"] = letter
        if addition:
            doc["huisnummertoevoeging"] = addition
        self.addresses.append(doc)

    def error_body(self, status: int) -> bytes:
        return b'{"type":"about:blank","title":"error","status":%d}' % status

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any
    ) -> Reply:
        if path != PATH or method != "GET":
            return json_reply(404, {"title": "Not Found", "status": 404})
        unknown = set(query) - ALLOWED
        if unknown:
            return json_reply(
                400, {"title": "Bad Request", "status": 400, "detail": f"unknown {sorted(unknown)}"}
            )
        found = QUERY.match((query.get("q") or [""])[0])
        docs = []
        if found:
            docs = [
                d
                for d in self.addresses
                if d["postcode"] == found["postcode"] and d["huisnummer"] == int(found["number"])
            ]
        if (query.get("fq") or [""])[0] not in ("", "type:adres"):
            docs = []
        fields = [f for f in (query.get("fl") or [""])[0].split(",") if f]
        if fields:
            docs = [{k: v for k, v in d.items() if k in fields} for d in docs]
        rows = int((query.get("rows") or ["10"])[0])
        return json_reply(
            200,
            {
                "response": {
                    "numFound": len(docs),
                    "start": 0,
                    "maxScore": 10.0 if docs else 0.0,
                    "numFoundExact": True,
                    "docs": docs[:rows],
                }
            },
        )
