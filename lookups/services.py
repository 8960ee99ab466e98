"""Look-ups for a practice: its configured adapter, the cache of answers, the VAT check.

Every answer is stored (LookupResult) with its date. An address answer is reused for
`ADDRESS_FRESH` (the BAG changes slowly, and the same postcode is asked again and again); a VAT
check is stored as the record of what VIES said on that date and shown until it is checked again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.utils import timezone

from lookups.adapters.base import (
    AddressAdapter,
    FoundAddress,
    LookupRejected,
    LookupUnavailable,
    VatAdapter,
)
from lookups.adapters.kvk import KvkAdapter, KvkProfile
from lookups.adapters.pdok import PdokAddressAdapter, normal_postcode
from lookups.adapters.vies import ViesAdapter, split_vat
from lookups.models import LookupResult, LookupSettings
from relations import extensions
from relations.models import Relation

log = logging.getLogger(__name__)

VAT_TASK = "lookups.check_vat"
ADDRESS_FRESH = timedelta(days=30)

Kind = LookupResult.Kind
Status = LookupResult.Status


def settings_for(practice_id: int) -> LookupSettings | None:
    return LookupSettings.objects.filter(practice_id=practice_id).first()


def address_adapter(practice_id: int) -> AddressAdapter | None:
    found = settings_for(practice_id)
    if found is None or found.address_provider != LookupSettings.AddressProvider.PDOK:
        return None
    return PdokAddressAdapter(found.address_url)


def vat_adapter(practice_id: int) -> VatAdapter | None:
    found = settings_for(practice_id)
    if found is None or found.vat_provider != LookupSettings.VatProvider.VIES:
        return None
    return ViesAdapter(found.vat_url)


def _address_key(postcode: str, number: str, addition: str) -> str:
    return "|".join((normal_postcode(postcode), number.strip(), addition.strip().upper()))[:64]


def find_address(
    practice_id: int, postcode: str, number: str, addition: str = ""
) -> FoundAddress | None:
    """The address at postcode + number, from the cache while fresh, else from the register.
    Raises LookupUnavailable (the register could not answer) or LookupRejected (bad question)."""
    adapter = address_adapter(practice_id)
    if adapter is None:
        raise LookupUnavailable("no address look-up configured")
    key = _address_key(postcode, number, addition)
    cached = LookupResult.objects.filter(
        practice_id=practice_id, kind=Kind.ADDRESS, key=key
    ).first()
    if cached is not None and cached.checked_at >= timezone.now() - ADDRESS_FRESH:
        if cached.status == Status.FOUND:
            return FoundAddress(**cached.data)
        if cached.status == Status.NOT_FOUND:
            return None
    try:
        found = adapter.find(postcode, number, addition)
    except LookupUnavailable as exc:
        log.warning("address look-up not available: %s", exc.message)
        raise
    LookupResult.objects.update_or_create(
        practice_id=practice_id,
        kind=Kind.ADDRESS,
        key=key,
        defaults={
            "provider": "pdok",
            "status": Status.FOUND if found else Status.NOT_FOUND,
            "data": vars(found) if found else {},
            "checked_at": timezone.now(),
        },
    )
    return found


# --- the address form's finder (relations.extensions) ------------------------------------------


def _finder_enabled(practice_id: int) -> bool:
    return address_adapter(practice_id) is not None


def _finder_find(
    practice_id: int, postcode: str, number: str, addition: str
) -> extensions.AddressProposal | None:
    try:
        found = find_address(practice_id, postcode, number, addition)
    except LookupRejected as exc:
        raise extensions.LookupFailed(exc.message, refused=True) from exc
    except LookupUnavailable as exc:
        raise extensions.LookupFailed(exc.message) from exc
    if found is None:
        return None
    return extensions.AddressProposal(
        street=found.street, city=found.city, source=PdokAddressAdapter.name
    )


ADDRESS_FINDER = extensions.AddressFinder(enabled=_finder_enabled, find=_finder_find)


# --- VAT numbers ----------------------------------------------------------------------------------


def vat_key(vat_number: str) -> str:
    country, number = split_vat(vat_number)
    return f"{country}{number}"[:64]


def vat_result(relation: Relation) -> LookupResult | None:
    if not relation.vat_number:
        return None
    return LookupResult.objects.filter(
        practice_id=relation.practice_id, kind=Kind.VAT, key=vat_key(relation.vat_number)
    ).first()


def check_vat(relation: Relation) -> LookupResult | None:
    """Ask the register about the relation's VAT number now and store its answer with the date;
    a register that cannot answer is stored as such (shown "not available"). None: nothing to ask."""
    adapter = vat_adapter(relation.practice_id)
    if adapter is None or not relation.vat_number:
        return None
    country, number = split_vat(relation.vat_number)
    defaults: dict[str, object] = {"provider": "vies", "checked_at": timezone.now()}
    try:
        answer = adapter.check(country, number)
    except LookupRejected as exc:
        defaults |= {"status": Status.NOT_FOUND, "data": {"refused": True, "valid": False}}
        log.info("VIES refused %s: %s", country, exc.message)
    except LookupUnavailable as exc:
        defaults |= {"status": Status.UNAVAILABLE, "data": {}}
        log.warning("VIES not available: %s", exc.message)
    else:
        defaults |= {
            "status": Status.FOUND if answer.valid else Status.NOT_FOUND,
            "data": {
                "valid": answer.valid,
                "name": answer.name,
                "address": answer.address,
                "reference": answer.reference,
                "requested_at": answer.requested_at.isoformat() if answer.requested_at else "",
            },
        }
    result, _created = LookupResult.objects.update_or_create(
        practice_id=relation.practice_id,
        kind=Kind.VAT,
        key=vat_key(relation.vat_number),
        defaults=defaults,
    )
    return result


def queue_vat_check(relation: Relation) -> bool:
    """Send the check to a worker by the task's name (run at once without a broker); False when
    the broker could not take it."""
    try:
        current_app.signature(VAT_TASK, args=[relation.pk]).apply_async(retry=False)
    except Exception:
        log.exception("VAT check for relation %s not queued", relation.pk)
        return False
    return True


# --- KvK: the company form's "Fetch from KvK" (relations.extensions.CompanyFinder) ----------------

KVK_FRESH = timedelta(days=1)
LEGAL_FORMS = {
    "BeslotenVennootschap": "bv",
    "NaamlozeVennootschap": "nv",
    "Eenmanszaak": "eenmanszaak",
    "VennootschapOnderFirma": "vof",
    "Maatschap": "maatschap",
    "CommanditaireVennootschap": "cv",
    "Stichting": "stichting",
    "Vereniging": "vereniging",
    "Cooperatie": "cooperatie",
    "Coöperatie": "cooperatie",
}


def kvk_adapter(practice_id: int) -> KvkAdapter | None:
    found = settings_for(practice_id)
    key = found.kvk_api_key if found is not None else ""
    return KvkAdapter(key, found.kvk_url) if found is not None and key else None


def _form_values(profile: KvkProfile) -> dict[str, str]:
    values = {
        "legal_name": profile.legal_name,
        "trade_name": next((n for n in profile.trade_names if n != profile.legal_name), ""),
        "legal_form": LEGAL_FORMS.get(profile.legal_form, "other" if profile.legal_form else ""),
        "kvk_number": profile.kvk_number,
        "establishment_number": profile.establishment_number,
        "rsin": profile.rsin,
        "sbi_code": profile.sbi_codes[0] if profile.sbi_codes else "",
    }
    return {name: value for name, value in values.items() if value}


def find_company(practice_id: int, kvk_number: str) -> dict[str, str] | None:
    """The relation form's fields as the KvK holds them (cached a day, with its date)."""
    adapter = kvk_adapter(practice_id)
    if adapter is None:
        raise LookupUnavailable("no KvK look-up configured")
    key = "".join(kvk_number.split())[:64]
    cached = LookupResult.objects.filter(practice_id=practice_id, kind=Kind.KVK, key=key).first()
    if cached is not None and cached.checked_at >= timezone.now() - KVK_FRESH:
        return dict(cached.data) if cached.status == Status.FOUND else None
    profile = adapter.profile(kvk_number)
    values = _form_values(profile) if profile else {}
    LookupResult.objects.update_or_create(
        practice_id=practice_id,
        kind=Kind.KVK,
        key=key,
        defaults={
            "provider": "kvk",
            "status": Status.FOUND if profile else Status.NOT_FOUND,
            "data": values,
            "checked_at": timezone.now(),
        },
    )
    return values if profile else None


def _company_find(practice_id: int, kvk_number: str) -> dict[str, str] | None:
    try:
        return find_company(practice_id, kvk_number)
    except LookupRejected as exc:
        raise extensions.LookupFailed(exc.message, refused=True) from exc
    except LookupUnavailable as exc:
        raise extensions.LookupFailed(exc.message) from exc


COMPANY_FINDER = extensions.CompanyFinder(
    enabled=lambda practice_id: kvk_adapter(practice_id) is not None,
    find=_company_find,
    source=KvkAdapter.name,
)
