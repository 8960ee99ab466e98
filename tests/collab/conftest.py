"""A client (Bakkerij), Jan its contact with portal access on that connection, and a thread."""

import pytest

from collab import services
from connections import services as connection_services
from connections.models import Connection
from tests.factories import RelationFactory
from tests.portal.conftest import (  # noqa: F401  (fixtures)
    PORTAL_PASSWORD,
    portal_client,
    portal_user,
    send_invitation,
)

BASE_URL = "http://testserver"


@pytest.fixture
def contact(practice):
    return RelationFactory(
        practice=practice,
        contact=True,
        private=True,
        first_name="Jan",
        last_name="de Vries",
        email="jan@devries.example",
    )


@pytest.fixture
def bakkerij(practice, staff):
    return RelationFactory(practice=practice, legal_name="Bakkerij Brood B.V.", created_by=staff)


@pytest.fixture
def access(practice, staff, contact, bakkerij):
    """Jan — contact person at Bakkerij, with portal access for that client."""
    return connection_services.add_connection(
        practice=practice,
        user=staff,
        relation=contact,
        other=bakkerij,
        type=Connection.Type.CONTACT_PERSON,
        subject_is_relation=True,
        portal_access=True,
    )


@pytest.fixture
def thread(bakkerij, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.start_thread(
            client=bakkerij,
            user=staff,
            subject="Jaarrekening 2025",
            body="Wilt u de jaaropgaaf sturen?",
            internal=False,
            base_url=BASE_URL,
        )
