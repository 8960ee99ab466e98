"""Dates of the office's work: always `date`s, always in Europe/Amsterdam.

A deadline is a day in the Netherlands, whatever TIME_ZONE the server runs in or the zone a member
has activated: the day is read from the Amsterdam clock (`today`) and all arithmetic after that is on
dates, so a task is never due a day early in Adak or a day late on Kiritimati.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def today(now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), AMSTERDAM).date()


def end_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> tuple[int, int]:
    """The (year, month) `months` after `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return index // 12, index % 12 + 1


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    days = set(holidays.country_holidays("NL", years=year))
    # The Algemene termijnenwet counts Bevrijdingsdag (5 May) every year, not only in the lustrum
    # years in which it is a national day off; a legal deadline on it moves too.
    days.add(date(year, 5, 5))
    return frozenset(days)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def roll(day: date, *, backwards: bool = False) -> date:
    """The day itself when it is a working day, else the next one (the previous one, backwards)."""
    step = timedelta(days=-1 if backwards else 1)
    while not is_working_day(day):
        day += step
    return day


@dataclass(frozen=True)
class Period:
    """What a process is for: a month, a quarter, a year, or once. `key` is stable and sortable."""

    kind: str  # PeriodKind value: month / quarter / year / once
    key: str  # "2026-07", "2026-Q3", "2026", "once"
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{MONTHS[self.start.month]} {self.start.year}"
        if self.kind == "quarter":
            return _("Q%(quarter)s %(year)s") % {
                "quarter": (self.start.month - 1) // 3 + 1,
                "year": self.start.year,
            }
        if self.kind == "year":
            return str(self.start.year)
        return _("once")


def period_of(kind: str, day: date) -> Period:
    """The period of `kind` that holds `day`."""
    if kind == "month":
        return Period(
            kind,
            f"{day.year}-{day.month:02d}",
            day.replace(day=1),
            end_of_month(day.year, day.month),
        )
    if kind == "quarter":
        quarter = (day.month - 1) // 3 + 1
        first = 3 * quarter - 2
        return Period(
            kind,
            f"{day.year}-Q{quarter}",
            date(day.year, first, 1),
            end_of_month(day.year, first + 2),
        )
    if kind == "year":
        return Period(kind, str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))
    return Period("once", "once", day, day)


def parse_period(kind: str, key: str, *, on: date | None = None) -> Period | None:
    """The period a key names (None for one that is not of `kind`)."""
    try:
        if kind == "month":
            year, month = key.split("-")
            if len(year) != 4 or len(month) != 2:
                return None
            return period_of(kind, date(int(year), int(month), 1))
        if kind == "quarter":
            year, quarter = key.split("-Q")
            if len(year) != 4 or quarter not in {"1", "2", "3", "4"}:
                return None
            return period_of(kind, date(int(year), 3 * int(quarter) - 2, 1))
        if kind == "year":
            if len(key) != 4:
                return None
            return period_of(kind, date(int(key), 1, 1))
    except ValueError:
        return None
    if kind == "once" and key == "once":
        return period_of("once", on or today())
    return None


def periods_around(kind: str, day: date, *, before: int = 4, after: int = 1) -> list[Period]:
    """The periods to offer when starting: the current one, a few past (work is done afterwards)."""
    if kind == "once":
        return [period_of("once", day)]
    found = []
    step = {"month": 1, "quarter": 3, "year": 12}[kind]
    for n in range(after, -before - 1, -1):
        year, month = add_months(day.replace(day=1), n * step)
        found.append(period_of(kind, date(year, month, 1)))
    return found
