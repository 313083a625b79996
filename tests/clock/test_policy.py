from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.policy import ClockState

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkingCalendar()


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@dataclass(frozen=True)
class Item:
    sign_hours: float = 2
    resolve_hours: float = 40
    urgent_sign_hours: float | None = 0.5
    urgent_resolve_hours: float | None = 4


def day_clock(now: datetime = sh(2026, 3, 9, 8), kind: str = "resolve") -> ClockState:
    """An 8-working-hour clock started Monday 08:00: due Monday 18:00, due soon at 16:00."""
    return policy.start(kind, basis="working", limit_minutes=480, now=now, cal=CAL,
                        unit_code="UMLE")


def test_limits_come_from_the_item_and_urgency() -> None:
    assert policy.limit_for(Item(), "sign", urgent=False) == ("working", 120)
    assert policy.limit_for(Item(), "resolve", urgent=False) == ("working", 2400)
    assert policy.limit_for(Item(), "sign", urgent=True) == ("continuous", 30)
    assert policy.limit_for(Item(), "resolve", urgent=True) == ("continuous", 240)
    no_fast = Item(urgent_resolve_hours=None)
    assert policy.limit_for(no_fast, "resolve", urgent=True) == ("continuous", 2400)


def test_start_sets_deadline_and_due_soon_share() -> None:
    clock = day_clock()
    assert clock.due_at == sh(2026, 3, 9, 18)
    assert clock.due_soon_at == sh(2026, 3, 9, 16)
    half = policy.start("sign", basis="working", limit_minutes=480, now=sh(2026, 3, 9, 8),
                        cal=CAL, due_soon_share=0.5)
    assert half.due_soon_at == sh(2026, 3, 9, 12)
    urgent = policy.start("resolve", basis="continuous", limit_minutes=240,
                          now=sh(2026, 3, 7, 10), cal=CAL)  # a Saturday: 24×7 anyway
    assert urgent.due_at == sh(2026, 3, 7, 14)
    assert urgent.due_soon_at == sh(2026, 3, 7, 13)


def test_status_runs_to_due_soon_to_overdue() -> None:
    clock = day_clock()
    assert policy.status(clock, sh(2026, 3, 9, 9), CAL) == policy.Reading("running", 420)
    assert policy.status(clock, sh(2026, 3, 9, 16), CAL) == policy.Reading("due_soon", 120)
    assert policy.status(clock, sh(2026, 3, 9, 18), CAL) == policy.Reading("due_soon", 0)
    assert policy.status(clock, sh(2026, 3, 10, 9), CAL) == policy.Reading("overdue", -60)
    # A changed share applies at once when given.
    assert policy.status(clock, sh(2026, 3, 9, 13), CAL, due_soon_share=0.5).status == "due_soon"


def test_pause_freezes_and_resume_preserves_the_time_left() -> None:
    paused = policy.pause(day_clock(), sh(2026, 3, 9, 10))  # 360 min left
    assert policy.status(paused, sh(2026, 3, 20, 10), CAL) == policy.Reading("paused", 360)
    assert policy.pause(paused, sh(2026, 3, 9, 11)) == paused
    resumed = policy.resume(paused, sh(2026, 3, 11, 14), CAL)  # Wednesday afternoon
    assert resumed.paused_at is None
    assert resumed.due_at == sh(2026, 3, 12, 10)
    assert resumed.paused_minutes == 2 * 480 + 120
    assert policy.status(resumed, sh(2026, 3, 11, 14), CAL).minutes_left == 360
    assert policy.resume(resumed, sh(2026, 3, 12, 9), CAL) == resumed


def test_a_clock_paused_while_overdue_stays_overdue_by_the_same_amount() -> None:
    paused = policy.pause(day_clock(), sh(2026, 3, 10, 9))  # 60 working minutes overdue
    resumed = policy.resume(paused, sh(2026, 3, 12, 15), CAL)
    # 60 working minutes before Thursday 15:00; of equal working moments the earliest is kept.
    assert resumed.due_at == sh(2026, 3, 12, 12)
    assert policy.status(resumed, sh(2026, 3, 12, 15), CAL) == policy.Reading("overdue", -60)


def test_resume_over_a_holiday_counts_only_working_time() -> None:
    clock = policy.start("resolve", basis="working", limit_minutes=480, now=sh(2026, 9, 30, 8),
                         cal=CAL)
    paused = policy.pause(clock, sh(2026, 9, 30, 17))  # 60 left, then Golden Week
    resumed = policy.resume(paused, sh(2026, 10, 3, 10), CAL)
    assert resumed.due_at == sh(2026, 10, 8, 9)
    assert resumed.paused_minutes == 60


