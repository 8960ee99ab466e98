"""The look-up adapters against our fakes of the registers, on loopback: the documented answers,
and every way a register fails (429, 503, slowness, too much, not its format)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lookups.adapters.base import LookupRejected, LookupUnavailable
from lookups.adapters.kvk import KvkAdapter
from lookups.adapters.pdok import PdokAddressAdapter
from lookups.adapters.vies import ViesAdapter, split_vat
from tests.fakes.kvk import API_KEY, FakeKvk
from tests.fakes.pdok import FakePdok
from tests.fakes.vies import FakeVies


@pytest.fixture
def pdok(pdok: FakePdok) -> FakePdok:
    pdok.add("1015CJ", 123, "Keizersgracht", "Amsterdam", letter="A")
    return pdok


def test_pdok_finds_the_street_and_city(pdok: FakePdok) -> None:
    adapter = PdokAddressAdapter(pdok.base_url)
    found = adapter.find("1015 cj", "123")
    assert found is not None
    assert (found.street, found.city, found.postcode, found.addition) == (
        "Keizersgracht",
        "Amsterdam",
        "1015CJ",
        "",
    )
    assert adapter.find("1015CJ", "123", "a").addition == "A"  # type: ignore[union-attr]
    # What it asked: the documented parameters only (3.1 refuses any other).
    _method, path, query, _body = pdok.seen[0]
    assert path.endswith("/v3_1/free")
    assert query["q"] == ["postcode:1015CJ AND huisnummer:123"]
    assert query["fq"] == ["type:adres"]


def test_pdok_unknown_address_is_none(pdok: FakePdok) -> None:
    assert PdokAddressAdapter(pdok.base_url).find("9999ZZ", "1") is None


def test_pdok_refuses_what_is_no_dutch_postcode_without_asking(pdok: FakePdok) -> None:
    with pytest.raises(LookupRejected):
        PdokAddressAdapter(pdok.base_url).find("ABC", "1")
    with pytest.raises(LookupRejected):
        PdokAddressAdapter(pdok.base_url).find("1015CJ", "12a")
    assert not pdok.seen


@pytest.mark.parametrize("status", [429, 503, 500])
def test_pdok_rate_limit_and_server_errors_are_unavailable(pdok: FakePdok, status: int) -> None:
    pdok.fail_next(status=status, retry_after=7)
    with pytest.raises(LookupUnavailable) as caught:
        PdokAddressAdapter(pdok.base_url).find("1015CJ", "123")
    assert caught.value.retry_after == 7
    # The next question is answered again: nothing is remembered of a failure.
    assert PdokAddressAdapter(pdok.base_url).find("1015CJ", "123") is not None


def test_pdok_slow_reply_times_out(pdok: FakePdok) -> None:
    release = pdok.hold_next()
    try:
        with pytest.raises(LookupUnavailable, match=r"timeout|cut off"):
            PdokAddressAdapter(pdok.base_url, timeout=(1.0, 0.3)).find("1015CJ", "123")
    finally:
        release.set()


def test_pdok_oversize_reply_is_cut_off(pdok: FakePdok) -> None:
    pdok.oversize_next(10_000)
    with pytest.raises(LookupUnavailable, match="cap"):
        PdokAddressAdapter(pdok.base_url, max_bytes=4096).find("1015CJ", "123")


@pytest.mark.parametrize(
    "body", [b"<html>maintenance</html>", b'{"response": {"docs": "no"}}', b"[]", b'{"docs": []}']
)
def test_pdok_malformed_reply_is_unavailable(pdok: FakePdok, body: bytes) -> None:
    pdok.raw_next(body)
    with pytest.raises(LookupUnavailable):
        PdokAddressAdapter(pdok.base_url).find("1015CJ", "123")


def test_pdok_no_server_is_unavailable() -> None:
    with FakePdok() as fake:
        url = fake.base_url
    with pytest.raises(LookupUnavailable):
        PdokAddressAdapter(url, timeout=(0.5, 0.5)).find("1015CJ", "123")


def test_split_vat() -> None:
    assert split_vat("nl 1234.56.789.B01") == ("NL", "123456789B01")
    assert split_vat("GR123456789") == ("EL", "123456789")


def test_vies_valid_number_with_name_address_and_date(vies: FakeVies) -> None:
    answer = ViesAdapter(vies.base_url).check("NL", "123456789B01")
    assert answer.valid
    assert answer.name == "VOORBEELD B.V."
    assert "1015CJ" in answer.address
    assert answer.requested_at is not None
    _method, path, _query, body = vies.seen[0]
    assert path.endswith("/vies/rest-api/check-vat-number")
    assert b'"countryCode": "NL"' in body


def test_vies_unknown_number_is_not_valid_and_dashes_are_no_name(vies: FakeVies) -> None:
    answer = ViesAdapter(vies.base_url).check("NL", "999999999B01")
    assert not answer.valid
    assert answer.name == ""
    assert answer.address == ""


def test_vies_invalid_input_is_rejected(vies: FakeVies) -> None:
    with pytest.raises(LookupRejected):
        ViesAdapter(vies.base_url).check("NL", "x")  # refused before asking
    with pytest.raises(LookupRejected):
        ViesAdapter(vies.base_url).check("US", "123456789")
    assert not vies.seen
    vies.raw_next(
        b'{"actionSucceed": false, "errorWrappers": [{"error": "INVALID_INPUT"}]}', status=400
    )
    with pytest.raises(LookupRejected):
        ViesAdapter(vies.base_url).check("NL", "123456789B01")


@pytest.mark.parametrize("error", ["MS_UNAVAILABLE", "MS_MAX_CONCURRENT_REQ", "TIMEOUT"])
def test_vies_member_state_trouble_is_unavailable(vies: FakeVies, error: str) -> None:
    vies.unavailable_next(error)
    with pytest.raises(LookupUnavailable, match=error):
        ViesAdapter(vies.base_url).check("NL", "123456789B01")


@pytest.mark.parametrize("status", [429, 503])
def test_vies_rate_limit_and_unavailable(vies: FakeVies, status: int) -> None:
    vies.fail_next(status=status, retry_after=30)
    with pytest.raises(LookupUnavailable) as caught:
        ViesAdapter(vies.base_url).check("NL", "123456789B01")
    assert caught.value.retry_after == 30


def test_vies_slow_oversize_and_malformed(vies: FakeVies) -> None:
    release = vies.hold_next()
    try:
        with pytest.raises(LookupUnavailable):
            ViesAdapter(vies.base_url, timeout=(1.0, 0.3)).check("NL", "123456789B01")
    finally:
        release.set()
    vies.oversize_next(10_000)
    with pytest.raises(LookupUnavailable, match="cap"):
        ViesAdapter(vies.base_url, max_bytes=4096).check("NL", "123456789B01")
    vies.raw_next(b'{"countryCode": "NL"}')
    with pytest.raises(LookupUnavailable, match="valid"):
        ViesAdapter(vies.base_url).check("NL", "123456789B01")
    vies.raw_next(b"not json", content_type="text/html")
    with pytest.raises(LookupUnavailable):
        ViesAdapter(vies.base_url).check("NL", "123456789B01")


@pytest.fixture
def kvk() -> Iterator[FakeKvk]:
    with FakeKvk() as fake:
        fake.add(
            "68750110",
            "Bakkerij De Korenschoof B.V.",
            trade_names=("De Korenschoof", "Broodje Koren"),
            sbi=("1071", "4724"),
        )
        yield fake


def test_kvk_basisprofiel(kvk: FakeKvk) -> None:
    profile = KvkAdapter(API_KEY, kvk.base_url).profile("6875 0110")
    assert profile is not None
    assert profile.legal_name == "Bakkerij De Korenschoof B.V."
    assert profile.trade_names == ("De Korenschoof", "Broodje Koren")
    assert profile.legal_form == "BeslotenVennootschap"
    assert profile.establishment_number == "000037178598"
    assert profile.sbi_codes == ("1071", "4724")
    assert profile.addresses[0].street == "Keizersgracht"
    assert profile.addresses[0].city == "Amsterdam"
    assert kvk.keys_seen == [API_KEY]  # the key goes in the `apikey` header


def test_kvk_unknown_number_bad_number_and_refused_key(kvk: FakeKvk) -> None:
    assert KvkAdapter(API_KEY, kvk.base_url).profile("12345678") is None
    with pytest.raises(LookupRejected):
        KvkAdapter(API_KEY, kvk.base_url).profile("1234")
    with pytest.raises(LookupUnavailable, match="key"):
        KvkAdapter("wrong", kvk.base_url).profile("68750110")


@pytest.mark.parametrize("status", [429, 503])
def test_kvk_rate_limit_slow_oversize_malformed(kvk: FakeKvk, status: int) -> None:
    kvk.fail_next(status=status, retry_after=5)
    with pytest.raises(LookupUnavailable) as caught:
        KvkAdapter(API_KEY, kvk.base_url).profile("68750110")
    assert caught.value.retry_after == 5
    release = kvk.hold_next()
    try:
        with pytest.raises(LookupUnavailable):
            KvkAdapter(API_KEY, kvk.base_url, timeout=(1.0, 0.3)).profile("68750110")
    finally:
        release.set()
    kvk.oversize_next(10_000)
    with pytest.raises(LookupUnavailable, match="cap"):
        KvkAdapter(API_KEY, kvk.base_url, max_bytes=4096).profile("68750110")
    kvk.raw_next(b'{"kvkNummer": "99999999"}')
    with pytest.raises(LookupUnavailable):
        KvkAdapter(API_KEY, kvk.base_url).profile("68750110")
