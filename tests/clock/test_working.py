from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridops.clock.calendar import WorkingCalendar
from gridops.clock.working import (
    add,
    add_continuous,
    add_working,
    between,
    continuous_minutes_between,
    subtract_working,
    working_minutes_between,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def in_sh(moment: datetime) -> datetime:
    return moment.astimezone(SH)


def test_lunch_break_is_not_working_time() -> None:
    assert in_sh(add_working(sh(2026, 3, 9, 11, 30), 60, CAL)) == sh(2026, 3, 9, 14, 30)
    assert working_minutes_between(sh(2026, 3, 9, 11), sh(2026, 3, 9, 15), CAL) == 120
    assert working_minutes_between(sh(2026, 3, 9, 12, 10), sh(2026, 3, 9, 13, 50), CAL) == 0


def test_work_ending_on_a_period_end_ends_there_not_at_the_next_start() -> None:
    assert in_sh(add_working(sh(2026, 3, 9, 8), 240, CAL)) == sh(2026, 3, 9, 12)
    assert in_sh(add_working(sh(2026, 3, 9, 8), 480, CAL)) == sh(2026, 3, 9, 18)
    assert in_sh(add_working(sh(2026, 3, 9, 8), 481, CAL)) == sh(2026, 3, 10, 8, 1)


def test_nights_are_skipped() -> None:
    assert in_sh(add_working(sh(2026, 3, 9, 17), 120, CAL)) == sh(2026, 3, 10, 9)
    assert working_minutes_between(sh(2026, 3, 9, 18), sh(2026, 3, 10, 8), CAL) == 0
    assert in_sh(add_working(sh(2026, 3, 9, 22), 30, CAL)) == sh(2026, 3, 10, 8, 30)
    assert in_sh(add_working(sh(2026, 3, 10, 3), 30, CAL)) == sh(2026, 3, 10, 8, 30)


def test_weekends_are_skipped() -> None:
    assert in_sh(add_working(sh(2026, 3, 6, 17), 120, CAL)) == sh(2026, 3, 9, 9)  # Fri → Mon
    assert in_sh(add_working(sh(2026, 3, 7, 10), 60, CAL)) == sh(2026, 3, 9, 9)  # from Saturday
    assert working_minutes_between(sh(2026, 3, 6, 8), sh(2026, 3, 13, 8), CAL) == 5 * 480


def test_golden_week_2026() -> None:
    assert in_sh(add_working(sh(2026, 9, 30, 17), 120, CAL)) == sh(2026, 10, 8, 9)
    assert working_minutes_between(sh(2026, 9, 30, 18), sh(2026, 10, 8, 8), CAL) == 0
    # The make-up Saturday after the holiday and the make-up Sunday before it are workdays.
    assert in_sh(add_working(sh(2026, 10, 9, 17), 120, CAL)) == sh(2026, 10, 10, 9)
    assert in_sh(add_working(sh(2026, 9, 19, 10), 60, CAL)) == sh(2026, 9, 20, 9)


def test_spring_festival_2026() -> None:
    # Friday 13 Feb, then make-up Saturday 14 Feb, then nine days off until Tuesday 24 Feb.
    assert in_sh(add_working(sh(2026, 2, 13, 9), 480, CAL)) == sh(2026, 2, 14, 9)
    assert in_sh(add_working(sh(2026, 2, 13, 9), 960, CAL)) == sh(2026, 2, 24, 9)
    assert working_minutes_between(sh(2026, 2, 14, 18), sh(2026, 2, 24, 8), CAL) == 0
    assert in_sh(add_working(sh(2026, 2, 27, 17), 120, CAL)) == sh(2026, 2, 28, 9)


def test_year_end_2026_into_unknown_2027_falls_back_to_weekdays() -> None:
    cal = WorkingCalendar()
    # 1 Jan 2027 is a Friday: without data for 2027 it counts as a working day.
    assert in_sh(add_working(sh(2026, 12, 31, 17), 120, cal)) == sh(2027, 1, 1, 9)
    assert in_sh(add_working(sh(2027, 1, 1, 17), 120, cal)) == sh(2027, 1, 4, 9)
    overridden = WorkingCalendar({sh(2027, 1, 1).date(): False})
    assert in_sh(add_working(sh(2026, 12, 31, 17), 120, overridden)) == sh(2027, 1, 4, 9)


def test_storage_is_utc_and_the_clock_is_shanghai_without_dst() -> None:
    sunday_utc = datetime(2026, 3, 8, 16, tzinfo=UTC)  # = Monday 00:00 in Shanghai
    due = add_working(sunday_utc, 60, CAL)
    assert due == datetime(2026, 3, 9, 1, tzinfo=UTC)  # Monday 09:00 Shanghai
    assert due.tzinfo is UTC
    assert working_minutes_between(datetime(2026, 3, 8, 15, 59, tzinfo=UTC), sunday_utc, CAL) == 0
    # Summer and winter give the same offset: no daylight saving.
    assert add_working(datetime(2026, 7, 6, 0, tzinfo=UTC), 0.5, CAL) == datetime(
        2026, 7, 6, 0, 0, 30, tzinfo=UTC)


def test_negative_spans_and_subtraction() -> None:
    assert working_minutes_between(sh(2026, 3, 10, 9), sh(2026, 3, 9, 17), CAL) == -120
    assert in_sh(subtract_working(sh(2026, 3, 9, 9), 120, CAL)) == sh(2026, 3, 6, 17)
    assert in_sh(add_working(sh(2026, 3, 9, 9), -120, CAL)) == sh(2026, 3, 6, 17)


def test_zero_minutes_is_the_start_itself() -> None:
    saturday = sh(2026, 3, 7, 10)
    assert add_working(saturday, 0, CAL) == saturday


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_working(datetime(2026, 3, 9, 9), 10, CAL)  # noqa: DTZ001


def test_continuous_clock_ignores_calendars() -> None:
    friday = sh(2026, 9, 30, 17)
    assert add_continuous(friday, 24 * 60) == sh(2026, 10, 1, 17)
    assert continuous_minutes_between(friday, sh(2026, 10, 1, 17)) == 24 * 60
    assert add("continuous", friday, 90, CAL) == sh(2026, 9, 30, 18, 30)
    assert between("working", friday, sh(2026, 10, 1, 17), CAL) == 60


def test_long_spans_cost_no_more_than_short_ones() -> None:
    start = sh(2024, 1, 2, 8)
    far = add_working(start, 3 * 248 * 480, CAL)
    assert working_minutes_between(start, far, CAL) == 3 * 248 * 480


# -- properties ------------------------------------------------------------------------------

moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30),  # noqa: DTZ001
                       timezones=st.just(UTC))
