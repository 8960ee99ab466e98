"""Hostile and broken replies from "Twinfield", served over real HTTP by the fake (tests/fakes).

Each is refused as a clear retryable or rejected error; memory stays bounded (tracemalloc), the
bytes read are capped while streaming (the fake counts what it managed to send), and in the drain
the failure lands on the clients' SyncState with backoff while the other clients are still pushed.
Nothing here asserts a duration.
"""

from __future__ import annotations

import gzip
import threading
import tracemalloc
from collections.abc import Callable, Iterator

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from relations.models import Relation
from sync import drain
from sync.adapters.base import RejectedLedgerError, RetryableLedgerError
from sync.adapters.twinfield import TwinfieldAdapter, UnsafeReplyError
from sync.importer import run_import
from sync.models import ImportRun, SyncState
from tests.factories import created_relation

pytestmark = pytest.mark.django_db

ENVELOPE = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    "{body}</soap:Body></soap:Envelope>"
)
LAUGHS_DTD = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(2, 10))
    + '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
)
BILLION_LAUGHS = LAUGHS_DTD + ENVELOPE.format(body="<x>&lol9;</x>")
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + ENVELOPE.format(
        body='<ProcessXmlStringResponse xmlns="http://www.twinfield.com/">'
        "<ProcessXmlStringResult>&xxe;</ProcessXmlStringResult></ProcessXmlStringResponse>"
    )
)


def result(inner: str, operation: str = "ProcessXmlString") -> str:
    """A well-formed reply whose result string (parsed a second time) is `inner`."""
    escaped = inner.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return ENVELOPE.format(
        body=f'<{operation}Response xmlns="http://www.twinfield.com/">'
        f"<{operation}Result>{escaped}</{operation}Result></{operation}Response>"
    )


