"""Working time for tens of thousands of rounds at once: `clock.working` arithmetic with the
per-day part remembered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from gridops.clock import working
from gridops.clock.calendar import MINUTE, WorkingCalendar


class WorkingClock:
    """`working.working_ordinal`, equal to it for every aware moment: a week's rounds start and
    stop on a few hundred days, so each day's offset is computed once, not once per moment."""

    def __init__(self, cal: WorkingCalendar) -> None:
        self.cal = cal
        self._tz = cal.tz
        self._periods = [(start * MINUTE, (end - start) * MINUTE) for start, end in cal.periods]
        self._days: dict[date, tuple[int, bool]] = {}  # day -> (ordinal at 00:00, working?)

    def _day(self, day: date) -> tuple[int, bool]:
        found = self._days[day] = (
            self.cal.workdays_before(day) * self.cal.minutes_per_day * MINUTE,
            self.cal.is_workday(day))
        return found

    def ordinal(self, moment: datetime) -> int:
        if moment.tzinfo is None:
            raise ValueError("naive datetime given to the working clock")
        local = moment.astimezone(self._tz)
        day = local.date()
        base, workday = self._days.get(day) or self._day(day)
        if not workday:
            return base
        wall = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 \
            + local.microsecond
        for start, length in self._periods:
            if wall > start:
                base += min(wall - start, length)
        return base

    def minutes(self, a: datetime, b: datetime) -> float:
        """Working minutes from `a` to `b` (negative when `b` is before `a`)."""
        return (self.ordinal(b) - self.ordinal(a)) / MINUTE

    def between(self, basis: working.Basis, a: datetime, b: datetime) -> float:
        if basis == "continuous":
            return (b - a) / timedelta(minutes=1)
        return self.minutes(a, b)
