"""Dutch identifiers and bank details: the one place that says what is valid and how a refusal reads.

Each `validate_*` takes what a person typed or a ledger holds and returns the value as Kring stores
it (compact, normalised), or raises `ValidationError` with the message the edit forms show. The
forms (relations.forms) and the ledger import (sync.importer) both call these, so a value the form
refuses is refused by the import with the same words (the import then leaves it out or keeps it
flagged for review, as sync.importer describes, rather than refusing the whole debtor).
"""

from __future__ import annotations

import re
import unicodedata

import schwifty
import schwifty.exceptions
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat
from stdnum.nl import bsn, postcode


def digits(value: str) -> str:
    """Separators dropped; full-width digits (typed with an East Asian input method) made 0-9."""
    return re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", value or ""))


def ascii_digits(count: str, value: str) -> bool:
    """`count` digits 0-9, as "8" or "2,6". Not \\d: it also matches Arabic-Indic and full-width
    digits, which the ledger and the duplicate check (by KvK number) would take for other numbers."""
    return re.fullmatch(rf"[0-9]{{{count}}}", value) is not None


def _digits_only(raw: str, count: str, message: str) -> str:
    value = digits(raw)
    if value and not ascii_digits(count, value):
        raise ValidationError(message)
    return value


def validate_kvk_number(raw: str) -> str:
    """A KvK number: 8 digits, typed with or without separators."""
    return _digits_only(raw, "8", _("A KvK number has exactly 8 digits."))


def validate_establishment_number(raw: str) -> str:
    return _digits_only(raw, "12", _("An establishment number has exactly 12 digits."))


def validate_sbi_code(raw: str) -> str:
    return _digits_only(raw, "2,6", _("An SBI code has 2 to 6 digits."))


def _elfproef_reason(exc: Exception) -> str:
    if isinstance(exc, stdnum_errors.InvalidLength):
        return _("it must have 9 digits")
    if isinstance(exc, stdnum_errors.InvalidFormat):
        return _("it may contain digits only")
    return _("the check digit does not match (eleven-test)")


def validate_elfproef(value: str, label: str) -> str:
    """BSN and RSIN share the eleven-test; stdnum's BSN check applies to both."""
    try:
        return bsn.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(
            _("This is not a valid %(label)s: %(reason)s")
            % {"label": label, "reason": _elfproef_reason(exc)}
        ) from exc


def validate_bsn(raw: str) -> str:
    value = digits(raw)
    return validate_elfproef(value, "BSN") if value else ""


def validate_rsin(raw: str) -> str:
    value = digits(raw)
    return validate_elfproef(value, "RSIN") if value else ""


def validate_vat_number(raw: str) -> str:
    """The btw-id (any EU VAT number) with its check digits: compact, NL added to bare digits."""
    value = (raw or "").strip().upper().replace(" ", "").replace(".", "")
    if not value:
        return ""
    if value[:2].isdigit():
        value = "NL" + value
    try:
        return vat.validate(value)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("This is not a valid VAT number (e.g. NL123456789B01).")) from exc


def validate_dutch_postcode(raw: str) -> str:
    """A Dutch postcode as Kring stores it ("1234 AB")."""
    code = (raw or "").strip()
    if not code:
        raise ValidationError(_("A Dutch address needs a postcode."))
    try:
        return postcode.validate(code)
    except stdnum_errors.ValidationError as exc:
        raise ValidationError(_("A Dutch postcode looks like 1234 AB.")) from exc


def parse_iban(raw: str) -> schwifty.IBAN:
    """The IBAN (schwifty's, which also knows the bank's BIC and name), checksum and all."""
    try:
        return schwifty.IBAN(raw or "")
    except (schwifty.exceptions.SchwiftyException, ValueError) as exc:
        raise ValidationError(_("This is not a valid IBAN.")) from exc


def validate_iban(raw: str) -> str:
    """An IBAN, compact ("NL91ABNA0417164300")."""
    return parse_iban(raw).compact


def validate_bic(raw: str) -> str:
    """A BIC, compact and upper case; "" stays "" (a BIC is optional)."""
    value = (raw or "").strip().upper().replace(" ", "")
    if not value:
        return ""
    try:
        return schwifty.BIC(value).compact
    except (schwifty.exceptions.SchwiftyException, ValueError) as exc:
        raise ValidationError(_("This is not a valid BIC.")) from exc
