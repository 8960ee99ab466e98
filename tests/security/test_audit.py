"""The audit log: sign-ins, sign-outs, failed sign-ins, lockouts, 403s and the 404s that hid another
practice's object are written — with who and from where, never a password or a BSN — and the admin
shows them but cannot change or delete them."""

import logging

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from practice.models import AuditEvent
from tests.factories import PASSWORD, RelationFactory, UserFactory

pytestmark = pytest.mark.django_db

Event = AuditEvent.Event
IP = "192.0.2.44"
SECRET = "Geheim-wachtwoord-9481"
BSN = "111222333"  # passes the elfproef
OTHER_BSN = "123456782"


def browser(**extra) -> Client:
    return Client(headers={"accept-language": "en"}, REMOTE_ADDR=IP, **extra)


def signed_in(user) -> Client:
    client = browser()
    client.force_login(user)
    # force_login is a login too; the tests are about what follows it.
    AuditEvent.objects.filter(event=Event.LOGIN, user=user).delete()
    return client


@pytest.fixture
def relation(practice):
    return RelationFactory(practice=practice, private=True, first_name="Piet", last_name="Jansen")


def only(event: str) -> AuditEvent:
    return AuditEvent.objects.get(event=event)


def test_a_login_is_written_with_user_practice_ip_and_path(owner, practice, caplog):
    with caplog.at_level(logging.INFO, logger="kring.audit"):
        response = browser().post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    row = only(Event.LOGIN)
    assert (row.user, row.username, row.practice, row.ip_address, row.path) == (
        owner,
        "alice",
        practice,
        IP,
        "/login/",
    )
    assert [r.getMessage() for r in caplog.records if r.name == "kring.audit"] == [
        f"login username='alice' user={owner.pk} practice={practice.pk} ip={IP} path=/login/"
    ]


def test_a_logout_is_written(owner, practice):
    client = signed_in(owner)
    client.get(reverse("home"))
    client.post(reverse("logout"))
    row = only(Event.LOGOUT)
    assert (row.user, row.practice, row.path) == (owner, practice, "/logout/")


def test_a_failed_login_is_written_with_the_name_tried(owner):
    browser().post(reverse("login"), {"username": "alice", "password": SECRET})
    browser().post(reverse("login"), {"username": "nobody", "password": SECRET})
    rows = AuditEvent.objects.filter(event=Event.LOGIN_FAILED).order_by("pk")
    assert [(r.username, r.user, r.ip_address, r.path) for r in rows] == [
        ("alice", None, IP, "/login/"),
        ("nobody", None, IP, "/login/"),
    ]


def test_a_lockout_is_written_and_so_is_each_refusal_during_it(owner):
    client = browser()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": SECRET})
    assert (
        AuditEvent.objects.filter(event=Event.LOGIN_FAILED).count() == settings.AXES_FAILURE_LIMIT
    )
    assert only(Event.LOCKED_OUT).username == "alice"
    client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert AuditEvent.objects.filter(event=Event.LOCKED_OUT, username="alice").count() == 2
    assert not AuditEvent.objects.filter(event=Event.LOGIN).exists()


def test_portal_sign_ins_are_written_by_the_address_tried(db):
    browser().post(reverse("portal-login"), {"email": "Jan@Example.nl", "password": SECRET})
    assert only(Event.LOGIN_FAILED).username == "jan@example.nl"
    assert only(Event.LOGIN_FAILED).path == "/portal/login/"


def test_a_read_only_members_change_is_written_as_denied(readonly, practice, relation):
    client = signed_in(readonly)
    response = client.post(reverse("relations-archive", args=[relation.public_id]))
    assert response.status_code == 403
    row = only(Event.PERMISSION_DENIED)
    assert (row.user, row.practice, row.ip_address, row.path) == (
        readonly,
        practice,
        IP,
        f"/relations/{relation.public_id}/archive/",
    )


