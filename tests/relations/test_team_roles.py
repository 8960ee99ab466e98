"""The office's team roles (Kantoor → Teamrollen), assigning in bulk and handing over (relations.roles)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from practice.models import Membership
from relations import roles, services
from relations.models import Relation, TeamAssignment, TeamRole, TimelineEvent
from tests.factories import MembershipFactory, PracticeFactory, RelationFactory, UserFactory

pytestmark = pytest.mark.django_db

SEEDED = ["manager", "accountant", "tax_advisor", "assistant", "payroll", "secretary"]


def role(practice, key):
    return TeamRole.objects.get(practice=practice, key=key)


def place(practice, relation, user, key):
    return TeamAssignment.objects.create(practice=practice, relation=relation, user=user, role=key)


def test_a_new_practice_starts_with_the_six_roles_the_manager_required():
    practice = PracticeFactory.create()
    found = list(TeamRole.objects.filter(practice=practice))
    assert [r.key for r in found] == SEEDED
    assert [r.key for r in found if r.required] == ["manager"]
    with translation.override("en"):
        labels = [r.label for r in found]
    assert labels == [
        "Relationship manager",
        "Accountant",
        "Tax advisor",
        "Assistant",
        "Payroll",
        "Secretariat",
    ]


def test_the_seeded_roles_read_dutch_in_dutch(practice):
    with translation.override("nl"):
        labels = [r.label for r in TeamRole.objects.filter(practice=practice)]
    assert labels == [
        "Klantbeheerder",
        "Accountant",
        "Fiscalist",
        "Administratie",
        "Salarisadministratie",
        "Secretariaat",
    ]


def test_a_place_points_at_its_practices_role(practice, other_practice, owner):
    relation = RelationFactory(practice=practice)
    assignment = place(practice, relation, owner, "tax_advisor")
    assert assignment.team_role == role(practice, "tax_advisor")
    assert assignment.team_role != role(other_practice, "tax_advisor")


def test_holding_finds_the_holders_of_a_role_by_key(practice, owner, staff):
    relation = RelationFactory(practice=practice)
    place(practice, relation, owner, "manager")
    place(practice, relation, staff, "tax_advisor")
    place(practice, relation, owner, "tax_advisor")  # several people in one role, several roles
    holders = TeamAssignment.objects.filter(relation=relation).holding("tax_advisor")
    assert {a.user for a in holders} == {owner, staff}
    assert [a.user for a in TeamAssignment.objects.holding("manager")] == [owner]


def test_a_role_in_use_cannot_be_deleted_but_can_be_deactivated(practice, owner):
    relation = RelationFactory(practice=practice)
    place(practice, relation, owner, "payroll")
    payroll = role(practice, "payroll")
    with pytest.raises(ValidationError):
        roles.delete_role(role=payroll)
    assert TeamRole.objects.filter(pk=payroll.pk).exists()
    roles.set_role_active(role=payroll, active=False)
    payroll.refresh_from_db()
    assert not payroll.active
    # A deactivated role is offered no more.
    with pytest.raises(ValidationError):
        services.add_team_member(relation=relation, user=owner, member=owner, role="payroll")


def test_an_unused_role_is_deleted(practice):
    secretary = role(practice, "secretary")
    roles.delete_role(role=secretary)
    assert not TeamRole.objects.filter(pk=secretary.pk).exists()


def test_the_required_role_stays(practice):
    manager = role(practice, "manager")
    with pytest.raises(ValidationError):
        roles.delete_role(role=manager)
    with pytest.raises(ValidationError):
        roles.set_role_active(role=manager, active=False)
    manager.refresh_from_db()
    assert manager.active
    assert manager.required


def test_a_client_keeps_a_relationship_manager(practice, owner):
    client = RelationFactory(practice=practice)
    only = place(practice, client, owner, "manager")
    with pytest.raises(ValidationError):
        services.remove_team_member(assignment=only, user=owner)


def test_a_deactivated_member_is_refused(practice, owner, staff):
    relation = RelationFactory(practice=practice)
    Membership.objects.filter(practice=practice, user=staff).update(deactivated_at=timezone.now())
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        services.add_team_member(relation=relation, user=owner, member=staff, role="accountant")
    assert "deactivated" in str(caught.value)
    with pytest.raises(ValidationError):
        roles.assign(
            practice=practice,
            user=owner,
            relations=[relation],
            member=staff,
            role=role(practice, "accountant"),
        )
    assert not relation.team.exists()


def test_another_practices_role_is_refused(practice, other_practice, owner):
    relation = RelationFactory(practice=practice)
    with pytest.raises(ValidationError):
        services.add_team_member(
            relation=relation, user=owner, member=owner, role=role(other_practice, "accountant")
        )


def test_the_owner_adds_renames_reorders_and_deactivates(owner_client, practice):
    url = reverse("team-roles")
    assert owner_client.post(url, {"name": "Controller"}).status_code == 302
    added = TeamRole.objects.get(practice=practice, name="Controller")
    assert added.key == "controller"
    assert added.position > role(practice, "secretary").position
    # A name the office has already (its default label too) is refused.
    response = owner_client.post(url, {"name": "accountant"})
    assert response.status_code == 200
    assert "already" in response.content.decode()

    rename = reverse("team-role-rename", args=[role(practice, "assistant").pk])
    owner_client.post(rename, {"name": "Administratie & co"})
    assert role(practice, "assistant").label == "Administratie & co"
    assert role(practice, "assistant").key == "assistant"  # the key never changes

    owner_client.post(reverse("team-role-move", args=[added.pk]), {"direction": "up"})
    keys = list(TeamRole.objects.filter(practice=practice).values_list("key", flat=True))
    assert keys[-2:] == ["controller", "secretary"]

    owner_client.post(reverse("team-role-active", args=[added.pk]), {"active": "0"})
    assert not TeamRole.objects.get(pk=added.pk).active
    page = owner_client.get(url).content.decode()
    assert "Controller" in page
    assert "Administratie &amp; co" in page


def test_the_team_roles_page_is_the_owners(staff_client):
    assert staff_client.get(reverse("team-roles")).status_code == 403


def test_deleting_a_held_role_from_the_page_is_refused(owner_client, practice, owner):
    place(practice, RelationFactory(practice=practice), owner, "payroll")
    url = reverse("team-role-delete", args=[role(practice, "payroll").pk])
    page = owner_client.get(url).content.decode()
    assert "deactivate it instead" in page
    owner_client.post(url, {"confirmed": "1"})
    assert TeamRole.objects.filter(practice=practice, key="payroll").exists()


# --- Teamlid toewijzen from the list --------------------------------------------------------------


def test_bulk_assign_asks_for_role_and_member_and_reports_row_by_row(
    owner_client, practice, owner, staff
):
    fresh = RelationFactory(practice=practice, legal_name="Nieuw BV")
    holding = RelationFactory(practice=practice, legal_name="Al BV")
    place(practice, holding, staff, "tax_advisor")
    archived = RelationFactory(practice=practice, legal_name="Weg BV", archived_at=timezone.now())
    ids = [str(r.public_id) for r in (fresh, holding, archived)]
    url = reverse("relations-bulk")

    asked = owner_client.post(url, {"action": "assign_team", "ids": ids})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert 'name="member"' in page
    assert 'name="role"' in page
    assert "Weg BV" in page
    assert not TeamAssignment.objects.filter(user=staff, relation=fresh).exists()

    done = owner_client.post(
        url,
        {
            "action": "assign_team",
            "ids": ids,
            "confirmed": "1",
            "member": staff.pk,
            "role": "tax_advisor",
            "next": reverse("relations-list"),
        },
    )
    assert done.status_code == 302
    assert fresh.team.get(user=staff).role == "tax_advisor"
    assert holding.team.filter(user=staff).count() == 1
    assert not archived.team.exists()
    report = owner_client.session["bulk_result"]
    assert [row[0] for row in report["done"]] == ["Nieuw BV"]
    assert sorted((row[0], row[1]) for row in report["skipped"]) == [
        ("Al BV", "already holds this role"),
        ("Weg BV", "archived; restore it first"),
    ]
    event = fresh.timeline.get(kind=TimelineEvent.Kind.TEAM_ADDED)
    assert (event.member, event.fields) == (staff, ["tax_advisor"])
    # The list shows the result; the colleague finds the client under "mine".
    listed = owner_client.get(reverse("relations-list")).content.decode()
    assert "Added to the team" in listed


def test_bulk_assign_refuses_another_practices_member(owner_client, practice, outsider):
    relation = RelationFactory(practice=practice)
    response = owner_client.post(
        reverse("relations-bulk"),
        {
            "action": "assign_team",
            "ids": [str(relation.public_id)],
            "confirmed": "1",
            "member": outsider.pk,
            "role": "accountant",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert not relation.team.exists()


# --- Overdragen -----------------------------------------------------------------------------------


def test_hand_over_previews_then_moves_every_place(owner_client, practice, owner, staff):
    leaver = MembershipFactory(practice=practice, user=UserFactory(username="dirk"))
    a = RelationFactory(practice=practice, legal_name="Alfa BV")
    b = RelationFactory(practice=practice, legal_name="Beta BV")
    place(practice, a, leaver.user, "manager")
    place(practice, a, leaver.user, "payroll")
    place(practice, b, leaver.user, "accountant")
    place(practice, b, staff, "accountant")  # staff holds it there already
    url = reverse("team-hand-over", args=[leaver.pk])

    assert owner_client.get(url).status_code == 200
    preview = owner_client.post(url, {"to": staff.pk})
    assert preview.status_code == 200
    assert "Alfa BV" in preview.content.decode()
    assert TeamAssignment.objects.filter(user=leaver.user).count() == 3  # nothing changed yet

    done = owner_client.post(url, {"to": staff.pk, "confirmed": "1"})
    assert done.status_code == 200
    page = done.content.decode()
    assert "Alfa BV" in page
    assert "Beta BV" in page
    assert not TeamAssignment.objects.filter(user=leaver.user).exists()
    assert set(a.team.values_list("user__username", "role")) == {
        ("bob", "manager"),
        ("bob", "payroll"),
    }
    assert list(b.team.values_list("user__username", "role")) == [("bob", "accountant")]
    event = a.timeline.get(kind=TimelineEvent.Kind.TEAM_HANDED_OVER)
    assert (event.member, event.actor, event.fields) == (staff, owner, ["manager", "payroll"])


def test_hand_over_of_one_role_only(practice, owner, staff):
    relation = RelationFactory(practice=practice)
    place(practice, relation, owner, "manager")
    place(practice, relation, owner, "payroll")
    roles.hand_over(
        practice=practice, user=owner, member=owner, to=staff, role=role(practice, "payroll")
    )
    assert set(relation.team.values_list("user__username", "role")) == {
        ("alice", "manager"),
        ("bob", "payroll"),
    }


def test_hand_over_to_a_deactivated_member_is_refused(practice, owner, staff):
    place(practice, RelationFactory(practice=practice), owner, "manager")
    Membership.objects.filter(user=staff).update(deactivated_at=timezone.now())
    with pytest.raises(ValidationError):
        roles.hand_over(practice=practice, user=owner, member=owner, to=staff)
    assert TeamAssignment.objects.filter(user=owner).count() == 1


def test_handing_over_1000_relations_is_one_transaction_with_a_correct_report(
    practice, owner, staff
):
    relations = Relation.objects.bulk_create(
        Relation(
            practice=practice,
            kind="client",
            entity="company",
            legal_name=f"Klant {n}",
            display_name=f"Klant {n:04d}",
            client_code=str(10000 + n),
        )
        for n in range(1000)
    )
    manager = role(practice, "manager")
    TeamAssignment.objects.bulk_create(
        TeamAssignment(practice=practice, relation=r, user=owner, role="manager", team_role=manager)
        for r in relations
    )
    # Staff manages fifty of them already: those places of the leaver go, the rest move.
    TeamAssignment.objects.bulk_create(
        TeamAssignment(practice=practice, relation=r, user=staff, role="manager", team_role=manager)
        for r in relations[:50]
    )
    with CaptureQueriesContext(connection) as captured:
        plan = roles.hand_over(practice=practice, user=owner, member=owner, to=staff)
    sql = [q["sql"].upper() for q in captured.captured_queries]
    begins = [s for s in sql if s.startswith(("SAVEPOINT", "BEGIN"))]
    assert len(begins) <= 1  # one transaction (a savepoint inside the test's own)
    assert len(sql) <= 14, sql  # constant: no query per relation
    assert len(plan.relations) == 1000
    assert sum(len(v) for v in plan.moved.values()) == 950
    assert sum(len(v) for v in plan.merged.values()) == 50
    assert plan.places == 1000
    assert not TeamAssignment.objects.filter(user=owner).exists()
    assert TeamAssignment.objects.filter(user=staff, role="manager").count() == 1000
    assert TimelineEvent.objects.filter(kind=TimelineEvent.Kind.TEAM_HANDED_OVER).count() == 1000
