"""Working-time arithmetic (aware UTC in, aware UTC out).

Every moment maps to a working ordinal: the working microseconds since the calendar's epoch. The
ordinal is O(1) to compute from per-year prefix sums, so adding and measuring working time costs
the same for ten minutes as for ten years, and add/between round-trip exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Literal

from gridops.clock.calendar import MINUTE, WorkingCalendar

Basis = Literal["working", "continuous"]


def working_ordinal(moment: datetime, cal: WorkingCalendar) -> int:
    """Working microseconds from the epoch to `moment`; constant across non-working time."""
    local = cal.local(moment)
    day = local.date()
    ordinal = cal.workdays_before(day) * cal.minutes_per_day * MINUTE
    if not cal.is_workday(day):
        return ordinal
    # Same tzinfo on both sides: the difference is wall-clock time since local midnight.
    wall = local - datetime.combine(day, time(), tzinfo=local.tzinfo)
    return ordinal + cal.worked_by(wall // timedelta(microseconds=1))


def moment_at(ordinal: int, cal: WorkingCalendar) -> datetime:
    """The earliest moment whose working ordinal is `ordinal`: work ending exactly at 12:00 ends
    at 12:00, and a full day ends at 18:00 that day, never at 08:00 the next working day."""
    per_day = cal.minutes_per_day * MINUTE
    n = (ordinal - 1) // per_day
    worked = ordinal - n * per_day  # in (0, per_day]
    day = cal.nth_workday(n)
    midnight = datetime.combine(day, time(), tzinfo=cal.tz)
    return (midnight + timedelta(microseconds=cal.wall_at(worked))).astimezone(UTC)


def add_working(start: datetime, minutes: float, cal: WorkingCalendar) -> datetime:
    """The moment `minutes` working minutes after `start` (before it when negative)."""
    delta = round(minutes * MINUTE)
    if delta == 0:  # else the earliest equal moment could lie before `start` (last period's end)
        return start.astimezone(UTC)
    return moment_at(working_ordinal(start, cal) + delta, cal)


def subtract_working(start: datetime, minutes: float, cal: WorkingCalendar) -> datetime:
    return add_working(start, -minutes, cal)


def working_minutes_between(a: datetime, b: datetime, cal: WorkingCalendar) -> float:
    """Working minutes from `a` to `b`; negative when `b` is before `a`."""
    return (working_ordinal(b, cal) - working_ordinal(a, cal)) / MINUTE


def add_continuous(start: datetime, minutes: float) -> datetime:
    return (start + timedelta(minutes=minutes)).astimezone(UTC)


def continuous_minutes_between(a: datetime, b: datetime) -> float:
    return (b - a) / timedelta(minutes=1)


def add(basis: Basis, start: datetime, minutes: float, cal: WorkingCalendar) -> datetime:
    if basis == "continuous":
        return add_continuous(start, minutes)
    return add_working(start, minutes, cal)


def between(basis: Basis, a: datetime, b: datetime, cal: WorkingCalendar) -> float:
    if basis == "continuous":
        return continuous_minutes_between(a, b)
    return working_minutes_between(a, b, cal)