def test_extension_moves_the_deadline_by_working_hours() -> None:
    extended = policy.extend(day_clock(), 8, sh(2026, 3, 9, 10), CAL)
    assert extended.due_at == sh(2026, 3, 10, 18)
    assert extended.extended_minutes == 480
    # due soon at 75% of 16 h: 4 working hours before the new deadline (14:00 = 12:00 in
    # working time; the earliest is kept).
    assert extended.due_soon_at == sh(2026, 3, 10, 12)


def test_extension_clears_overdue_flags_only_when_it_covers_now() -> None:
    breached = replace(day_clock(), warned_at=sh(2026, 3, 9, 16),
                       breached_at=sh(2026, 3, 10, 9), escalation_level=1,
                       escalated_at=sh(2026, 3, 10, 9))
    covered = policy.extend(breached, 4, sh(2026, 3, 10, 9), CAL)
    assert covered.due_at == sh(2026, 3, 10, 12)
    assert (covered.breached_at, covered.escalation_level, covered.escalated_at) == (None, 0, None)
    assert covered.warned_at is not None  # still within the due-soon share of the new limit
    not_enough = policy.extend(breached, 1, sh(2026, 3, 10, 14), CAL)
    assert not_enough.breached_at == sh(2026, 3, 10, 9)
    assert not_enough.escalation_level == 1
    generous = policy.extend(breached, 40, sh(2026, 3, 10, 9), CAL)
    assert generous.warned_at is None


def test_stop_is_met_at_or_before_the_deadline_and_missed_after() -> None:
    clock = day_clock()
    assert policy.stop(clock, sh(2026, 3, 9, 18), CAL).outcome == "met"
    missed = policy.stop(clock, sh(2026, 3, 9, 18, 1), CAL)
    assert missed.outcome == "missed"
    assert missed.stopped_at == sh(2026, 3, 9, 18, 1)
    assert policy.status(missed, sh(2026, 4, 1), CAL).status == "missed"
    assert policy.stop(missed, sh(2026, 3, 9, 9), CAL) == missed  # stopping twice changes nothing


def test_stop_while_paused_judges_the_time_left_at_the_pause() -> None:
    paused = policy.pause(day_clock(), sh(2026, 3, 9, 10))
    stopped = policy.stop(paused, sh(2026, 3, 16, 10), CAL)
    assert stopped.outcome == "met"
    assert stopped.paused_at is None


def test_void_ends_the_clock_without_a_verdict() -> None:
    voided = policy.void(day_clock(), sh(2026, 3, 10, 9), CAL)
    assert voided.outcome == "void"
    assert policy.status(voided, sh(2026, 3, 10, 9), CAL).status == "void"
    assert policy.pause(voided, sh(2026, 3, 10, 10)) == voided


def test_reassign_keeps_the_deadline_and_reports_who_held_the_time() -> None:
    clock = day_clock()
    handed, handover = policy.reassign(clock, "HURD", sh(2026, 3, 10, 9), CAL)
    assert handed.due_at == clock.due_at
    assert handed.unit_code == "HURD"
    assert handover == policy.HandOver("resolve", 1, "UMLE", "HURD", -60)
    stopped = policy.stop(clock, sh(2026, 3, 9, 9), CAL)
    assert policy.reassign(stopped, "HURD", sh(2026, 3, 9, 10), CAL)[0].unit_code == "UMLE"


@pytest.mark.parametrize(
    ("now", "level"),
    [
        (sh(2026, 3, 9, 17), 0),
        (sh(2026, 3, 9, 18, 1), 1),  # just past the deadline: the unit is supervised
        (sh(2026, 3, 10, 17, 59), 1),
        (sh(2026, 3, 10, 18, 1), 2),  # 8 working hours late: the street
        (sh(2026, 3, 12, 18, 1), 3),  # 24 working hours late: the district
    ],
)
def test_escalation_follows_the_working_hour_schedule(now: datetime, level: int) -> None:
    assert policy.escalation_level(day_clock(), now, CAL, (0.0, 8.0, 24.0)) == level


def test_escalation_never_falls_and_skips_sign_clocks() -> None:
    late = sh(2026, 3, 20, 9)
    assert policy.escalation_level(day_clock(kind="sign"), late, CAL, (0.0, 8.0, 24.0)) == 0
    high = replace(day_clock(), escalation_level=3)
    assert policy.escalation_level(high, sh(2026, 3, 9, 18, 1), CAL, (0.0, 8.0, 24.0)) == 3
    paused = policy.pause(day_clock(), sh(2026, 3, 10, 9))
    assert policy.escalation_level(paused, late, CAL, (0.0, 8.0, 24.0)) == 0
