"""A fake KvK Handelsregister API on loopback: `GET /api/v1/basisprofielen/{kvkNummer}` with the
`apikey` header, answering the Basisprofiel with its embedded main establishment and owner as the
KvK documents it (developers.kvk.nl), and its errors in `fout`: 401 without or with a wrong key,
400 for a number that is not 8 digits, 404 for an unknown one. Seed with `add()`; switches:
tests/fakes/http.py."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.http import FakeServer, Reply, json_reply

PREFIX = "/api/v1/basisprofielen/"
API_KEY = "l7xx-fake-kvk-key"


def _fout(status: int, code: str, text: str) -> Reply:
    return json_reply(status, {"fout": [{"code": code, "omschrijving": text}]})


class FakeKvk(FakeServer):
    def __init__(self, api_key: str = API_KEY) -> None:
        super().__init__()
        self.api_key = api_key
        self.profiles: dict[str, dict[str, Any]] = {}
        self.keys_seen: list[str] = []

    @property
    def base_url(self) -> str:
        return self.url + "/api"

    def add(
        self,
        kvk_number: str,
        name: str,
        *,
        trade_names: tuple[str, ...] = (),
        legal_form: str = "BeslotenVennootschap",
        establishment: str = "000037178598",
        sbi: tuple[str, ...] = ("6920",),
        street: str = "Keizersgracht",
        number: int = 123,
        postcode: str = "1015CJ",
        city: str = "Amsterdam",
    ) -> None:
        self.profiles[kvk_number] = {
            "kvkNummer": kvk_number,
            "naam": name,
            "statutaireNaam": name,
            "formeleRegistratiedatum": "20200101",
            "handelsnamen": [
                {"naam": n, "volgorde": i} for i, n in enumerate(trade_names or (name,), start=1)
            ],
            "sbiActiviteiten": [
                {
                    "sbiCode": code,
                    "sbiOmschrijving": "",
                    "indHoofdactiviteit": "Ja" if i == 0 else "Nee",
                }
                for i, code in enumerate(sbi)
            ],
            "_embedded": {
                "hoofdvestiging": {
                    "vestigingsnummer": establishment,
                    "adressen": [
                        {
                            "type": "bezoekadres",
                            "straatnaam": street,
                            "huisnummer": number,
                            "postcode": postcode,
                            "plaats": city,
                            "land": "Nederland",
                        }
                    ],
                },
                "eigenaar": {"rechtsvorm": legal_form, "rsin": "123456782"},
            },
            "links": [],
        }

    def error_body(self, status: int) -> bytes:
        return b'{"fout": [{"code": "IPD9999", "omschrijving": "tijdelijk niet beschikbaar"}]}'

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any
    ) -> Reply:
        key = headers.get("apikey") or ""
        self.keys_seen.append(key)
        if key != self.api_key:
            return _fout(401, "IPD1002", "ongeldige of ontbrekende API key")
        if method != "GET" or not path.startswith(PREFIX):
            return _fout(404, "IPD0000", "onbekend pad")
        number = path.removeprefix(PREFIX)
        if not re.fullmatch(r"[0-9]{8}", number):
            return _fout(400, "IPD0004", "kvkNummer is ongeldig")
        profile = self.profiles.get(number)
        if profile is None:
            return _fout(404, "IPD0005", "geen basisprofiel gevonden")
        return json_reply(200, profile)
