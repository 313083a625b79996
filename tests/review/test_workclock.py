"""The review's remembered working clock equals the clock domain's arithmetic, moment by moment."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gridops.clock import working
from gridops.clock.calendar import build_calendar
from gridops.review.workclock import WorkingClock


def test_ordinals_equal_the_clock_domain_on_every_kind_of_moment() -> None:
    cal = build_calendar()
    clock = WorkingClock(cal)
    rng = random.Random(47)
    start = datetime(2025, 12, 20, tzinfo=UTC)  # across New Year, Spring Festival, make-up days
    moments = [start + timedelta(seconds=rng.randrange(400 * 86400),
                                 microseconds=rng.randrange(1_000_000)) for _ in range(5000)]
    # Period edges in Shanghai (UTC+8): 08:00, 12:00, 14:00, 18:00 and a microsecond either side.
    for day in range(40):
        for hour in (0, 4, 6, 10, 16):
            edge = datetime(2026, 1, 20, hour, tzinfo=UTC) + timedelta(days=day)
            moments += [edge - timedelta(microseconds=1), edge, edge + timedelta(microseconds=1)]
    for moment in moments:  # twice: computed, then remembered
        assert clock.ordinal(moment) == working.working_ordinal(moment, cal)
    for a, b in zip(moments, reversed(moments), strict=True):
        assert clock.minutes(a, b) == working.working_minutes_between(a, b, cal)
        assert clock.between("continuous", a, b) == working.between("continuous", a, b, cal)
