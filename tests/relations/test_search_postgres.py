"""The list's search at a realistic size: on PostgreSQL the trigram GIN index must serve it.

CI runs on PostgreSQL, where this pins that the exact SQL the list view sends (captured from a real
request, not rebuilt by hand) is planned with `relation_search_trgm`. On SQLite, the zero-setup default
without that index, the same data and request must still find the one match.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from relations.models import Relation
from relations.text import fold
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

ROWS = 5_000
RARE = "Zwaluwstaart"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def many_relations(practice, other_practice):
    def build(target, n, name):
        email = f"info{n}@bedrijf{n % 97}.nl"
        code = str(10_000 + n)
        return Relation(
            practice=target,
            kind="client",
            entity="company",
            legal_name=name,
            display_name=name,
            client_code=code,
            email=email,
            search_text=fold(f"{name} {code} {email}"),
        )

    Relation.objects.bulk_create(
        (build(practice, n, f"Bakkerij De Molen {n:05}") for n in range(ROWS)), batch_size=1_000
    )
    # Another practice's rows make the practice filter as realistic as the search.
    Relation.objects.bulk_create(
        (build(other_practice, n, f"Bakkerij Elders {n:05}") for n in range(ROWS // 5)),
        batch_size=1_000,
    )
    return RelationFactory(practice=practice, legal_name=f"Café {RARE} BV")


def _search_queries(client, query: str) -> tuple[list[str], object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/relations/", {"q": query})
    sql = [q["sql"] for q in captured.captured_queries if "relations_relation" in q["sql"]]
    return sql, response


def test_search_finds_the_one_match_among_thousands(owner_client, many_relations):
    sql, response = _search_queries(owner_client, "zwaluw")

    assert [r.display_name for r in response.context["relations"]] == [many_relations.display_name]
    assert response.context["count"] == 1
    # Both the capped count and the page's rows carry the search.
    assert len(sql) == 2
    assert all("zwaluw" in statement for statement in sql)

    if connection.vendor != "postgresql":
        # SQLite has no trigram index (relations/migrations/0002): it scans, and still matches.
        assert connection.vendor == "sqlite"
        return

    with connection.cursor() as cursor:
        # What autovacuum does in production after a bulk load: GIN keeps fresh entries in a pending
        # list that every scan must read in full, so until it is merged the planner (rightly) prefers a
        # sequential scan. VACUUM cannot run inside the test's transaction; this function can.
        cursor.execute("SELECT gin_clean_pending_list('relation_search_trgm'::regclass)")
        cursor.execute("ANALYZE relations_relation")
        for statement in sql:
            # The captured SQL is what psycopg sent, values bound client-side: EXPLAIN it as is.
            cursor.execute(f"EXPLAIN {statement}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "relation_search_trgm" in plan, plan
