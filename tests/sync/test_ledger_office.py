"""What the office sees of the ledger: pausing and resuming, one count of what waits, Send now."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from relations import services as relations_services
from relations.models import Relation
from sync import drain, outbox
from sync.models import LedgerConnection, LocalDebtor, SyncState
from tests.factories import RelationFactory, created_relation

pytestmark = pytest.mark.django_db

SETTINGS = {"adapter": "local", "login_url": "https://login.twinfield.com"}


def ledger_name(relation) -> str:
    relation.refresh_from_db()
    return LocalDebtor.objects.get(
        practice_id=relation.practice_id, code=relation.client_code
    ).record["name"]


def rename(relation, user, name):
    relation.refresh_from_db()
    relation.legal_name = name
    relations_services.update_relation(
        relation=relation, user=user, version=relation.version, changed=["legal_name"]
    )


def tab(relation) -> str:
    return reverse("relations-tab", args=[relation.public_id, "ledger"])


def send_now_url(relation) -> str:
    return reverse("sync-send-now", args=[relation.public_id])


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def pushed(practice, staff):
    relation = created_relation(practice, staff, legal_name="Voor B.V.")
    drain.push_practice(practice)
    return relation


@pytest.fixture
def waiting(pushed, practice, staff, owner_client, django_capture_on_commit_callbacks):
    """Changed while the office had paused the ledger: the nudge found nothing to do."""
    owner_client.post(reverse("sync-settings"), SETTINGS)  # "push changes" unticked: paused
    assert not LedgerConnection.objects.get(practice=practice).enabled
    with django_capture_on_commit_callbacks(execute=True):
        rename(pushed, staff, "Na B.V.")
    assert ledger_name(pushed) == "Voor B.V."
    return pushed


# --- pausing and resuming ------------------------------------------------------------------------


def test_resuming_the_ledger_nudges_the_drain(
    waiting, owner_client, staff_client, django_capture_on_commit_callbacks
):
    assert "Sending to the ledger is paused" in staff_client.get(tab(waiting)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync-settings"), {**SETTINGS, "enabled": "on"})

    assert response.status_code == 302
    assert ledger_name(waiting) == "Na B.V."
    state = SyncState.objects.get(relation=waiting)
    assert state.status == SyncState.Status.SYNCED
    assert state.pushed_version == Relation.objects.get(pk=waiting.pk).ledger_version
    page = staff_client.get(tab(waiting)).content.decode()
    assert "a newer change is on its way" not in page
    assert "paused" not in page


def test_resuming_from_the_command_line_nudges_the_drain_too(
    waiting, practice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ledger_configure", practice.slug, "--adapter", "local")

    assert ledger_name(waiting) == "Na B.V."


def test_saving_an_unpaused_connection_sends_no_nudge(
    pushed, practice, django_capture_on_commit_callbacks
):
    connection = LedgerConnection.objects.get(practice=practice)
    with django_capture_on_commit_callbacks() as callbacks:
        connection.office_code = "NLA1"
        connection.save()
        LedgerConnection.objects.get(pk=connection.pk).save(update_fields=["cluster_url"])
    assert callbacks == []


# --- one count -----------------------------------------------------------------------------------


def office_page_counts(owner_client) -> dict[str, int]:
    page = owner_client.get(reverse("sync-settings")).content.decode()
    section = page.split("Sync state of the clients", 1)[1].split("</section>", 1)[0]
    return {
        label: int(count)
        for label, count in re.findall(r"<dt>([^<]+)</dt>\s*<dd>(\d+)</dd>", section)
    }


def status_command_counts(practice, capsys) -> dict[str, int]:
    capsys.readouterr()
    call_command("ledger_status", practice.slug)
    lines = capsys.readouterr().out.splitlines()
    return {line[:10].strip(): int(line[10:]) for line in lines if re.fullmatch(r".{10} \d+", line)}


def test_office_page_and_ledger_status_count_the_same(
    waiting, practice, staff, owner_client, capsys
):
    # waiting: pushed, then changed while paused (synced, a newer version not sent)
    clean = created_relation(practice, staff, legal_name="Schoon B.V.")
    backing_off = created_relation(practice, staff, legal_name="Later B.V.")
    failed = created_relation(practice, staff, legal_name="Fout B.V.")
    conflict = created_relation(practice, staff, legal_name="Botsing B.V.")
    LedgerConnection.objects.filter(practice=practice).update(enabled=True)
    drain.push_practice(practice)
    LedgerConnection.objects.filter(practice=practice).update(enabled=False)
    rename(waiting, staff, "Weer Anders B.V.")  # that push took it along: changed again, paused
    with_version = Relation.objects.get(pk=backing_off.pk).ledger_version
    SyncState.objects.filter(relation=backing_off).update(
        status="pending",
        pushed_version=with_version - 1,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    SyncState.objects.filter(relation=failed).update(
        status="failed", failed_version=Relation.objects.get(pk=failed.pk).ledger_version
    )
    SyncState.objects.filter(relation=conflict).update(status="conflict")
    # A client no drain has seen yet: it has no state row, and is due at once.
    RelationFactory(practice=practice, legal_name="Nieuw B.V.")
    RelationFactory(practice=practice, contact=True)  # contacts never go to the ledger
    assert SyncState.objects.filter(relation=clean, status="synced").exists()

    page = office_page_counts(owner_client)
    command = status_command_counts(practice, capsys)

    assert page == {
        "Waiting to be sent": 3,  # changed while paused, backing off, never seen
        "In the ledger": 1,
        "Failed": 1,
        "Changed in the ledger": 1,
        "Due now": 2,  # not the one backing off
    }
    assert command == {
        "pending": 3,
        "synced": 1,
        "failed": 1,
        "conflict": 1,
        "due now": 2,
    }
    assert outbox.ledger_counts(practice).due == outbox.due_states(practice).count() + 1


# --- Send now ------------------------------------------------------------------------------------


# Committed for real (transaction=True), as in `make run`: the eager push runs as the service's
# transaction commits, so the view can say it has been sent.


@pytest.mark.django_db(transaction=True)
def test_ledger_tab_send_now(waiting, practice, staff, staff_client):
    # Resumed without a nudge (a broker that was down, say): the change waits for the sweep.
    LedgerConnection.objects.filter(practice=practice).update(enabled=True)
    page = staff_client.get(tab(waiting)).content.decode()
    assert f'action="{send_now_url(waiting)}"' in page
    assert "Send now" in page

    response = staff_client.post(send_now_url(waiting))

    assert response.status_code == 302
    assert response["Location"] == tab(waiting)
    assert texts(response) == ["Sent to the ledger."]
    assert ledger_name(waiting) == "Na B.V."
    assert SyncState.objects.get(relation=waiting).status == SyncState.Status.SYNCED


@pytest.mark.django_db(transaction=True)
def test_send_now_says_so_in_dutch(waiting, practice, staff):
    LedgerConnection.objects.filter(practice=practice).update(enabled=True)
    dutch = Client(headers={"accept-language": "nl"})
    dutch.force_login(staff)

    assert "Nu versturen" in dutch.get(tab(waiting)).content.decode()
    response = dutch.post(send_now_url(waiting))

    assert texts(response) == ["Verstuurd naar de boekhouding."]


def test_send_now_does_not_wait_for_the_backoff(
    pushed, practice, staff, staff_client, django_capture_on_commit_callbacks
):
    rename(pushed, staff, "Wacht Niet B.V.")
    SyncState.objects.filter(relation=pushed).update(
        status="pending", attempts=3, next_attempt_at=timezone.now() + timedelta(hours=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(send_now_url(pushed))

    assert ledger_name(pushed) == "Wacht Niet B.V."


def test_send_now_sends_a_client_the_ledger_has_not_seen_yet(
    practice, staff_client, django_capture_on_commit_callbacks
):
    relation = RelationFactory(practice=practice, legal_name="Gloednieuw B.V.")
    assert not SyncState.objects.filter(relation=relation).exists()
    assert "Send now" in staff_client.get(tab(relation)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(send_now_url(relation))

    assert ledger_name(relation) == "Gloednieuw B.V."


def test_send_now_while_paused_says_so_and_sends_nothing(
    waiting, staff_client, django_capture_on_commit_callbacks
):
    assert "Send now" not in staff_client.get(tab(waiting)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(send_now_url(waiting))

    assert texts(response) == [
        "Sending to the ledger is paused for this office. "
        "An owner can switch it back on in the ledger settings."
    ]
    assert ledger_name(waiting) == "Voor B.V."


def test_send_now_refuses_a_conflict_until_it_is_resolved(
    pushed, staff_client, django_capture_on_commit_callbacks
):
    SyncState.objects.filter(relation=pushed).update(status="conflict")
    assert "Send now" not in staff_client.get(tab(pushed)).content.decode()

    response = staff_client.post(send_now_url(pushed))

    assert texts(response) == ["Choose which version wins first; then it is sent."]
    assert SyncState.objects.get(relation=pushed).status == SyncState.Status.CONFLICT


def test_send_now_is_for_staff_who_may_change_and_for_the_own_practice_only(
    pushed, readonly_client, outsider_client, staff_client, client
):
    assert "Send now" not in readonly_client.get(tab(pushed)).content.decode()
    assert readonly_client.post(send_now_url(pushed)).status_code == 403
    assert outsider_client.post(send_now_url(pushed)).status_code == 404
    assert staff_client.get(send_now_url(pushed)).status_code == 405
    assert client.post(send_now_url(pushed))["Location"].startswith(reverse("login"))
    contact = RelationFactory(practice=pushed.practice, contact=True)
    response = staff_client.post(send_now_url(contact))
    assert texts(response) == ["Only clients are sent to the ledger."]


def test_send_now_checks_the_csrf_token(pushed, staff):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)

    assert strict.post(send_now_url(pushed)).status_code == 403
