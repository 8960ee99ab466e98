import pytest

from connections import services
from connections.models import Connection
from tests.factories import RelationFactory


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def company(practice):
    return RelationFactory(practice=practice, legal_name="Bakkerij B.V.")


@pytest.fixture
def jan(practice, company):
    """Created after the company, so Jan has the higher id."""
    return RelationFactory(
        practice=practice,
        private=True,
        contact=True,
        first_name="Jan",
        name_prefix="de",
        last_name="Vries",
    )


@pytest.fixture
def connect(practice, staff):
    def _connect(relation, other, type=Connection.Type.DIRECTOR, subject=True, **kwargs):
        return services.add_connection(
            practice=practice,
            user=staff,
            relation=relation,
            other=other,
            type=type,
            subject_is_relation=subject,
            **kwargs,
        )

    return _connect
