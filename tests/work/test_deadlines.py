"""The deadline rules: anchors, offsets, the roll to a working day, and Amsterdam's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from tests.factories import PracticeFactory, RelationFactory
from work import dates
from work.deadlines import DEFAULT_KINDS
from work.models import DeadlineKind

pytestmark = pytest.mark.django_db


def kind(practice, key):
    return DeadlineKind.objects.get(practice=practice, key=key)


def test_a_new_practice_gets_every_dutch_deadline_kind(practice):
    keys = set(DeadlineKind.objects.filter(practice=practice).values_list("key", flat=True))
    assert keys == {k["key"] for k in DEFAULT_KINDS}


def test_vat_per_quarter_is_due_at_the_end_of_the_month_after_the_quarter(practice):
    q3 = dates.parse_period("quarter", "2026-Q3")
    assert kind(practice, "btw-kwartaal").due_for(q3) == date(2026, 11, 2)  # 31 Oct is a Saturday


def test_a_deadline_on_a_saturday_rolls_to_monday(practice):
    # Q1 2026: 30 April is a Thursday; Q2: 31 July is a Friday; Q3: 31 October 2026 is a Saturday.
    q1 = dates.parse_period("quarter", "2026-Q1")
    assert kind(practice, "btw-kwartaal").due_for(q1) == date(2026, 4, 30)
    assert date(2026, 10, 31).weekday() == 5
    assert dates.roll(date(2026, 10, 31)) == date(2026, 11, 2)


def test_a_deadline_on_koningsdag_rolls_to_the_next_working_day(practice):
    # An office's own kind: the 27th of the month after the quarter; Koningsdag 2027 is a Tuesday.
    own = DeadlineKind.objects.create(
        practice=practice, key="eigen", name="Eigen", anchor="period_end", offset_months=1, day=27
    )
    q1 = dates.parse_period("quarter", "2027-Q1")
    assert date(2027, 4, 27).weekday() == 1
    assert own.due_for(q1) == date(2027, 4, 28)


def test_bevrijdingsdag_counts_every_year_as_the_termijnenwet_says():
    assert date(2026, 5, 5).weekday() == 1  # 2026 is no lustrum year
    assert dates.roll(date(2026, 5, 5)) == date(2026, 5, 6)
    # 5 May 2027 is a Wednesday and the 6th Ascension Day: on to the Friday.
    assert dates.roll(date(2027, 5, 5)) == date(2027, 5, 7)


def test_income_tax_is_due_on_1_may_of_the_next_year(practice):
    year = dates.parse_period("year", "2025")
    # 1 May 2026 is a Friday.
    assert kind(practice, "ib").due_for(year) == date(2026, 5, 1)
    # 1 June 2026 is a Monday.
    assert kind(practice, "vpb").due_for(year) == date(2026, 6, 1)


def test_filing_the_annual_accounts_follows_the_clients_fiscal_year_end(practice):
    year = dates.parse_period("year", "2025")
    december = RelationFactory.create(practice=practice)
    june = RelationFactory.create(practice=practice, fiscal_year_end_month=6)
    filing = kind(practice, "deponeren")
    assert filing.due_for(year, december) == date(2026, 12, 31)
    assert filing.due_for(year, june) == date(2026, 6, 30)


def test_monthly_payroll_is_due_at_the_end_of_the_next_month(practice):
    january = dates.parse_period("month", "2026-01")
    # 28 February 2026 is a Saturday: on to Monday 2 March.
    assert kind(practice, "loonaangifte").due_for(january) == date(2026, 3, 2)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Adak"])
def test_today_is_amsterdams_day_whatever_the_server_or_member_zone(settings, zone):
    # 23:30 UTC on 31 December: already 1 January in Amsterdam, 2 January... in Kiritimati (UTC+14),
    # still 31 December in Adak (UTC-10).
    moment = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    settings.TIME_ZONE = zone
    with timezone.override(zone):
        assert dates.today(moment) == date(2027, 1, 1)


def test_periods_parse_only_their_own_keys():
    assert dates.parse_period("quarter", "2026-Q3").label == "Q3 2026"
    assert dates.parse_period("quarter", "2026-Q5") is None
    assert dates.parse_period("month", "2026-13") is None
    assert dates.parse_period("year", "26") is None
    assert dates.parse_period("month", "2026-Q1") is None


def test_the_seed_leaves_an_offices_own_changes_alone(practice):
    from work import deadlines

    ib = kind(practice, "ib")
    ib.name = "IB (eigen naam)"
    ib.save()
    deadlines.seed(DeadlineKind, practice.pk)
    assert kind(practice, "ib").name == "IB (eigen naam)"
    assert DeadlineKind.objects.filter(practice=practice).count() == len(DEFAULT_KINDS)


def test_a_practice_made_before_the_app_is_seeded_by_the_migration_rule():
    other = PracticeFactory.create()
    DeadlineKind.objects.filter(practice=other).delete()
    from work import deadlines

    deadlines.seed(DeadlineKind, other.pk)
    assert DeadlineKind.objects.filter(practice=other).count() == len(DEFAULT_KINDS)
