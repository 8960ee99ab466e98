"""Personas, as in healthchecks: alice owns the practice, bob is staff, charlie is read-only, and
mallory works for another practice and must never see this one's data."""

import pytest
from django.test import Client

from practice.models import Membership, Practice
from tests.factories import MembershipFactory, PracticeFactory, UserFactory


@pytest.fixture
def practice(db) -> Practice:
    return PracticeFactory.create(name="Administratiekantoor Van Dam", slug="vandam")


@pytest.fixture
def other_practice(db) -> Practice:
    return PracticeFactory.create(name="Boekhouding Elders", slug="elders")


def _member(practice: Practice, username: str, role: str) -> Membership:
    return MembershipFactory.create(
        practice=practice, user=UserFactory.create(username=username), role=role
    )


@pytest.fixture
def owner(practice):
    return _member(practice, "alice", Membership.Role.OWNER).user


@pytest.fixture
def staff(practice):
    return _member(practice, "bob", Membership.Role.STAFF).user


@pytest.fixture
def readonly(practice):
    return _member(practice, "charlie", Membership.Role.READ_ONLY).user


@pytest.fixture
def outsider(other_practice):
    return _member(other_practice, "mallory", Membership.Role.OWNER).user


def _client_for(user) -> Client:
    # English, so that assertions read the msgids; Dutch is tested on its own in tests/practice.
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return _client_for(owner)


@pytest.fixture
def staff_client(staff) -> Client:
    return _client_for(staff)


@pytest.fixture
def readonly_client(readonly) -> Client:
    return _client_for(readonly)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return _client_for(outsider)