class Counted:
    """A streamed body that counts how much of it the client took before hanging up."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk


def endless(chunk_size: int = 65_536, count: int = 2_000) -> Counted:
    chunk = b"<a>" + b"x" * (chunk_size - 3)
    return Counted(chunk for _ in range(count))  # 128 MB, no Content-Length


def trickle(count: int = 200, every: float = 0.1) -> Counted:
    """A byte at a time: each arrives well within the read timeout, the whole never does."""
    paced = threading.Event()

    def chunks() -> Iterator[bytes]:
        yield b"<soap:Envelope"
        for _ in range(count):
            paced.wait(every)  # the fake's pace, not a synchronisation in the test
            yield b" "

    return Counted(chunks())


def gzip_bomb() -> bytes:
    return gzip.compress(b"<a>" + b"\0" * 50_000_000, compresslevel=9)  # ~50 kB on the wire


def adapter(connection, **kwargs) -> TwinfieldAdapter:
    kwargs.setdefault("timeout", (2, 3))
    return TwinfieldAdapter(connection, **kwargs)


def peak_memory(call: Callable[[], object]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        try:
            call()
        except Exception as exc:
            return exc, tracemalloc.get_traced_memory()[1]
        return None, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# The client on its own ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(result(LAUGHS_DTD + "<dimension>&lol9;</dimension>"), id="laughs-in-result"),
        pytest.param(EXTERNAL_ENTITY, id="external-entity"),
        pytest.param(
            result('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'),
            id="external-entity-in-result",
        ),
        pytest.param(
            BILLION_LAUGHS.replace('"1.0"?>', '"1.0" encoding="utf-16"?>', 1).encode("utf-16"),
            id="billion-laughs-in-utf-16",
        ),
    ],
)
def test_entity_replies_are_refused_unexpanded(twinfield_connection, fake_twinfield, reply):
    fake_twinfield.next_raw_reply(reply)

    error, peak = peak_memory(lambda: adapter(twinfield_connection).get_customers(["1000"]))

    assert isinstance(error, UnsafeReplyError)
    assert not error.retryable
    assert "DTD" in error.message
    assert "root:" not in error.message  # /etc/passwd was never read
    assert peak < 5_000_000  # 10⁹ "lol"s would be 3 GB


def test_an_endless_reply_is_cut_off_while_streaming(twinfield_connection, fake_twinfield):
    adapter(twinfield_connection).get_customers(["1000"])  # token and cluster first
    body = endless()
    fake_twinfield.next_raw_reply(body)

    error, peak = peak_memory(lambda: adapter(twinfield_connection).get_customers(["1000"]))

    assert isinstance(error, UnsafeReplyError)
    assert "larger than 10485760 bytes" in error.message
    assert body.sent < 2_000 / 4  # stopped near the 10 MB cap, not after 128 MB
    assert peak < 40_000_000


def test_a_declared_oversized_reply_is_not_read_at_all(twinfield_connection, fake_twinfield):
    adapter(twinfield_connection).get_customers(["1000"])
    fake_twinfield.next_raw_reply(endless(), headers={"Content-Length": "999999999"})

    error, peak = peak_memory(lambda: adapter(twinfield_connection).get_customers(["1000"]))

    assert isinstance(error, UnsafeReplyError)
    assert "larger than" in error.message
    assert peak < 2_000_000  # not even read up to the 10 MB cap


def test_a_compressed_reply_is_refused_unread(twinfield_connection, fake_twinfield):
    fake_twinfield.next_raw_reply(gzip_bomb(), headers={"Content-Encoding": "gzip"})

    error, peak = peak_memory(lambda: adapter(twinfield_connection).get_customers(["1000"]))

    assert isinstance(error, UnsafeReplyError)
    assert "compressed (gzip)" in error.message
    assert peak < 5_000_000  # the 50 MB inside was never inflated


def test_a_reply_trickling_in_ends_at_the_read_timeout(twinfield_connection, fake_twinfield):
    adapter(twinfield_connection).get_customers(["1000"])
    body = trickle()
    fake_twinfield.next_raw_reply(body)

    with pytest.raises(RetryableLedgerError, match="came in too slowly"):
        adapter(twinfield_connection, timeout=(2, 1)).get_customers(["1000"])
    assert body.sent < 200  # it hung up long before the fake had sent everything


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        pytest.param(
            ENVELOPE.format(body="<ProcessXmlStringResponse")[:-30],
            RetryableLedgerError,
            "not readable XML",
            id="truncated-envelope",
        ),
        pytest.param(
            "<html><body>502 Bad Gateway</body></html>",
            RetryableLedgerError,
            "not a SOAP envelope",
            id="html-page",
        ),
        pytest.param("Service busy", RetryableLedgerError, "not readable XML", id="plain-text"),
        pytest.param(
            '<Envelope><Body><ProcessXmlStringResponse xmlns="http://www.twinfield.com/"/>'
            "</Body></Envelope>",
            RetryableLedgerError,
            "held no result",
            id="no-result",
        ),
        pytest.param(
            ENVELOPE.format(body='<SearchResponse xmlns="http://www.twinfield.com/"/>'),
            RetryableLedgerError,
            "answered ProcessXmlString with <SearchResponse>",
            id="another-operations-answer",
        ),
        pytest.param(
            result("not xml at all"), RetryableLedgerError, "not readable XML", id="result-not-xml"
        ),
        pytest.param(
            result('<dimension result="1"><code>4242</code><name>Iemand</name></dimension>'),
            RetryableLedgerError,
            "another record",
            id="another-code",
        ),
    ],
)
def test_malformed_or_misshapen_replies_are_clear_errors(
    twinfield_connection, fake_twinfield, reply, error, message
):
    fake_twinfield.next_raw_reply(reply)

    with pytest.raises(error, match=message):
        adapter(twinfield_connection).get_customers(["1000"])


def test_a_write_answered_in_another_shape_is_refused(twinfield_connection, fake_twinfield):
    from sync.adapters.base import LedgerCustomer

    fake_twinfield.next_raw_reply(result('<reads result="1"/>'))

    with pytest.raises(RejectedLedgerError, match="unexpected <reads> reply"):
        adapter(twinfield_connection).upsert_customers([LedgerCustomer(code="", name="Nieuw")])
    assert not fake_twinfield.customers


def test_a_finder_answered_in_another_shape_is_not_an_empty_ledger(
    practice, owner, twinfield_connection, fake_twinfield
):
    fake_twinfield.seed_customers(3)
    fake_twinfield.next_raw_reply(result("<dimensions/>"))

    with pytest.raises(RetryableLedgerError, match="answered Search with"):
        run_import(practice=practice, user=owner)
    run = ImportRun.objects.get(practice=practice)
    assert run.status == ImportRun.Status.FAILED
    assert "answered Search with" in run.error
    assert run.created == 0


# The drain: recorded on the clients, backed off, the others pushed -------------------------------


def make_clients(practice, user, n: int) -> list:
    return [created_relation(practice, user, legal_name=f"Klant {i} B.V.") for i in range(n)]


HOSTILE = [
    pytest.param(BILLION_LAUGHS, {}, SyncState.Status.FAILED, "DTD", id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, {}, SyncState.Status.FAILED, "DTD", id="external-entity"),
    pytest.param(endless, {}, SyncState.Status.FAILED, "larger than", id="oversized"),
    pytest.param(
        gzip_bomb,
        {"Content-Encoding": "gzip"},
        SyncState.Status.FAILED,
        "compressed",
        id="compressed",
    ),
    pytest.param(
        ENVELOPE.format(body="<Proc")[:-20],
        {},
        SyncState.Status.PENDING,
        "not readable XML",
        id="malformed-envelope",
    ),
    pytest.param("<html>oops</html>", {}, SyncState.Status.PENDING, "SOAP", id="not-soap"),
    pytest.param(
        ENVELOPE.format(body='<SearchResponse xmlns="http://www.twinfield.com/"/>'),
        {},
        SyncState.Status.PENDING,
        "answered ProcessXmlString",
        id="wrong-shape",
    ),
]


@pytest.mark.parametrize(("reply", "headers", "status", "message"), HOSTILE)
def test_the_drain_records_a_hostile_reply_and_pushes_the_other_clients(
    practice, staff, twinfield_connection, fake_twinfield, reply, headers, status, message
):
    clients = make_clients(practice, staff, 30)
    fake_twinfield.next_raw_reply(reply() if callable(reply) else reply, headers=headers)

    report = drain.push_practice(practice)

    states = SyncState.objects.filter(practice=practice)
    hit = states.exclude(status=SyncState.Status.SYNCED)
    assert hit.count() == 25  # the batch that got the reply
    assert set(hit.values_list("status", flat=True)) == {status}
    for state in hit:
        assert message in state.last_error
        assert state.attempts == 1
        if status == SyncState.Status.PENDING:
            assert state.next_attempt_at > timezone.now()  # backed off
    assert states.filter(status=SyncState.Status.SYNCED).count() == 5
    assert len(fake_twinfield.customers) == 5
    assert (report.pushed, report.batches) == (5, 2)
    assert report.failed + report.retried == 25
    # Not a crash loop: nothing is due again at once.
    assert drain.push_practice(practice).batches == 0
    assert len(clients) == 30


def test_the_ledger_tab_shows_the_refusal_and_retry_pushes_it(
    practice,
    staff,
    staff_client,
    twinfield_connection,
    fake_twinfield,
    django_capture_on_commit_callbacks,
):
    [client] = make_clients(practice, staff, 1)
    fake_twinfield.next_raw_reply(BILLION_LAUGHS)
    drain.push_practice(practice)
    url = reverse("relations-tab", args=[client.public_id, "ledger"])

    page = staff_client.get(url).content.decode()

    assert "Failed" in page or "Mislukt" in page
    assert "contained a DTD or entity declaration" in page
    assert reverse("sync-retry", args=[client.public_id]) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("sync-retry", args=[client.public_id]))
    assert response.status_code == 302
    state = SyncState.objects.get(relation=client)
    assert (state.status, state.last_error) == (SyncState.Status.SYNCED, "")
    assert client.client_code in fake_twinfield.customers


def test_a_retryable_reply_shows_the_error_and_the_next_attempt(
    practice, staff, staff_client, twinfield_connection, fake_twinfield
):
    [client] = make_clients(practice, staff, 1)
    fake_twinfield.next_raw_reply("<html>oops</html>")
    drain.push_practice(practice)

    page = staff_client.get(reverse("relations-tab", args=[client.public_id, "ledger"]))

    text = page.content.decode()
    assert "is not a SOAP envelope" in text
    assert reverse("sync-retry", args=[client.public_id]) not in text  # it retries by itself


def test_a_failed_write_leaves_the_batchs_conflicts_and_equal_records_as_they_were(
    practice, staff, twinfield_connection, fake_twinfield
):
    clients = make_clients(practice, staff, 3)
    drain.push_practice(practice)
    conflicting, equal, changed = clients
    fake_twinfield.advance(1)  # a second after Kring's write, or the feed takes it for Kring's
    fake_twinfield.change(conflicting.client_code, name="Veranderd in Twinfield B.V.")
    for relation in (conflicting, equal, changed):
        relation.refresh_from_db()
    Relation.objects.filter(pk__in=[conflicting.pk, changed.pk]).update(
        website="https://nieuw.example", ledger_version=F("ledger_version") + 1
    )
    Relation.objects.filter(pk=equal.pk).update(ledger_version=F("ledger_version") + 1)
    fake_twinfield.fail_next_write()

    report = drain.push_practice(practice)

    states = {s.relation_id: s for s in SyncState.objects.filter(practice=practice)}
    assert states[conflicting.pk].status == SyncState.Status.CONFLICT
    assert states[equal.pk].status == SyncState.Status.SYNCED
    assert states[equal.pk].last_error == ""
    assert states[changed.pk].status == SyncState.Status.PENDING
    assert "fault 100" in states[changed.pk].last_error
    assert (report.conflicts, report.pushed, report.retried) == (1, 1, 1)


# Timeouts --------------------------------------------------------------------------------------------


def test_every_outbound_http_call_goes_through_the_one_with_timeouts():
    """Kring's only outbound HTTP is the Twinfield adapter and the look-ups' transport (mail has its
    own SMTP timeout in settings); inside each, every request goes through one call that always
    passes `timeout` (Twinfield's `_http`)."""
    import ast
    import inspect
    from pathlib import Path

    from django.conf import settings

    from sync.adapters import twinfield

    calls = []
    for path in Path(settings.BASE_DIR).rglob("*.py"):
        if {".venv", "tests", "node_modules"} & set(path.parts):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"request", "urlopen", "create_connection"}
            ):
                calls.append((path.relative_to(settings.BASE_DIR).as_posix(), node))
    # The ledger's adapter and the look-ups' one transport (lookups.adapters.base._get/_post go
    # through it): one call each, and each passes `timeout`.
    assert sorted(path for path, _node in calls) == [
        "lookups/adapters/base.py",
        "sync/adapters/twinfield.py",
    ]
    for _path, call in calls:
        assert "timeout" in {keyword.arg for keyword in call.keywords}
    source = inspect.getsource(twinfield.TwinfieldAdapter._http)
    assert "self.session.request(" in source
