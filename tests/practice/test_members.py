"""Kantoor → Medewerkers: inviting, accepting, roles, deactivating, and who is offered where."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from practice import members
from practice.models import AuditEvent, Membership, StaffInvitation
from relations.forms import TeamMemberForm
from relations.models import TeamAssignment, TimelineEvent
from tests.factories import PASSWORD, MembershipFactory, RelationFactory

pytestmark = pytest.mark.django_db

JOIN_LINK = re.compile(r"http://testserver(/office/join/[A-Za-z0-9_\-]+/)")
NEW_PASSWORD = "herfst-bladeren-wind-31"


def _logs_in(username: str, password: str) -> Client | None:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client if response.status_code == 302 else None


def _invite(owner_client, mailoutbox, django_capture_on_commit_callbacks, email="nieuw@example.nl"):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("office-invite"), {"email": email, "role": Membership.Role.STAFF}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    match = JOIN_LINK.search(mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return match.group(1)


def test_the_members_page_lists_roles_last_login_and_relation_counts(
    owner_client, owner, staff, readonly, practice, outsider
):
    client = RelationFactory(practice=practice)
    TeamAssignment.objects.create(practice=practice, relation=client, user=staff, role="manager")
    TeamAssignment.objects.create(practice=practice, relation=client, user=staff, role="accountant")
    page = owner_client.get(reverse("office-members")).content.decode()
    assert "Staff" in page
    assert "Read-only" in page
    assert "Owner" in page
    row = re.search(rf"{staff.get_full_name()}.*?</tr>", page, re.S).group(0)
    assert "<td>1</td>" in row  # one relation, however many roles on it
    assert outsider.get_full_name() not in page


def test_only_the_owner_sees_the_members_page(staff_client, owner_client):
    assert staff_client.get(reverse("office-members")).status_code == 403
    assert owner_client.get(reverse("office-members")).status_code == 200


def test_a_colleague_accepts_once_with_name_and_password(
    owner_client, owner, practice, mailoutbox, django_capture_on_commit_callbacks
):
    path = _invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    invitation = StaffInvitation.objects.get()
    assert path.split("/")[-2] not in invitation.token_hash  # only the hash is stored
    assert invitation.token_hash == members.hash_token(path.split("/")[-2])
    guest = Client(headers={"accept-language": "en"})
    weak = guest.post(
        path, {"first_name": "Nina", "last_name": "Nieuw", "password1": "123", "password2": "123"}
    )
    assert weak.status_code == 200
    assert "too short" in weak.content.decode()
    response = guest.post(
        path,
        {
            "first_name": "Nina",
            "last_name": "Nieuw",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="nieuw@example.nl")
    assert user.get_full_name() == "Nina Nieuw"
    assert Membership.objects.get(user=user, practice=practice).role == Membership.Role.STAFF
    again = Client().get(path)
    assert again.status_code == 410
    assert _logs_in("nieuw@example.nl", NEW_PASSWORD)
    events = list(AuditEvent.objects.filter(practice=practice).values_list("event", flat=True))
    assert AuditEvent.Event.MEMBER_INVITED in events
    assert AuditEvent.Event.MEMBER_JOINED in events


def test_resend_voids_the_old_link_and_revoke_voids_the_new(
    owner_client, mailoutbox, django_capture_on_commit_callbacks
):
    first = _invite(owner_client, mailoutbox, django_capture_on_commit_callbacks)
    invitation = StaffInvitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("office-invitation-resend", args=[invitation.pk]))
    second = JOIN_LINK.search(mailoutbox[-1].body).group(1)
    assert first != second
    assert Client().get(first).status_code == 410
    assert Client().get(second).status_code == 200
    current = StaffInvitation.objects.open().get()
    owner_client.post(reverse("office-invitation-revoke", args=[current.pk]), {"confirmed": "1"})
    assert Client().get(second).status_code == 410
    assert Client().get("/office/join/made-up/").status_code == 404


def test_inviting_an_existing_member_is_refused(owner_client, staff):
    response = owner_client.post(reverse("office-invite"), {"email": staff.email, "role": "staff"})
    assert response.status_code == 200
    assert "already belongs to a member" in response.content.decode()
    assert not StaffInvitation.objects.exists()


def test_the_last_owner_can_be_neither_demoted_nor_deactivated(owner_client, owner, practice):
    mine = Membership.objects.get(user=owner, practice=practice)
    owner_client.post(reverse("office-member-role", args=[mine.pk]), {"role": "staff"})
    owner_client.post(reverse("office-member-deactivate", args=[mine.pk]), {"confirmed": "1"})
    mine.refresh_from_db()
    assert mine.role == Membership.Role.OWNER
    assert mine.is_active
    page = owner_client.get(reverse("office-member-deactivate", args=[mine.pk])).content.decode()
    assert "at least one active owner" in page


def test_with_a_second_owner_the_first_may_step_down(owner_client, owner, practice):
    MembershipFactory(practice=practice, role=Membership.Role.OWNER)
    mine = Membership.objects.get(user=owner, practice=practice)
    owner_client.post(reverse("office-member-role", args=[mine.pk]), {"role": "staff"})
    mine.refresh_from_db()
    assert mine.role == Membership.Role.STAFF
    event = AuditEvent.objects.get(event=AuditEvent.Event.ROLE_CHANGED)
    assert event.subject == owner
    assert event.detail == "owner>staff"


def test_a_deactivated_member_cannot_log_in_and_is_not_offered_but_stays_on_history(
    owner_client, owner, staff, practice
):
    relation = RelationFactory(practice=practice)
    TeamAssignment.objects.create(
        practice=practice, relation=relation, user=staff, role="accountant"
    )
    TimelineEvent.record(relation, TimelineEvent.Kind.CHANGED, actor=staff)
    membership = Membership.objects.get(user=staff, practice=practice)
    before = Client()
    before.force_login(staff)
    response = owner_client.post(
        reverse("office-member-deactivate", args=[membership.pk]), {"confirmed": "1"}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.is_active  # still there: never deleted
    # Cannot log in, and a session of before the deactivation ends.
    assert not _logs_in(staff.username, PASSWORD)
    assert before.get(reverse("home")).status_code == 302
    # Not offered in the team picker…
    form = TeamMemberForm(practice=practice)
    assert staff not in form.fields["member"].queryset
    assert owner in form.fields["member"].queryset
    # …but still on the history, and their places are listed for reassignment.
    timeline = owner_client.get(
        reverse("relations-tab", args=[relation.public_id, "timeline"])
    ).content.decode()
    assert escape(staff.get_full_name()) in timeline
    page = owner_client.get(reverse("office-member", args=[membership.pk])).content.decode()
    assert escape(str(relation)) in page
    assert AuditEvent.objects.filter(
        event=AuditEvent.Event.MEMBER_DEACTIVATED, subject=staff, practice=practice
    ).exists()


def test_a_member_of_two_offices_deactivated_in_one_works_on_in_the_other(
    owner_client, staff, practice, other_practice
):
    MembershipFactory(practice=other_practice, user=staff, role=Membership.Role.STAFF)
    membership = Membership.objects.get(user=staff, practice=practice)
    owner_client.post(reverse("office-member-deactivate", args=[membership.pk]), {"confirmed": "1"})
    client = _logs_in(staff.username, PASSWORD)
    assert client is not None
    page = client.get(reverse("home")).content.decode()
    assert other_practice.name in page
    assert practice.name not in page


def test_reactivating_lets_them_in_again(owner_client, staff, practice):
    membership = Membership.objects.get(user=staff, practice=practice)
    owner_client.post(reverse("office-member-deactivate", args=[membership.pk]), {"confirmed": "1"})
    owner_client.post(reverse("office-member-reactivate", args=[membership.pk]))
    assert _logs_in(staff.username, PASSWORD)


def test_audit_rows_hold_no_personal_values(
    owner_client, practice, mailoutbox, django_capture_on_commit_callbacks
):
    _invite(owner_client, mailoutbox, django_capture_on_commit_callbacks, email="geheim@example.nl")
    for row in AuditEvent.objects.values_list("detail", "path", "username"):
        assert "geheim" not in " ".join(row)


def test_a_signed_in_colleague_of_another_office_joins_with_one_click(
    owner_client, outsider, practice, mailoutbox, django_capture_on_commit_callbacks
):
    path = _invite(
        owner_client, mailoutbox, django_capture_on_commit_callbacks, email=outsider.email
    )
    anonymous = Client(headers={"accept-language": "en"}).get(path)
    assert "already has a Kring account" in anonymous.content.decode()
    client = Client()
    client.force_login(outsider)
    assert client.post(path).status_code == 302
    assert Membership.objects.filter(user=outsider, practice=practice).exists()


def test_a_new_office_is_told_what_to_do_first(owner_client):
    page = owner_client.get(reverse("home")).content.decode()
    assert reverse("relations-new") in page
    assert reverse("sync-import") in page
    assert reverse("office-invite") in page
