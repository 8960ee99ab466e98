"""The Twinfield adapter against a fake Twinfield on loopback (tests/fakes/twinfield.py).

Nothing here mocks requests: every call crosses a real socket to a server that checks the protocol.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta

import pytest
import requests
import schwifty
from django.utils import timezone

from sync.adapters import adapter_for
from sync.adapters.base import (
    LedgerAddress,
    LedgerBank,
    LedgerCustomer,
    Patience,
    RejectedLedgerError,
    RetryableLedgerError,
)
from sync.adapters.twinfield import TwinfieldAdapter
from tests.fakes.twinfield import FakeTwinfield, iban_is_valid, make_iban

IBAN_1 = "NL91ABNA0417164300"
IBAN_2 = make_iban(123456789, bank="INGB")


def adapter(connection, **kwargs) -> TwinfieldAdapter:
    """Waits it is asked for are counted, not slept (`Patience.sleep`)."""
    kwargs.setdefault("timeout", (2, 5))
    kwargs.setdefault("patience", Patience(sleep=lambda seconds: None))
    return TwinfieldAdapter(connection, **kwargs)


def bakkerij(code: str = "", **changes) -> LedgerCustomer:
    customer = LedgerCustomer(
        code=code,
        name="Bakkerij De Korenaar B.V.",
        addresses=(
            LedgerAddress("visiting", "Oudegracht 12", "3511 AB", "Utrecht", "NL", default=False),
            LedgerAddress("postal", "Postbus 99", "3500 AA", "Utrecht", "NL", default=False),
            LedgerAddress("invoice", "Oudegracht 12-bis", "3511 AB", "Utrecht", "NL", default=True),
        ),
        banks=(
            LedgerBank(IBAN_1, "ABNANL2A", "Bakkerij De Korenaar B.V.", "ABN AMRO", default=True),
            LedgerBank(IBAN_2, "INGBNL2A", "J. de Korenaar", "ING", default=False),
        ),
        vat_number="NL001234567B01",
        kvk_number="12345678",
        email="factuur@korenaar.example",
        website="https://korenaar.example",
    )
    return replace(customer, **changes)


# Mapping ------------------------------------------------------------------------------------


def test_new_customer_without_code_is_allocated_one_and_mapped_to_twinfield_fields(
    twinfield_connection, fake_twinfield
):
    [result] = adapter(twinfield_connection).upsert_customers([bakkerij()])

    assert result.ok
    assert result.code == "1000"
    assert result.messages == ()
    payload = fake_twinfield.soap_calls[-1]["payload"]
    assert "<code" not in payload  # omitted, never an empty <code/>
    stored = fake_twinfield.customers["1000"]
    assert stored["name"] == "Bakkerij De Korenaar B.V."
    assert stored["website"] == "https://korenaar.example"
    assert [(a["id"], a["type"], a["default"], a["field2"]) for a in stored["addresses"]] == [
        (1, "contact", False, "Oudegracht 12"),
        (2, "postal", False, "Postbus 99"),
        (3, "invoice", True, "Oudegracht 12-bis"),
    ]
    for address in stored["addresses"]:
        assert address["field4"] == "NL001234567B01"
        assert address["field5"] == "12345678"
        assert address["country"] == "NL"
        assert address["city"] == "Utrecht"
        assert address["name"] == "Bakkerij De Korenaar B.V."
    assert [a["email"] for a in stored["addresses"]] == ["", "", "factuur@korenaar.example"]
    assert [a["postcode"] for a in stored["addresses"]] == ["3511 AB", "3500 AA", "3511 AB"]
    assert [
        (b["id"], b["default"], b["iban"], b["biccode"], b["ascription"], b["bankname"])
        for b in stored["banks"]
    ] == [
        (1, True, IBAN_1, "ABNANL2A", "Bakkerij De Korenaar B.V.", "ABN AMRO"),
        (2, False, IBAN_2, "INGBNL2A", "J. de Korenaar", "ING"),
    ]
    assert 'default="true"' in payload
    assert 'default="false"' in payload


def test_a_pushed_customer_reads_back_equal(twinfield_connection):
    ledger = adapter(twinfield_connection)
    [result] = ledger.upsert_customers([bakkerij()])

    read = ledger.get_customers([result.code])[result.code]

    assert read == bakkerij(code=result.code)
    assert read.fingerprint() == bakkerij(code=result.code).fingerprint()


def test_reading_a_twinfield_record_maps_back_to_kring_words(twinfield_connection, fake_twinfield):
    [code] = fake_twinfield.seed_customers(1)

    customer = adapter(twinfield_connection).get_customers([code])[code]

    assert customer.code == code
    assert customer.name == f"Klant {code} B.V."
    assert [(a.type, a.line, a.default) for a in customer.addresses] == [
        ("invoice", "Factuurstraat 1", True),
        ("postal", "Postbus 100", False),
        ("visiting", "Bezoekweg 1", False),
    ]
    assert customer.vat_number == "NL100000000B01"
    assert customer.kvk_number == "30000000"
    assert customer.email == f"info{code}@example.nl"
    [bank] = customer.banks
    assert bank.holder == customer.name
    assert bank.bic == "ABNANL2A"
    assert bank.default
    assert bank.bank_name == "ABN AMRO"
    schwifty.IBAN(bank.iban)  # the fake's IBANs are real ones


def test_leading_zeros_are_part_of_the_code(twinfield_connection, fake_twinfield):
    fake_twinfield.code_mask = "0[0-9][0-9][0-9]"
    ledger = adapter(twinfield_connection)

    results = ledger.upsert_customers([bakkerij("0110"), bakkerij(name="Nieuwe Klant")])

    assert [(r.ok, r.code) for r in results] == [(True, "0110"), (True, "0000")]
    assert set(fake_twinfield.customers) == {"0110", "0000"}
    assert ledger.get_customers(["0110"])["0110"].code == "0110"


def test_existing_code_is_updated_in_place_with_complete_sets(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection)
    [first] = ledger.upsert_customers([bakkerij()])
    fewer = bakkerij(
        first.code,
        addresses=(
            LedgerAddress("invoice", "Nieuwe Gracht 1", "3512 AA", "Utrecht", default=True),
        ),
        banks=(),
        vat_number="",
    )

    [second] = ledger.upsert_customers([fewer])

    assert second.ok
    assert second.code == first.code
    stored = fake_twinfield.customers[first.code]
    assert stored["touched"] == 1
    assert [a["field2"] for a in stored["addresses"]] == ["Nieuwe Gracht 1"]
    assert stored["banks"] == []
    assert fake_twinfield.writes == {first.code: 2}
    assert fake_twinfield.created == [first.code]  # no client created twice
    assert ledger.get_customers([first.code])[first.code] == fewer


def test_vat_kvk_and_email_survive_without_an_address(twinfield_connection):
    ledger = adapter(twinfield_connection)
    bare = bakkerij(addresses=(), banks=())

    [result] = ledger.upsert_customers([bare])

    assert ledger.get_customers([result.code])[result.code] == replace(bare, code=result.code)


def test_unknown_codes_read_as_none(twinfield_connection, fake_twinfield):
    found = adapter(twinfield_connection).get_customers(["1999", ""])

    assert found == {"1999": None, "": None}
    assert fake_twinfield.requests["read"] == 1  # "" is not asked for


def test_adapter_for_a_twinfield_practice(twinfield_connection, practice):
    assert isinstance(adapter_for(practice), TwinfieldAdapter)


# Batches and item refusals ----------------------------------------------------------------------


def test_an_invalid_iban_refuses_that_item_only(twinfield_connection, fake_twinfield):
    bad = bakkerij("1500", banks=(LedgerBank("NL00ABNA0417164300", holder="X", default=True),))

    [result] = adapter(twinfield_connection).upsert_customers([bad])

    assert not result.ok
    assert result.code == "1500"
    assert result.messages == ("IBAN NL00ABNA0417164300 is ongeldig.",)
    assert fake_twinfield.customers == {}


def test_one_bad_item_among_good_ones(twinfield_connection, fake_twinfield):
    batch = [
        bakkerij(name="Eerste B.V."),
        bakkerij(name="Tweede B.V.", banks=(LedgerBank(IBAN_1, holder="H" * 41, default=True),)),
        bakkerij("1234", name="Derde B.V."),
    ]

    results = adapter(twinfield_connection).upsert_customers(batch)

    assert [(r.ok, r.code) for r in results] == [(True, "1000"), (False, ""), (True, "1234")]
    assert results[1].messages == ("Begunstigde is ongeldig.",)
    assert {c["name"] for c in fake_twinfield.customers.values()} == {"Eerste B.V.", "Derde B.V."}


def test_every_error_of_an_item_is_reported(twinfield_connection, fake_twinfield):
    bad = bakkerij(
        "A77",
        banks=(
            LedgerBank(IBAN_1, holder="H" * 41, default=True),
            LedgerBank(IBAN_2, default=True),
        ),
    )

    [result] = adapter(twinfield_connection).upsert_customers([bad])

    assert not result.ok
    assert set(result.messages) == {
        "De code voldoet niet aan het formaat 1[0-9][0-9][0-9].",
        "Begunstigde is ongeldig.",
        "Er mag maar één standaardbankrekening zijn.",
    }


def test_more_than_25_is_refused_before_sending(twinfield_connection, fake_twinfield):
    with pytest.raises(RejectedLedgerError, match="at most 25"):
        adapter(twinfield_connection).upsert_customers([bakkerij()] * 26)

    assert fake_twinfield.requests == {}


def test_an_unknown_office_refuses_the_whole_request(twinfield_connection):
    twinfield_connection.office_code = "NLA999999"
    ledger = adapter(twinfield_connection)

    with pytest.raises(RejectedLedgerError, match="De administratie bestaat niet"):
        ledger.upsert_customers([bakkerij()])
    with pytest.raises(RejectedLedgerError, match="De administratie bestaat niet"):
        ledger.get_customers(["1000"])


# Listing ------------------------------------------------------------------------------------------


def test_list_customers_pages_through_the_finder(twinfield_connection, fake_twinfield):
    codes = fake_twinfield.seed_customers(120)

    customers = list(adapter(twinfield_connection, page_size=50).list_customers())

    assert [c.code for c in customers] == codes
    assert fake_twinfield.requests["search"] == 3
    # The records of a page come in combined reads of up to 25: 50 + 50 + 20 codes.
    assert fake_twinfield.requests["reads"] == 2 + 2 + 1
    assert fake_twinfield.requests["read"] == 0
    assert all(c.banks and len(c.addresses) == 3 for c in customers)


def test_25_customers_are_read_in_one_request(twinfield_connection, fake_twinfield):
    codes = fake_twinfield.seed_customers(30)
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])  # token and cluster first
    fake_twinfield.requests.clear()

    found = ledger.get_customers([*codes[:24], "1999", ""])

    assert fake_twinfield.requests["soap"] == 1
    assert [c.code for c in found.values() if c is not None] == codes[:24]
    assert found["1999"] is None
    assert found[""] is None
    assert found[codes[3]] == ledger.get_customers([codes[3]])[codes[3]]

    fake_twinfield.requests.clear()
    assert len(ledger.get_customers(codes)) == 30
    assert fake_twinfield.requests["reads"] == 2  # 25 + 5


def test_a_ledger_without_combined_reads_is_read_one_code_per_request(
    twinfield_connection, fake_twinfield
):
    codes = fake_twinfield.seed_customers(5)
    fake_twinfield.multi_read = False
    ledger = adapter(twinfield_connection)

    first = ledger.get_customers(codes)
    fake_twinfield.requests.clear()
    again = adapter(twinfield_connection).get_customers(codes)

    assert first == again
    assert [c.code for c in first.values()] == codes
    assert fake_twinfield.requests["soap"] == 5  # no second probe: the refusal is remembered
    assert fake_twinfield.requests["read"] == 5


def test_a_combined_read_answering_other_codes_is_refused(twinfield_connection, fake_twinfield):
    codes = fake_twinfield.seed_customers(2)
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])
    swapped = ledger._process_xml(ledger._read_request(codes[1]))
    reply = ET.Element("reads", result="1")
    reply.extend([swapped, swapped])
    fake_twinfield.next_raw_reply(_wrapped(ET.tostring(reply, encoding="unicode")))

    with pytest.raises(RetryableLedgerError, match="another record"):
        ledger.get_customers(codes)


def test_an_empty_ledger_lists_nothing(twinfield_connection, fake_twinfield):
    assert list(adapter(twinfield_connection).list_customers()) == []
    assert fake_twinfield.requests["search"] == 1


# OAuth2 and the cluster ----------------------------------------------------------------------------


def test_first_call_gets_a_token_and_the_cluster(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])
    ledger.get_customers(["1001"])

    twinfield_connection.refresh_from_db()
    assert twinfield_connection.access_token == fake_twinfield.issued_tokens[0]
    assert twinfield_connection.cluster_url == fake_twinfield.cluster_url  # no trailing slash
    expires_in = twinfield_connection.access_token_expires_at - timezone.now()
    assert timedelta(minutes=59) < expires_in <= timedelta(hours=1)
    assert fake_twinfield.requests["token"] == 1
    assert fake_twinfield.requests["validate"] == 1
    assert fake_twinfield.requests["read"] == 2


def test_the_token_is_refreshed_five_minutes_before_it_expires(
    twinfield_connection, fake_twinfield
):
    adapter(twinfield_connection).get_customers(["1000"])
    twinfield_connection.access_token_expires_at = timezone.now() + timedelta(minutes=4)
    twinfield_connection.save(update_fields=["access_token_expires_at"])

    adapter(twinfield_connection).get_customers(["1000"])

    assert fake_twinfield.requests["token"] == 2
    assert fake_twinfield.requests["validate"] == 2  # the cluster is re-validated after a refresh
    assert fake_twinfield.faults["354"] == 0
    twinfield_connection.refresh_from_db()
    assert twinfield_connection.access_token == fake_twinfield.issued_tokens[-1]


def test_a_token_expiring_mid_run_is_refreshed_once(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection)
    [first] = ledger.upsert_customers([bakkerij()])
    fake_twinfield.expire_tokens()

    [second] = ledger.upsert_customers([bakkerij(first.code)])

    assert second.ok
    assert fake_twinfield.faults["354"] == 1
    assert fake_twinfield.requests["token"] == 2
    assert fake_twinfield.writes == {first.code: 2}  # the refused call wrote nothing


def test_a_token_still_refused_after_the_refresh_is_retryable(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])
    fake_twinfield.expire_tokens()
    fake_twinfield.token_ttl = 0  # whatever the login issues is dead on arrival

    with pytest.raises(RetryableLedgerError):
        ledger.get_customers(["1000"])
    assert fake_twinfield.requests["token"] == 2  # one refresh, no loop


def test_a_revoked_refresh_token_is_rejected(twinfield_connection, fake_twinfield):
    """Rejected, not retryable: only a person reconnecting Twinfield can mend it."""
    fake_twinfield.revoke_refresh_tokens()

    with pytest.raises(RejectedLedgerError, match=r"invalid_grant.*connect Twinfield again"):
        adapter(twinfield_connection).get_customers(["1000"])


def test_a_wrong_client_secret_is_rejected(twinfield_connection, fake_twinfield):
    twinfield_connection.client_secret = "not-the-secret"

    with pytest.raises(RejectedLedgerError, match="invalid_client"):
        adapter(twinfield_connection).get_customers(["1000"])
    assert fake_twinfield.issued_tokens == []


def test_a_rotated_refresh_token_is_kept(twinfield_connection, fake_twinfield):
    fake_twinfield.rotate_refresh_tokens = True

    adapter(twinfield_connection).get_customers(["1000"])

    twinfield_connection.refresh_from_db()
    assert (
        twinfield_connection.refresh_token
        == fake_twinfield.refresh_token
        != "fake-refresh-token-9b2d"
    )


def test_a_wrong_cluster_is_forgotten_and_rediscovered(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])
    twinfield_connection.cluster_url = fake_twinfield.url  # a host that is not the cluster
    twinfield_connection.save(update_fields=["cluster_url"])

    with pytest.raises(RetryableLedgerError, match="fault 108"):
        ledger.get_customers(["1000"])
    assert twinfield_connection.cluster_url == ""
    assert ledger.get_customers(["1000"]) == {"1000": None}
    assert twinfield_connection.cluster_url == fake_twinfield.cluster_url


# Transport and faults --------------------------------------------------------------------------


def test_a_429_waits_the_time_twinfield_asks_and_repeats_that_request(
    twinfield_connection, fake_twinfield
):
    waits = []
    ledger = adapter(twinfield_connection, patience=Patience(sleep=waits.append))
    fake_twinfield.rate_limit_next(2, retry_after=7)

    [result] = ledger.upsert_customers([bakkerij()])

    assert result.ok  # even a write that lets Twinfield allocate the code: a 429 was not processed
    assert waits == [7, 7]
    assert fake_twinfield.created == [result.code]
    assert fake_twinfield.requests["429"] == 2


def test_a_429_outlasting_the_request_budget_is_retryable_with_its_retry_after(
    twinfield_connection, fake_twinfield
):
    waits = []
    ledger = adapter(twinfield_connection, patience=Patience(budget=20, sleep=waits.append))
    fake_twinfield.rate_limit_next(5, retry_after=7)

    with pytest.raises(RetryableLedgerError) as caught:
        ledger.upsert_customers([bakkerij()])

    assert caught.value.retry_after == 7
    assert waits == [7, 7]  # a third wait would pass the 20 s budget
    assert fake_twinfield.customers == {}


def test_no_wait_goes_past_the_runs_deadline(twinfield_connection, fake_twinfield):
    now = [100.0]
    patience = Patience(deadline=105, clock=lambda: now[0], sleep=lambda s: None)
    fake_twinfield.rate_limit_next(1, retry_after=6)

    with pytest.raises(RetryableLedgerError, match="429"):
        adapter(twinfield_connection, patience=patience).get_customers(["1000"])
    assert patience.waits == 0


def test_without_retry_after_the_wait_grows_exponentially_with_jitter_and_a_cap(
    twinfield_connection, fake_twinfield
):
    waits = []
    fake_twinfield.fail_next(6, status=503)  # no Retry-After

    ledger = adapter(twinfield_connection, patience=Patience(base=1, cap=8, sleep=waits.append))
    assert ledger.get_customers(["1000"]) == {"1000": None}

    assert len(waits) == 6
    for repeat, seconds in enumerate(waits):
        step = min(8, 2**repeat)
        assert step / 2 <= seconds <= step


def test_a_503_burst_honours_its_retry_after(twinfield_connection, fake_twinfield):
    waits = []
    fake_twinfield.unavailable_next(3, retry_after=2)

    ledger = adapter(twinfield_connection, patience=Patience(sleep=waits.append))
    assert ledger.get_customers(["1000"]) == {"1000": None}
    assert waits == [2, 2, 2]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_repeated_in_place(twinfield_connection, fake_twinfield, status):
    fake_twinfield.fail_next(1, status=status)

    assert adapter(twinfield_connection).get_customers(["1000"]) == {"1000": None}


def test_a_server_fault_is_retryable_and_left_to_the_drains_backoff(
    twinfield_connection, fake_twinfield
):
    """Fault 100 (HTTP 500) may have been half processed: not repeated on the spot."""
    fake_twinfield.fail_next(1, status=500)

    with pytest.raises(RetryableLedgerError, match="500"):
        adapter(twinfield_connection).get_customers(["1000"])


def test_a_timed_out_write_that_lets_twinfield_allocate_codes_is_not_repeated(
    twinfield_connection, fake_twinfield
):
    ledger = adapter(twinfield_connection, timeout=(1, 0.2))
    ledger.get_customers(["1000"])
    fake_twinfield.latency = 0.4

    with pytest.raises(RetryableLedgerError, match="in time"):
        ledger.upsert_customers([bakkerij()])
    assert fake_twinfield.requests["dimensions"] == 1  # repeated, it could create it twice


def test_a_token_expiring_on_twinfields_clock_is_refreshed_once_and_the_request_repeated(
    twinfield_connection, fake_twinfield
):
    fake_twinfield.token_ttl = 5
    ledger = adapter(twinfield_connection)
    ledger.get_customers(["1000"])
    fake_twinfield.advance(6)  # Kring's clock says the token is still good; Twinfield's does not

    assert ledger.get_customers(["1000"]) == {"1000": None}
    assert fake_twinfield.faults["354"] == 1
    assert fake_twinfield.requests["token"] == 2


def test_a_slow_ledger_times_out_as_retryable(twinfield_connection, fake_twinfield):
    ledger = adapter(twinfield_connection, timeout=(1, 0.2), patience=Patience(attempts=0))
    ledger.get_customers(["1000"])  # token and cluster first, at full speed
    fake_twinfield.latency = 1.0

    started = time.monotonic()
    with pytest.raises(RetryableLedgerError, match="in time"):
        ledger.get_customers(["1000"])
    assert time.monotonic() - started < 0.9


def test_an_unreachable_ledger_is_retryable(twinfield_connection, fake_twinfield):
    fake_twinfield.stop()

    ledger = adapter(twinfield_connection)
    with pytest.raises(RetryableLedgerError, match="Could not reach"):
        ledger.get_customers(["1000"])
    assert ledger.patience.waits == ledger.patience.attempts  # repeated, then given up


def test_a_malformed_request_reply_400_is_rejected(twinfield_connection, fake_twinfield):
    adapter(twinfield_connection).get_customers(["1000"])
    fake_twinfield.next_raw_reply(b"Bad Request", status=400, content_type="text/plain")

    with pytest.raises(RejectedLedgerError, match="malformed"):
        adapter(twinfield_connection).get_customers(["1000"])


def test_an_inactive_organisation_is_rejected(twinfield_connection, fake_twinfield):
    fake_twinfield.organisation_active = False

    with pytest.raises(RejectedLedgerError, match="fault 106"):
        adapter(twinfield_connection).upsert_customers([bakkerij()])


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (500, "100", RetryableLedgerError),  # unexpected exception
        (500, "358", RetryableLedgerError),  # cannot validate token (their side)
        (500, "187", RejectedLedgerError),  # invalid XML data: a 500, but ours to fix
        (403, "102", RejectedLedgerError),  # access denied
        (401, "351", RejectedLedgerError),  # the token lacks a claim: wrong scope
    ],
)
def test_faults_are_told_apart(twinfield_connection, fake_twinfield, status, code, error):
    adapter(twinfield_connection).get_customers(["1000"])  # token and cluster first
    fake_twinfield.next_raw_reply(
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Nee.</faultstring>"
        f"<detail><message>Nee.</message><code>{code}</code><source>ProcessXmlString</source>"
        "</detail></soap:Fault></soap:Body></soap:Envelope>",
        status=status,
    )

    with pytest.raises(error, match=f"fault {code} \\(HTTP {status}\\): Nee."):
        adapter(twinfield_connection).get_customers(["1000"])
    assert fake_twinfield.requests["token"] == 1  # no refresh: the token was not the problem


def test_a_non_xml_reply_is_retryable(twinfield_connection, fake_twinfield):
    fake_twinfield.next_raw_reply("<html><body>Gateway", content_type="text/html")

    with pytest.raises(RetryableLedgerError, match="not readable XML"):
        adapter(twinfield_connection).get_customers(["1000"])


def test_calls_for_one_office_go_one_at_a_time(twinfield_connection, fake_twinfield):
    fake_twinfield.offices["NLA000456"] = "Tweede BV"
    adapter(twinfield_connection).get_customers(["1000"])  # token and cluster on the row
    other_office = copy.copy(twinfield_connection)
    other_office.office_code = "NLA000456"
    fake_twinfield.latency = 0.1

    def read(connection) -> None:
        adapter(connection).get_customers(["1000", "1001"])

    threads = [threading.Thread(target=read, args=(twinfield_connection,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_twinfield.max_in_flight == 1

    threads = [
        threading.Thread(target=read, args=(c,)) for c in (twinfield_connection, other_office)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_twinfield.max_in_flight == 2  # other offices are not held up


# Replies ------------------------------------------------------------------------------------------
# (hostile ones, with memory bounds and the drain's handling: test_hostile_xml.py)


def _wrapped(result: str) -> str:
    escaped = result.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<ProcessXmlStringResponse xmlns="http://www.twinfield.com/">'
        f"<ProcessXmlStringResult>{escaped}</ProcessXmlStringResult>"
        "</ProcessXmlStringResponse></soap:Body></soap:Envelope>"
    )


# Secrets -----------------------------------------------------------------------------------------


def test_no_token_or_secret_reaches_the_logs(twinfield_connection, fake_twinfield, caplog):
    caplog.set_level(logging.DEBUG)
    ledger = adapter(twinfield_connection)
    ledger.upsert_customers([bakkerij()])
    fake_twinfield.expire_tokens()
    ledger.get_customers(["1000"])
    fake_twinfield.fail_next(1, status=500)
    errors = []
    with pytest.raises(RetryableLedgerError) as caught:
        ledger.get_customers(["1000"])
    errors.append(caught.value.message)
    fake_twinfield.stop()
    twinfield_connection.cluster_url = ""  # the token validation URL carries the token
    with pytest.raises(RetryableLedgerError) as caught:
        ledger.get_customers(["1000"])
    errors.append(caught.value.message)
    assert caught.value.__context__ is None  # requests' exception, URL and token, is not kept

    assert "accesstokenvalidation?token=[redacted]" in caplog.text  # urllib3 did log the URL
    assert "Refreshed the Twinfield access token" in caplog.text
    secrets = [
        fake_twinfield.client_secret,
        fake_twinfield.refresh_token,
        *fake_twinfield.issued_tokens,
    ]
    assert len(fake_twinfield.issued_tokens) == 2
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in message for message in errors)
    assert all(secret not in repr(twinfield_connection) for secret in secrets)


# The fake itself: it must refuse what real Twinfield refuses ----------------------------------


def _token(fake: FakeTwinfield) -> str:
    reply = requests.post(
        fake.url + "/auth/authentication/connect/token",
        auth=(fake.client_id, fake.client_secret),
        data={"grant_type": "refresh_token", "refresh_token": fake.refresh_token},
        timeout=5,
    )
    return reply.json()["access_token"]


def _post(fake, payload: str, *, token: str | None = None, company: str | None = None, **headers):
    from xml.sax.saxutils import escape

    header = ""
    if token is not None:
        header += f"<AccessToken>{token}</AccessToken>"
    if company is not None:
        header += f"<CompanyCode>{company}</CompanyCode>"
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soap:Header><Header xmlns="http://www.twinfield.com/">{header}</Header></soap:Header>'
        '<soap:Body><ProcessXmlString xmlns="http://www.twinfield.com/">'
        f"<xmlRequest>{escape(payload)}</xmlRequest></ProcessXmlString></soap:Body></soap:Envelope>"
    )
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://www.twinfield.com/ProcessXmlString"',
        **headers,
    }
    return requests.post(
        fake.cluster_url + "/webservices/processxml.asmx", data=envelope, headers=headers, timeout=5
    )


def test_fake_checks_the_transport(fake_twinfield):
    fake, token = fake_twinfield, _token(fake_twinfield)
    read = "<read><type>dimensions</type><dimtype>DEB</dimtype><code>1000</code></read>"

    assert _post(fake, read, token=token, company=fake.office_code).status_code == 200
    wrong_action = _post(fake, read, token=token, company=fake.office_code, SOAPAction='"x"')
    assert wrong_action.status_code == 500
    assert (
        _post(fake, read, token=token, company="X", **{"Content-Type": "text/plain"}).status_code
        == 415
    )
    no_token = _post(fake, read, company=fake.office_code)
    assert no_token.status_code == 500
    assert "<code>101</code>" in no_token.text
    no_company = _post(fake, read, token=token)
    assert no_company.status_code == 500
    assert "Company ontbreekt" in no_company.text
    bad_token = _post(fake, read, token="nope", company=fake.office_code)
    assert bad_token.status_code == 401
    assert "<code>354</code>" in bad_token.text
    malformed = requests.post(
        fake.cluster_url + "/webservices/processxml.asmx",
        data="<soap:Envelope",
        headers={"Content-Type": "text/xml"},
        timeout=5,
    )
    assert malformed.status_code == 400
    assert (
        requests.get(fake.cluster_url + "/webservices/processxml.asmx", timeout=5).status_code
        == 405
    )


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("<type>DEB</type><code/><name>X</name>", "Code moet worden ingevuld."),
        ("<type>DEB</type><code>1000</code>", "Naam moet worden ingevuld."),
        ("<type>CRD</type><name>X</name>", "Dimensietype CRD is hier niet toegestaan."),
        ("<type>DEB</type><name>X</name><inuse>false</inuse>", "Het element 'inuse' mag niet worden aangeleverd."),
        ("<type>DEB</type><name>" + "N" * 81 + "</name>", "Naam mag maximaal 80 tekens bevatten."),
        ('<type>DEB</type><name>X</name><addresses><address id="1" type="home" default="true"/></addresses>', "Adrestype 'home' is ongeldig."),
        ('<type>DEB</type><name>X</name><addresses><address id="1" type="invoice" default="1"/></addresses>', "'1' is geen geldige booleaanse waarde (true/false)."),
        ('<type>DEB</type><name>X</name><banks><bank default="true"><iban>NL91ABNA0417164300</iban><biccode>ABN</biccode></bank></banks>', "BIC-code ABN is ongeldig."),
        ("<type>DEB</type><name>X</name><financials><ebilling>true</ebilling></financials>", "Als Elektronisch factureren is ingeschakeld, mag het e-mailadres niet leeg zijn."),
    ],
)  # fmt: skip
def test_fake_refuses_what_twinfield_refuses(fake_twinfield, item, message):
    reply = _post(
        fake_twinfield,
        f'<dimension status="active"><office>NLA000123</office>{item}</dimension>',
        token=_token(fake_twinfield),
        company=fake_twinfield.office_code,
    )

    assert reply.status_code == 200
    assert f'msg="{message}"' in reply.text.replace("&quot;", '"').replace("&amp;", "&")
    assert fake_twinfield.customers == {}


def test_fake_allocation_fails_on_an_open_mask(fake_twinfield):
    fake_twinfield.code_mask = "*"
    reply = _post(
        fake_twinfield,
        '<dimension status="active"><type>DEB</type><name>X</name></dimension>',
        token=_token(fake_twinfield),
        company=fake_twinfield.office_code,
    )

    assert "eerste vrije code" in reply.text


def test_fake_ibans_are_checked_by_mod_97():
    assert iban_is_valid(IBAN_1)
    assert iban_is_valid(make_iban(42, bank="RABO"))
    assert not iban_is_valid("NL91ABNA0417164301")
    assert not iban_is_valid("NL91ABNA041716430")  # one digit short for NL