def test_a_csrf_failure_is_written_as_denied(owner):
    client = browser(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert only(Event.PERMISSION_DENIED).path == "/login/"
    assert not AuditEvent.objects.filter(event=Event.LOGIN).exists()


def test_asking_for_another_practices_object_is_written(outsider, other_practice, relation):
    client = signed_in(outsider)
    response = client.get(relation.get_absolute_url())
    assert response.status_code == 404
    row = only(Event.OTHER_PRACTICE)
    assert (row.user, row.practice, row.path) == (
        outsider,
        other_practice,
        relation.get_absolute_url(),
    )


def test_an_id_that_exists_nowhere_is_an_ordinary_404(outsider):
    client = signed_in(outsider)
    response = client.get(
        reverse("relations-detail", args=["00000000-0000-4000-8000-000000000000"])
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.exists()


def test_ordinary_pages_write_nothing(staff, relation):
    client = signed_in(staff)
    assert client.get(relation.get_absolute_url()).status_code == 200
    assert client.get(reverse("relations-list")).status_code == 200
    assert not AuditEvent.objects.exists()


def test_an_invitation_token_in_a_denied_path_is_not_written(staff, practice, mailoutbox):
    from portal import services

    contact = RelationFactory(practice=practice, contact=True, private=True, email="jan@x.nl")
    services.invite(relation=contact, user=staff, base_url="http://testserver")
    token = "A" * 43  # a staff account is refused before the token is even looked at
    response = signed_in(staff).get(reverse("portal-accept", args=[token]))
    assert response.status_code == 403
    assert only(Event.PERMISSION_DENIED).path == "/portal/accept/…/"


def test_no_password_and_no_bsn_reach_the_audit_axes_or_the_logs(
    owner, readonly, outsider, relation, caplog
):
    caplog.set_level(logging.DEBUG)  # every logger, every level
    form = {
        "first_name": "Piet",
        "last_name": "Jansen",
        "bsn": BSN,
        "email": "piet@example.nl",
        "language": "nl",
    }
    anonymous = browser()
    # A BSN typed as the username, a BSN in an extra field, a password: failing, then locked out.
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        anonymous.post(reverse("login"), {"username": BSN, "password": SECRET, "bsn": OTHER_BSN})
    anonymous.post(reverse("login"), {"username": "alice", "password": SECRET, "bsn": BSN})
    anonymous.post(reverse("portal-login"), {"email": "a@b.nl", "password": SECRET, "bsn": BSN})
    # A read-only member and an outsider posting the edit form with a BSN: 403 and 404.
    edit = reverse("relations-edit", args=[relation.public_id])
    assert signed_in(readonly).post(edit, form).status_code == 403
    assert signed_in(outsider).post(edit, form).status_code == 404
    relation.refresh_from_db()
    assert relation.bsn == ""

    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {Event.LOGIN_FAILED, Event.LOCKED_OUT, Event.PERMISSION_DENIED} <= events
    assert Event.OTHER_PRACTICE in events
    stored = [
        str(row) for model in (AuditEvent, AccessAttempt) for row in model.objects.values_list()
    ]
    logged = caplog.text + "".join(repr(r.args) + str(r.msg) for r in caplog.records)
    assert stored
    assert caplog.records
    for secret in (SECRET, BSN, OTHER_BSN):
        assert not [s for s in stored if secret in s], secret
        assert secret not in logged, secret
    assert AuditEvent.objects.filter(username="[masked]").exists()


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def admin_client(db):
    client = browser()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_the_admin_lists_and_shows_audit_events(admin_client, owner):
    browser().post(reverse("login"), {"username": "alice", "password": SECRET})
    row = only(Event.LOGIN_FAILED)
    changelist = admin_client.get(reverse("admin:practice_auditevent_changelist"))
    assert changelist.status_code == 200
    assert "alice" in changelist.content.decode()
    detail = admin_client.get(reverse("admin:practice_auditevent_change", args=[row.pk]))
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()


def test_the_admin_cannot_add_change_or_delete_audit_events(admin_client, owner):
    browser().post(reverse("login"), {"username": "alice", "password": SECRET})
    row = only(Event.LOGIN_FAILED)
    before = list(AuditEvent.objects.values_list())
    assert admin_client.get(reverse("admin:practice_auditevent_add")).status_code == 403
    change = reverse("admin:practice_auditevent_change", args=[row.pk])
    assert admin_client.post(change, {"event": "login", "username": "x"}).status_code == 403
    delete = reverse("admin:practice_auditevent_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:practice_auditevent_changelist")
    bulk = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    admin_client.post(changelist, bulk)
    assert list(AuditEvent.objects.filter(pk__in=[r[0] for r in before]).values_list()) == before
