from __future__ import annotations

from collections.abc import Iterator

import pytest

from lookups.models import LookupSettings
from tests.fakes.pdok import FakePdok
from tests.fakes.vies import FakeVies


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def pdok() -> Iterator[FakePdok]:
    with FakePdok() as fake:
        fake.add("1015CJ", 123, "Keizersgracht", "Amsterdam")
        yield fake


@pytest.fixture
def vies() -> Iterator[FakeVies]:
    with FakeVies() as fake:
        fake.add("NL123456789B01", "VOORBEELD B.V.", "KEIZERSGRACHT 00123\n1015CJ AMSTERDAM")
        yield fake


@pytest.fixture
def lookups_on(practice, pdok, vies) -> LookupSettings:
    return LookupSettings.objects.create(
        practice=practice,
        address_provider=LookupSettings.AddressProvider.PDOK,
        address_url=pdok.base_url,
        vat_provider=LookupSettings.VatProvider.VIES,
        vat_url=vies.base_url,
    )
