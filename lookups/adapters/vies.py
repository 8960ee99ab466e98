"""VIES, the European Commission's VAT number check, through its REST API.

`POST {base}/check-vat-number` with `{"countryCode": "NL", "vatNumber": "123456789B01"}` (the number
without its country prefix) answers 200 with::

    {"countryCode": "NL", "vatNumber": "123456789B01", "requestDate": "2025-01-31T10:00:00.000Z",
     "valid": true, "requestIdentifier": "", "name": "EXAMPLE B.V.", "address": "STRAAT 1\\n1234AB ...",
     "traderName": "---", ...}

A member state that does not disclose names answers "---". When VIES cannot answer it says so in
an error wrapper (HTTP 500 or 400): `{"actionSucceed": false, "errorWrappers": [{"error":
"MS_UNAVAILABLE", "message": "..."}]}`; `INVALID_INPUT` is a refusal of the question, every other
error (MS_UNAVAILABLE, MS_MAX_CONCURRENT_REQ, GLOBAL_MAX_CONCURRENT_REQ, SERVICE_UNAVAILABLE,
TIMEOUT) a register of the moment that could not answer.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import requests

from lookups.adapters.base import (
    MAX_REPLY_BYTES,
    TIMEOUT,
    LookupRejected,
    LookupUnavailable,
    VatCheck,
    request_json,
)

DEFAULT_URL = "https://ec.europa.eu/taxation_customs/vies/rest-api"
# The member states (and Northern Ireland) VIES knows; Greece is EL in VIES.
_EU = "AT BE BG CY CZ DE DK EE EL ES FI FR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK XI"
COUNTRIES = frozenset(_EU.split(" "))
REFUSALS = frozenset({"INVALID_INPUT", "INVALID_REQUESTER_INFO", "VAT_BLOCKED", "IP_BLOCKED"})
NUMBER = re.compile(r"^[0-9A-Z+*]{2,12}$")


def split_vat(vat_id: str) -> tuple[str, str]:
    """("NL", "123456789B01") from "NL 1234.56.789.B01"; GR is EL in VIES."""
    text = re.sub(r"[\s.\-]+", "", vat_id or "").upper()
    country, number = text[:2], text[2:]
    return ("EL" if country == "GR" else country), number


def _clean(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return "" if value in {"---", "--", "-"} else value[:500]


class ViesAdapter:
    name = "VIES"

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

    def check(self, country: str, number: str) -> VatCheck:
        if country not in COUNTRIES or not NUMBER.match(number):
            raise LookupRejected("not a VAT number VIES knows")
        status, data = request_json(
            self.session,
            "POST",
            f"{self.base_url}/check-vat-number",
            timeout=self.timeout,
            max_bytes=self.max_bytes,
            json={"countryCode": country, "vatNumber": number},
        )
        if not isinstance(data, dict):
            raise LookupUnavailable(f"HTTP {status}: not VIES's answer")
        if status != 200 or data.get("actionSucceed") is False:
            errors = data.get("errorWrappers") or []
            codes = {e.get("error") for e in errors if isinstance(e, dict)}
            if codes & REFUSALS:
                raise LookupRejected(", ".join(sorted(str(c) for c in codes)))
            raise LookupUnavailable(f"HTTP {status}: {sorted(str(c) for c in codes)}")
        valid = data.get("valid")
        if not isinstance(valid, bool):
            raise LookupUnavailable("an answer without `valid`")
        return VatCheck(
            country=country,
            number=number,
            valid=valid,
            name=_clean(data.get("name")),
            address=_clean(data.get("address")),
            requested_at=_date(data.get("requestDate")),
            reference=_clean(data.get("requestIdentifier"))[:64],
            data={k: data.get(k) for k in ("countryCode", "vatNumber", "requestDate", "valid")},
        )


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
