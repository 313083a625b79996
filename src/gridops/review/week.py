"""ISO weeks in the district's time zone: a week starts Monday 00:00 local (Sunday 16:00 UTC for
Asia/Shanghai) and ends at the next Monday 00:00, exclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gridops.errors import Invalid

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class Week:
    year: int
    number: int
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def previous(self, tz: str, n: int = 1) -> Week:
        monday = self.monday(tz) - timedelta(weeks=n)
        iso = monday.isocalendar()
        return week_of(iso.year, iso.week, tz)

    def monday(self, tz: str) -> date:
        return self.start.astimezone(ZoneInfo(tz)).date()


def week_of(year: int, number: int, tz: str) -> Week:
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError:
        raise _bad(f"{year}-W{number:02d} is not an ISO week") from None
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=zone).astimezone(UTC)
    return Week(year, number, start, end)


def parse_week(text: str, tz: str) -> Week:
    match = _WEEK.match(text.strip())
    if match is None:
        raise _bad(f"week must look like 2026-W47, not {text!r}")
    return week_of(int(match[1]), int(match[2]), tz)


def containing(moment: datetime, tz: str) -> Week:
    iso = moment.astimezone(ZoneInfo(tz)).date().isocalendar()
    return week_of(iso.year, iso.week, tz)


def last_complete(now: datetime, tz: str) -> Week:
    """The week a Monday review looks back on: the one before the week containing `now`."""
    return containing(now, tz).previous(tz)


def _bad(msg: str) -> Invalid:
    return Invalid(msg, errors=[{"loc": ["query", "week"], "msg": msg, "type": "value_error"}])
