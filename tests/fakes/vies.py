"""A fake VIES REST API on loopback: `POST /check-vat-number` as the European Commission documents
it, for the VAT check's tests.

Known numbers are in `numbers` ("NL123456789B01" → name and address; seed with `add()`); any other
well-formed number is answered `valid: false`. A malformed question is refused with HTTP 400 and
an `INVALID_INPUT` error wrapper; `unavailable_next(error)` answers a member state's trouble
(`MS_UNAVAILABLE`, `MS_MAX_CONCURRENT_REQ`, ...) as VIES does, in an error wrapper. Other switches:
tests/fakes/http.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from tests.fakes.http import FakeServer, Reply, json_reply

PATH = "/taxation_customs/vies/rest-api/check-vat-number"
NUMBER = re.compile(r"^[0-9A-Z+*]{2,12}$")


def _wrapper(error: str, status: int) -> Reply:
    return json_reply(
        status, {"actionSucceed": False, "errorWrappers": [{"error": error, "message": error}]}
    )


class FakeVies(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.numbers: dict[str, dict[str, str]] = {}
        self._errors: list[str] = []

    @property
    def base_url(self) -> str:
        return self.url + PATH.removesuffix("/check-vat-number")

    def add(self, vat_id: str, name: str, address: str) -> None:
        self.numbers[vat_id] = {"name": name, "address": address}

    def unavailable_next(self, error: str = "MS_UNAVAILABLE") -> None:
        self._errors.append(error)

    def error_body(self, status: int) -> bytes:
        return json.dumps(
            {"actionSucceed": False, "errorWrappers": [{"error": "SERVICE_UNAVAILABLE"}]}
        ).encode()

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes, headers: Any
    ) -> Reply:
        if path != PATH or method != "POST":
            return json_reply(404, {"actionSucceed": False})
        if self._errors:
            return _wrapper(self._errors.pop(0), 200)
        try:
            question = json.loads(body)
            country, number = question["countryCode"], question["vatNumber"]
        except (ValueError, KeyError, TypeError):
            return _wrapper("INVALID_INPUT", 400)
        if not isinstance(country, str) or not isinstance(number, str) or not NUMBER.match(number):
            return _wrapper("INVALID_INPUT", 400)
        known = self.numbers.get(country + number)
        return json_reply(
            200,
            {
                "countryCode": country,
                "vatNumber": number,
                "requestDate": datetime.now(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "valid": known is not None,
                "requestIdentifier": "",
                "name": known["name"] if known else "---",
                "address": known["address"] if known else "---",
                "traderName": "---",
                "traderStreet": "---",
                "traderPostalCode": "---",
                "traderCity": "---",
                "traderCompanyType": "---",
                "traderNameMatch": "NOT_PROCESSED",
                "traderStreetMatch": "NOT_PROCESSED",
                "traderPostalCodeMatch": "NOT_PROCESSED",
                "traderCityMatch": "NOT_PROCESSED",
                "traderCompanyTypeMatch": "NOT_PROCESSED",
            },
        )
