"""The clock policy, pure: how a deadline starts, pauses, resumes, extends, changes hands and ends.

Every function takes a `ClockState` (the fields of one `sla_clock` row) and returns a new one.
Minutes are measured on the clock's basis: working minutes, or plain minutes for urgent clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Protocol

from gridops.clock import working
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.working import Basis

Kind = Literal["sign", "resolve"]
Outcome = Literal["met", "missed", "void"]
Status = Literal["running", "due_soon", "overdue", "paused", "met", "missed", "void"]
DEFAULT_DUE_SOON_SHARE = 0.75
TOP_ESCALATION_LEVEL = 3  # 1 unit, 2 street, 3 district


class ItemLimits(Protocol):
    """The time limits of an item standard (routing's `ItemStandard` satisfies it)."""

    @property
    def sign_hours(self) -> float: ...
    @property
    def resolve_hours(self) -> float: ...
    @property
    def urgent_sign_hours(self) -> float | None: ...
    @property
    def urgent_resolve_hours(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class ClockState:
    kind: str
    basis: Basis
    limit_minutes: float
    started_at: datetime
    due_at: datetime
    due_soon_at: datetime
    round: int = 1
    unit_code: str | None = None
    extended_minutes: float = 0.0
    paused_at: datetime | None = None
    paused_minutes: float = 0.0
    stopped_at: datetime | None = None
    outcome: str | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    escalation_level: int = 0
    escalated_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.outcome is None and self.paused_at is None

    @property
    def total_minutes(self) -> float:
        return self.limit_minutes + self.extended_minutes


@dataclass(frozen=True, slots=True)
class Reading:
    status: Status
    minutes_left: float  # on the clock's basis; negative when overdue


@dataclass(frozen=True, slots=True)
class HandOver:
    """A clock changing hands on a return (退单): same deadline, time so far is `from_unit`'s."""

    kind: str
    round: int
    from_unit: str | None
    to_unit: str | None
    minutes_left: float  # negative: the order was already overdue while `from_unit` held it


def limit_for(item: ItemLimits, kind: Kind, *, urgent: bool) -> tuple[Basis, float]:
    """Urgent (紧急) limits run 24×7; all others on the working clock. Returns (basis, minutes)."""
    normal = item.sign_hours if kind == "sign" else item.resolve_hours
    if not urgent:
        return "working", normal * 60
    fast = item.urgent_sign_hours if kind == "sign" else item.urgent_resolve_hours
    # An item without an urgent limit keeps its normal length, but round the clock.
    return "continuous", (normal if fast is None else fast) * 60


def _due_soon(basis: Basis, due_at: datetime, total: float, share: float,
              cal: WorkingCalendar) -> datetime:
    return working.add(basis, due_at, -(1 - share) * total, cal)


def start(kind: str, *, basis: Basis, limit_minutes: float, now: datetime, cal: WorkingCalendar,
          due_soon_share: float = DEFAULT_DUE_SOON_SHARE, unit_code: str | None = None,
          round: int = 1) -> ClockState:
    due_at = working.add(basis, now, limit_minutes, cal)
    return ClockState(
        kind=kind, basis=basis, limit_minutes=limit_minutes, started_at=now, due_at=due_at,
        due_soon_at=_due_soon(basis, due_at, limit_minutes, due_soon_share, cal),
        round=round, unit_code=unit_code,
    )


def pause(state: ClockState, now: datetime) -> ClockState:
    """Suspension (挂起) freezes the time left; pausing twice, or a stopped clock, is a no-op."""
    if not state.running:
        return state
    return replace(state, paused_at=now)


def resume(state: ClockState, now: datetime, cal: WorkingCalendar) -> ClockState:
    """The time left at the pause is the time left now; a clock paused while overdue stays overdue
    by the same amount."""
    if state.outcome is not None or state.paused_at is None:
        return state
    paused_at = state.paused_at

    def shift(moment: datetime) -> datetime:
        return working.add(state.basis, now, working.between(state.basis, paused_at, moment, cal),
                           cal)

    return replace(
        state, paused_at=None, due_at=shift(state.due_at), due_soon_at=shift(state.due_soon_at),
        paused_minutes=state.paused_minutes + working.between(state.basis, paused_at, now, cal),
    )


def extend(state: ClockState, hours: float, now: datetime, cal: WorkingCalendar,
           due_soon_share: float = DEFAULT_DUE_SOON_SHARE) -> ClockState:
    """An approved extension (延期) moves the deadline by `hours` on the clock's basis. A clock the
    extension brings back within its limit loses its overdue flag and escalation, so the sweeper
    judges the new deadline afresh (the audit trail keeps the old flags)."""
    if state.outcome is not None:
        return state
    extended = state.extended_minutes + hours * 60
    due_at = working.add(state.basis, state.due_at, hours * 60, cal)
    due_soon_at = _due_soon(state.basis, due_at, state.limit_minutes + extended, due_soon_share,
                            cal)
    reference = state.paused_at or now
    state = replace(state, extended_minutes=extended, due_at=due_at, due_soon_at=due_soon_at)
    if due_at >= reference:
        state = replace(state, breached_at=None, escalation_level=0, escalated_at=None)
    if due_soon_at > reference:
        state = replace(state, warned_at=None)
    return state


def stop(state: ClockState, now: datetime, cal: WorkingCalendar) -> ClockState:
    """Met if stopped at or before the deadline, else missed; a paused clock is judged on the time
    it had left when paused."""
    if state.outcome is not None:
        return state
    state = resume(state, now, cal)
    return replace(state, stopped_at=now, outcome="met" if now <= state.due_at else "missed")


def void(state: ClockState, now: datetime, cal: WorkingCalendar) -> ClockState:
    """The incident was voided or merged: the clock ends without counting for or against anyone."""
    if state.outcome is not None:
        return state
    return replace(resume(state, now, cal), stopped_at=now, outcome="void")


def reassign(state: ClockState, unit_code: str | None, now: datetime,
             cal: WorkingCalendar) -> tuple[ClockState, HandOver]:
    """A return does not reset the clock: the next unit inherits the same deadline."""
    reading = status(state, now, cal)
    handover = HandOver(kind=state.kind, round=state.round, from_unit=state.unit_code,
                        to_unit=unit_code, minutes_left=reading.minutes_left)
    if state.outcome is not None:
        return state, handover
    return replace(state, unit_code=unit_code), handover


def status(state: ClockState, now: datetime, cal: WorkingCalendar,
           due_soon_share: float | None = None) -> Reading:
    """The clock as seen at `now`. With `due_soon_share`, due-soon is judged against that share of
    the limit instead of the stored `due_soon_at` (a changed setting applies at once)."""
    if state.outcome is not None:
        assert state.stopped_at is not None
        left = working.between(state.basis, state.stopped_at, state.due_at, cal)
        outcome: Status = "void" if state.outcome == "void" else (
            "met" if state.outcome == "met" else "missed")
        return Reading(outcome, left)
    if state.paused_at is not None:
        return Reading("paused", working.between(state.basis, state.paused_at, state.due_at, cal))
    left = working.between(state.basis, now, state.due_at, cal)
    if now > state.due_at:
        return Reading("overdue", left)
    if due_soon_share is None:
        soon = now >= state.due_soon_at
    else:
        soon = left <= (1 - due_soon_share) * state.total_minutes
    return Reading("due_soon" if soon else "running", left)


def escalation_level(state: ClockState, now: datetime, cal: WorkingCalendar,
                     hours: tuple[float, ...]) -> int:
    """The 督办 level an overdue resolve clock has reached: level k once it is `hours[k-1]` past
    its deadline (unit, street, district). Levels only rise."""
    if state.kind != "resolve" or not state.running or now <= state.due_at:
        return state.escalation_level
    overdue = -working.between(state.basis, now, state.due_at, cal)
    reached = sum(1 for h in hours[:TOP_ESCALATION_LEVEL] if overdue >= h * 60)
    return max(state.escalation_level, reached)
