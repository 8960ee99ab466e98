"""The Team tab and its rule: a client always keeps a relationship manager."""

import pytest
from django.urls import reverse

from relations import services
from relations.models import TeamAssignment
from tests.factories import RelationFactory, created_relation

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_relation(practice, staff):
    """A client made through the service, so its creator is its relationship manager."""
    return created_relation(practice, staff)


def add_url(relation):
    return reverse("relations-team-add", args=[relation.public_id])


def test_the_creator_of_a_client_becomes_its_relationship_manager(client_relation, staff):
    assignment = client_relation.team.get()
    assert (assignment.user, assignment.role) == (staff, "manager")


def test_a_converted_contact_gets_the_converter_as_manager(practice, owner):
    contact = RelationFactory(practice=practice, contact=True)
    services.convert_to_client(practice=practice, user=owner, relations=[contact])
    assert contact.team.get(role="manager").user == owner


def test_staff_adds_a_team_member_with_a_role(staff_client, client_relation, owner):
    response = staff_client.post(
        add_url(client_relation), {"member": owner.pk, "role": "accountant"}
    )
    assert response.status_code == 302
    assert client_relation.team.filter(user=owner, role="accountant").exists()
    event = client_relation.timeline.filter(kind="team_added", member=owner).get()
    assert event.fields == ["accountant"]
    page = staff_client.get(reverse("relations-tab", args=[client_relation.public_id, "team"]))
    assert "Accountant" in page.content.decode()


def test_someone_from_another_practice_cannot_be_added(staff_client, client_relation, outsider):
    response = staff_client.post(
        add_url(client_relation), {"member": outsider.pk, "role": "accountant"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not client_relation.team.filter(user=outsider).exists()


def test_the_same_role_twice_is_refused(staff_client, client_relation, staff):
    response = staff_client.post(add_url(client_relation), {"member": staff.pk, "role": "manager"})
    assert "has this role already" in response.content.decode()
    assert client_relation.team.count() == 1


def test_the_last_relationship_manager_cannot_be_removed(staff_client, client_relation):
    only = client_relation.team.get()
    url = reverse("relations-team-remove", args=[client_relation.public_id, only.pk])
    response = staff_client.post(url, follow=True)
    assert "keeps a relationship manager" in response.content.decode()
    assert TeamAssignment.objects.filter(pk=only.pk).exists()


def test_a_manager_can_be_removed_once_another_exists(staff_client, client_relation, owner):
    first = client_relation.team.get()
    services.add_team_member(relation=client_relation, user=owner, member=owner, role="manager")
    url = reverse("relations-team-remove", args=[client_relation.public_id, first.pk])
    staff_client.post(url)
    assert list(client_relation.team.values_list("user", flat=True)) == [owner.pk]
    assert client_relation.timeline.filter(kind="team_removed").exists()


def test_team_views_refuse_outsiders_read_only_and_wrong_methods(
    outsider_client, readonly_client, staff_client, client_relation, owner
):
    only = client_relation.team.get()
    remove = reverse("relations-team-remove", args=[client_relation.public_id, only.pk])
    data = {"member": owner.pk, "role": "assistant"}
    assert outsider_client.post(add_url(client_relation), data).status_code == 404
    assert outsider_client.post(remove).status_code == 404
    assert readonly_client.post(add_url(client_relation), data).status_code == 403
    assert readonly_client.post(remove).status_code == 403
    assert staff_client.get(remove).status_code == 405
    assert client_relation.team.count() == 1


def test_another_relations_assignment_is_404(staff_client, client_relation, practice, staff):
    other = services.create_relation(
        practice=practice, user=staff, relation=RelationFactory.build(practice=practice)
    )
    foreign = other.team.get()
    url = reverse("relations-team-remove", args=[client_relation.public_id, foreign.pk])
    assert staff_client.post(url).status_code == 404


def test_my_relations_filter(staff_client, client_relation, practice):
    not_mine = RelationFactory(practice=practice, legal_name="Niet Van Mij B.V.")
    page = staff_client.get(reverse("relations-list"), {"team": "mine"}).content.decode()
    assert str(client_relation.public_id) in page
    assert str(not_mine.public_id) not in page