spans = st.floats(min_value=0, max_value=60 * 480, allow_nan=False)


def naive_between(a: datetime, b: datetime, cal: WorkingCalendar) -> float:
    """Reference: walk day by day and intersect each working period with [a, b]."""
    if b < a:
        return -naive_between(b, a, cal)
    total = 0.0
    day = in_sh(a).date()
    while day <= in_sh(b).date():
        if cal.is_workday(day):
            for start, end in cal.periods:
                p0 = datetime.combine(day, time(), tzinfo=SH) + timedelta(minutes=start)
                p1 = datetime.combine(day, time(), tzinfo=SH) + timedelta(minutes=end)
                lo, hi = max(a, p0), min(b, p1)
                if hi > lo:
                    total += (hi - lo) / timedelta(minutes=1)
        day += timedelta(days=1)
    return total


@settings(max_examples=300, deadline=None)
@given(moments, moments)
def test_between_matches_a_day_by_day_reference(a: datetime, b: datetime) -> None:
    assert working_minutes_between(a, b, CAL) == pytest.approx(naive_between(a, b, CAL),
                                                                abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(moments, spans)
def test_add_then_between_round_trips(start: datetime, minutes: float) -> None:
    due = add_working(start, minutes, CAL)
    assert due >= start
    assert working_minutes_between(start, due, CAL) == pytest.approx(minutes, abs=1e-6)
    back = subtract_working(due, minutes, CAL)
    assert working_minutes_between(back, due, CAL) == pytest.approx(minutes, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(moments, spans.filter(lambda m: m >= 0.001))
def test_deadlines_fall_inside_working_periods(start: datetime, minutes: float) -> None:
    due = in_sh(add_working(start, minutes, CAL))
    assert CAL.is_workday(due.date())
    minute = due.hour * 60 + due.minute + (due.second + due.microsecond / 1e6) / 60
    assert any(s < minute <= e + 1e-6 for s, e in CAL.periods)


@settings(max_examples=300, deadline=None)
@given(moments, spans, spans)
def test_add_is_monotonic(start: datetime, m1: float, m2: float) -> None:
    lo, hi = sorted((m1, m2))
    assert add_working(start, lo, CAL) <= add_working(start, hi, CAL)


@settings(max_examples=300, deadline=None)
@given(moments, moments, moments)
def test_between_is_additive_and_antisymmetric(a: datetime, b: datetime, c: datetime) -> None:
    ab = working_minutes_between(a, b, CAL)
    bc = working_minutes_between(b, c, CAL)
    assert ab + bc == pytest.approx(working_minutes_between(a, c, CAL), abs=1e-6)
    assert working_minutes_between(b, a, CAL) == -ab
    if a <= b:
        assert ab >= 0
