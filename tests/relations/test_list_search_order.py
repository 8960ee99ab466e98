"""A search pages in exactly the list's order, and on PostgreSQL sorts its matches instead of walking.

The list's page query walks a sort index when there is no search. With a search and an exact count it
sorts the matches (`listing.sort_after_matching`), because matches cluster in name order ("Bakkerij …")
and the walk would read every row before them. Both must give the same rows in the same order.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from relations.models import Relation
from relations.text import fold
from relations.views import listing
from tests.factories import RelationFactory

pytestmark = pytest.mark.django_db

URL = "/relations/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def shown(response) -> list[str]:
    return [row.public_id for row in response.context["relations"]]


@pytest.mark.parametrize("sort", list(listing.ORDERINGS))
def test_search_pages_in_the_lists_order_with_ties_broken_by_id(owner_client, practice, sort):
    now = timezone.now()
    for n in range(36):
        # Few distinct names, codes spread, creation times repeating: every sort key has ties.
        trade = "Bakkerij" if n % 4 else "Slagerij"
        RelationFactory(
            practice=practice,
            legal_name=f"{trade} {'ABC'[n % 3]}",
            created_at=now - timedelta(days=n % 5),
        )
    matches = {
        str(r.public_id)
        for r in Relation.objects.filter(practice=practice, display_name__startswith="Bakkerij")
    }
    everything = shown(owner_client.get(URL, {"sort": sort, "per_page": 50}))

    pages = [
        shown(owner_client.get(URL, {"q": "bakkerij", "sort": sort, "per_page": 25, "page": page}))
        for page in (1, 2)
    ]

    assert len(pages[0]) == 25
    assert pages[0] + pages[1] == [pid for pid in everything if pid in matches]


def test_a_search_with_an_exact_count_sorts_its_matches(owner_client, practice):
    # 3,000 names before the 300 matches in name order: walking the name index would test them all.
    Relation.objects.bulk_create(
        Relation(
            practice=practice,
            kind="contact",
            entity="company",
            legal_name=name,
            display_name=name,
            search_text=fold(name),
        )
        for name in [f"Aannemer {n:05}" for n in range(3_000)]
        + [f"Bakkerij {n:05}" for n in range(300)]
    )

    with CaptureQueriesContext(connection) as captured:
        response = owner_client.get(URL, {"q": "bakkerij"})

    assert response.context["count"] == 300
    assert [row.display_name for row in response.context["relations"]][:2] == [
        "Bakkerij 00000",
        "Bakkerij 00001",
    ]
    [page] = [q["sql"] for q in captured.captured_queries if '"id" IN (SELECT' in q["sql"]]
    assert "COALESCE" in page
    if connection.vendor != "postgresql":
        assert connection.vendor == "sqlite"
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE relations_relation")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # The matches are sorted (at this size after a sequential scan, at 100,000 rows after the
    # trigram index: `make bench`), never found by walking the name index.
    assert "Sort Key: (COALESCE" in plan, plan
    assert "relation_practice_name" not in plan, plan
