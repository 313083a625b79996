from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gridops.errors import Invalid
from gridops.review.week import containing, last_complete, parse_week

TZ = "Asia/Shanghai"


def test_week_starts_monday_midnight_shanghai() -> None:
    week = parse_week("2026-W47", TZ)
    assert week.start == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
    assert week.end == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert week.label == "2026-W47"


def test_sunday_1559_utc_is_previous_week_and_1600_the_next() -> None:
    assert containing(datetime(2026, 11, 15, 15, 59, 59, tzinfo=UTC), TZ).label == "2026-W46"
    assert containing(datetime(2026, 11, 15, 16, 0, 0, tzinfo=UTC), TZ).label == "2026-W47"


def test_iso_year_edges_and_previous() -> None:
    week = parse_week("2027-W01", TZ)
    assert week.start == datetime(2027, 1, 3, 16, 0, tzinfo=UTC)  # Monday 2027-01-04 local
    assert week.previous(TZ).label == "2026-W53"
    assert parse_week("2026-W53", TZ).previous(TZ, 8).label == "2026-W45"


def test_last_complete_week_is_the_one_before_now() -> None:
    assert last_complete(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), TZ).label == "2026-W47"


@pytest.mark.parametrize("text", ["2026-47", "2026-W5", "2025-W53", "W47", "2026-W00"])
def test_bad_weeks_are_refused(text: str) -> None:
    with pytest.raises(Invalid):
        parse_week(text, TZ)
