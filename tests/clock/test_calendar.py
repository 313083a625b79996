from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from gridops.clock.calendar import (
    DEMO_HOLIDAYS,
    WorkingCalendar,
    build_calendar,
    load_overrides,
    parse_overrides,
    parse_periods,
)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def test_golden_week_2026_and_its_make_up_days(cal: WorkingCalendar) -> None:
    for day in range(1, 8):
        assert not cal.is_workday(date(2026, 10, day)), day
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, 调休上班
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, 调休上班
    assert cal.is_workday(date(2026, 10, 8))
    assert not cal.is_workday(date(2026, 10, 11))  # an ordinary Sunday


def test_spring_festival_2026_and_its_make_up_saturdays(cal: WorkingCalendar) -> None:
    for day in range(15, 24):
        assert not cal.is_workday(date(2026, 2, day)), day
    assert cal.is_workday(date(2026, 2, 14))
    assert cal.is_workday(date(2026, 2, 28))
    assert cal.is_workday(date(2026, 2, 24))


def test_plain_weeks_are_monday_to_friday(cal: WorkingCalendar) -> None:
    week = [date(2026, 3, 9) + timedelta(days=i) for i in range(7)]
    assert [cal.is_workday(d) for d in week] == [True] * 5 + [False] * 2


def test_unknown_year_falls_back_to_weekdays_and_warns_once(
        caplog: pytest.LogCaptureFixture) -> None:
    cal = WorkingCalendar()
    assert cal.unknown_years([2025, 2026, 2027, 2027, 2028]) == [2027, 2028]
    with caplog.at_level(logging.WARNING, logger="gridops.clock.calendar"):
        assert cal.is_workday(date(2027, 1, 1))  # a Friday; the real arrangement is unknown
        assert not cal.is_workday(date(2027, 1, 2))
        assert cal.is_workday(date(2027, 3, 3))
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1


def test_overrides_make_a_year_known_and_win_over_the_library() -> None:
    cal = WorkingCalendar({date(2027, 1, 1): False, date(2026, 10, 8): False,
                           date(2026, 10, 11): True})
    assert cal.unknown_years([2026, 2027]) == []
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 4))
    assert not cal.is_workday(date(2026, 10, 8))
    assert cal.is_workday(date(2026, 10, 11))


def test_parse_overrides_reads_strings_dates_and_chinese_words() -> None:
    table = parse_overrides({"2027-01-01": "holiday", date(2027, 2, 6): "Workday",
                             "2027-05-01": "休", "2027-05-08": "班"})
    assert table == {date(2027, 1, 1): False, date(2027, 2, 6): True,
                     date(2027, 5, 1): False, date(2027, 5, 8): True}
    with pytest.raises(ValueError, match="expected 'holiday' or 'workday'"):
        parse_overrides({"2027-01-01": "maybe"})
    with pytest.raises(ValueError, match="month"):
        parse_overrides({"2027-13-01": "holiday"})


def test_load_overrides_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "h.yaml"
    path.write_text("2027-01-01: holiday\n'2027-02-06': workday\n", encoding="utf-8")
    assert load_overrides(path) == {date(2027, 1, 1): False, date(2027, 2, 6): True}
    path.write_text("- 2027-01-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match="mapping"):
        load_overrides(path)
    cal = build_calendar(tmp_path / "h2.yaml")  # a missing file: no overrides
    assert cal.overrides == {}


def test_demo_table_loads_and_leaves_2027_unknown_until_published() -> None:
    assert DEMO_HOLIDAYS.exists()
    assert load_overrides(DEMO_HOLIDAYS) == {}
    assert build_calendar().unknown_years([2027]) == [2027]


def test_periods_must_be_ordered_and_disjoint() -> None:
    assert parse_periods([("08:00", "12:00"), ("14:00", "18:00")]) == ((480, 720), (840, 1080))
    with pytest.raises(ValueError, match="disjoint"):
        parse_periods([("08:00", "12:00"), ("11:00", "18:00")])
    with pytest.raises(ValueError, match="disjoint"):
        parse_periods([("12:00", "08:00")])
    with pytest.raises(ValueError, match="at least one"):
        parse_periods([])
    assert WorkingCalendar(periods=[("09:00", "17:30")]).minutes_per_day == 510
    assert WorkingCalendar().minutes_per_day == 8 * 60


def test_nth_workday_inverts_workdays_before(cal: WorkingCalendar) -> None:
    day = date(2018, 12, 20)
    while day < date(2028, 1, 10):
        if cal.is_workday(day):
            assert cal.nth_workday(cal.workdays_before(day)) == day
        day += timedelta(days=3)


def test_working_day_counts_match_the_library_day_by_day(cal: WorkingCalendar) -> None:
    for year in (2024, 2025, 2026):
        first = date(year, 1, 1)
        naive = sum(chinese_calendar.is_workday(first + timedelta(days=i))
                    for i in range((date(year + 1, 1, 1) - first).days))
        counted = cal.workdays_before(date(year + 1, 1, 1)) - cal.workdays_before(first)
        assert counted == naive
    # 2026: 261 weekdays − 19 holiday weekdays + 6 make-up weekend days.
    assert cal.workdays_before(date(2027, 1, 1)) - cal.workdays_before(date(2026, 1, 1)) == 248
