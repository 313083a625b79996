"""Working days and working periods (工作日 · 工作时段) for the working clock.

A day is a working day when the override table says so, else when `chinese_calendar` says so
(statutory holidays and make-up workdays, 调休), else — for a year neither knows — Monday to Friday.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_PERIODS: tuple[tuple[str, str], ...] = (("08:00", "12:00"), ("14:00", "18:00"))
DEMO_HOLIDAYS = Path(__file__).resolve().parent.parent / "demo" / "holidays.yaml"

_HOLIDAY_WORDS = {"holiday", "off", "休", "假"}
_WORKDAY_WORDS = {"workday", "work", "班", "调休上班"}
MICROS = 1_000_000
MINUTE = 60 * MICROS
# Working-day ordinals count from here; any fixed year works, it only keeps numbers small.
_EPOCH_YEAR = 2020


def _minute_of_day(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"time of day out of range: {text}")
    return value


def parse_periods(periods: Sequence[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    """Periods as minutes after local midnight; they must be ordered, non-empty and disjoint."""
    parsed = tuple((_minute_of_day(a), _minute_of_day(b)) for a, b in periods)
    if not parsed:
        raise ValueError("at least one working period is required")
    previous_end = 0
    for start, end in parsed:
        if start >= end or start < previous_end:
            raise ValueError(f"working periods must be ordered and disjoint: {periods}")
        previous_end = end
    return parsed


def parse_overrides(data: Mapping[Any, Any] | None) -> dict[date, bool]:
    """`{"2027-01-01": "holiday", "2027-02-06": "workday"}` → {date: is_workday}."""
    table: dict[date, bool] = {}
    for key, value in (data or {}).items():
        day = key if isinstance(key, date) else date.fromisoformat(str(key))
        word = str(value).strip().lower()
        if word in _HOLIDAY_WORDS:
            table[day] = False
        elif word in _WORKDAY_WORDS:
            table[day] = True
        else:
            raise ValueError(f"{day}: expected 'holiday' or 'workday', got {value!r}")
    return table


def load_overrides(path: Path) -> dict[date, bool]:
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of date to holiday/workday")
    return parse_overrides(data)


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkingCalendar:
    """Which local days are working days, and which minutes of them are working minutes.

    Counting is by prefix sums per year, so the arithmetic in `working.py` never walks day by day
    more than once per year and calendar.
    """

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        *,
        timezone: str = DEFAULT_TIMEZONE,
        periods: Sequence[tuple[str, str]] = DEFAULT_PERIODS,
    ) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})
        self.tz = ZoneInfo(timezone)
        self.periods = parse_periods(periods)
        self.minutes_per_day = sum(end - start for start, end in self.periods)
        self._override_years = {d.year for d in self.overrides}
        self._known: dict[int, bool] = {}
        self._library: dict[int, bool] = {}
        self._warned: set[int] = set()
        self._prefix: dict[int, list[int]] = {}  # year -> working days before each day of year
        self._offset: dict[int, int] = {_EPOCH_YEAR: 0}  # year -> working days before Jan 1

    # -- days -------------------------------------------------------------------------------

    def knows(self, year: int) -> bool:
        """Whether real holiday data exists for the year (library or override table)."""
        if year not in self._known:
            self._known[year] = year in self._override_years or _library_knows(year)
        return self._known[year]

    def unknown_years(self, years: Iterable[int]) -> list[int]:
        """The years for which only the Monday–Friday fallback applies (for /readyz)."""
        return sorted({y for y in years if not self.knows(y)})

    def is_workday(self, day: date) -> bool:
        index = day.toordinal() - self._jan1(day.year)
        prefix = self._year_prefix(day.year)
        return prefix[index + 1] > prefix[index]

    def _jan1(self, year: int) -> int:
        return date(year, 1, 1).toordinal()

    def _rule(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self._library:
            self._library[day.year] = _library_knows(day.year)
        if self._library[day.year]:
            return bool(chinese_calendar.is_workday(day))
        if day.year not in self._warned:
            self._warned.add(day.year)
            log.warning("no holiday data for %d: working days fall back to Monday-Friday; "
                        "add the year's arrangement to the holiday table", day.year)
        return day.weekday() < 5

    def _year_prefix(self, year: int) -> list[int]:
        prefix = self._prefix.get(year)
        if prefix is None:
            first = date(year, 1, 1)
            length = (date(year + 1, 1, 1) - first).days
            prefix = [0] * (length + 1)
            for i in range(length):
                prefix[i + 1] = prefix[i] + self._rule(first + timedelta(days=i))
            self._prefix[year] = prefix
        return prefix

    def _year_offset(self, year: int) -> int:
        if year not in self._offset:
            # Fill from the nearest cached year; each year is summed once per calendar.
            if year > _EPOCH_YEAR:
                below = max(y for y in self._offset if y < year)
                for y in range(below, year):
                    self._offset[y + 1] = self._offset[y] + self._year_prefix(y)[-1]
            else:
                above = min(y for y in self._offset if y > year)
                for y in range(above, year, -1):
                    self._offset[y - 1] = self._offset[y] - self._year_prefix(y - 1)[-1]
        return self._offset[year]

    def workdays_before(self, day: date) -> int:
        """Working days from the epoch up to, not including, `day` (negative before the epoch)."""
        index = day.toordinal() - self._jan1(day.year)
        return self._year_offset(day.year) + self._year_prefix(day.year)[index]

    def nth_workday(self, n: int) -> date:
        """The day with `workdays_before(day) == n` that is itself a working day."""
        year = _EPOCH_YEAR + n // 250  # ~250 working days a year; corrected below
        while self._year_offset(year) > n:
            year -= 1
        while self._year_offset(year + 1) <= n:
            year += 1
        prefix = self._year_prefix(year)
        index = bisect.bisect_right(prefix, n - self._year_offset(year)) - 1
        return date(year, 1, 1) + timedelta(days=index)

    # -- minutes within a day -----------------------------------------------------------------

    def worked_by(self, wall: int) -> int:
        """Working microseconds of a working day passed by `wall` µs after local midnight."""
        passed = 0
        for start, end in self.periods:
            passed += min(max(wall - start * MINUTE, 0), (end - start) * MINUTE)
        return passed

    def wall_at(self, worked: int) -> int:
        """The earliest wall time (µs after local midnight) by which `worked` (> 0) working µs have
        passed; landing on the end of a period gives that end (12:00, not 14:00)."""
        for start, end in self.periods:
            length = (end - start) * MINUTE
            if worked <= length:
                return start * MINUTE + worked
            worked -= length
        raise ValueError("more working time than one day holds")

    def local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            raise ValueError("naive datetime given to the working clock")
        return moment.astimezone(self.tz)


def build_calendar(
    overrides_path: Path | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
    periods: Sequence[tuple[str, str]] = DEFAULT_PERIODS,
) -> WorkingCalendar:
    """The calendar the app and the worker share: the demo table unless a path is configured."""
    path = overrides_path or DEMO_HOLIDAYS
    overrides = load_overrides(path) if path.exists() else {}
    return WorkingCalendar(overrides, timezone=timezone, periods=periods)
