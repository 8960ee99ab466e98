"""The Dutch deadline kinds every office starts with (its own rows: an office may change them).

Read by the data migration (existing offices) and by the receiver for a new practice (work.apps);
plain data, so the migration does not depend on the model's current code.
"""

from __future__ import annotations

from typing import Any

DEFAULT_KINDS: list[dict[str, Any]] = [
    # Omzetbelasting per kwartaal: the last day of the month after the quarter.
    {
        "key": "btw-kwartaal",
        "name": "Btw-aangifte per kwartaal",
        "anchor": "period_end",
        "offset_months": 1,
    },
    {
        "key": "btw-maand",
        "name": "Btw-aangifte per maand",
        "anchor": "period_end",
        "offset_months": 1,
    },
    # Inkomstenbelasting: 1 May of the year after (uitstel moves it a year on: a relation's override).
    {
        "key": "ib",
        "name": "Aangifte inkomstenbelasting",
        "anchor": "fixed",
        "offset_years": 1,
        "fixed_month": 5,
        "day": 1,
    },
    {
        "key": "vpb",
        "name": "Aangifte vennootschapsbelasting",
        "anchor": "fixed",
        "offset_years": 1,
        "fixed_month": 6,
        "day": 1,
    },
    # Jaarrekening deponeren: within 12 months after the relation's fiscal year end.
    {
        "key": "deponeren",
        "name": "Jaarrekening deponeren",
        "anchor": "fiscal_year_end",
        "offset_months": 12,
    },
    {
        "key": "loonaangifte",
        "name": "Loonaangifte per maand",
        "anchor": "period_end",
        "offset_months": 1,
    },
]


def seed(model: Any, practice_id: int) -> None:
    """Add the kinds this practice lacks (by key); never changes one the office edited."""
    have = set(model.objects.filter(practice_id=practice_id).values_list("key", flat=True))
    model.objects.bulk_create(
        [
            model(practice_id=practice_id, **kind)
            for kind in DEFAULT_KINDS
            if kind["key"] not in have
        ]
    )
