"""The clock use cases the incident lifecycle calls. They flush, never commit; the lifecycle records
the audit event of the action that moved the clock (the sweeper records its own)."""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.clock.models import SlaClock
from gridops.clock.policy import ClockState, HandOver, ItemLimits, Kind
from gridops.clock.schemas import ClockView

if TYPE_CHECKING:
    from gridops.incidents.models import Incident

_FIELDS = tuple(f.name for f in dataclasses.fields(ClockState))


def state_of(clock: SlaClock) -> ClockState:
    return ClockState(**{name: getattr(clock, name) for name in _FIELDS})


def _apply(clock: SlaClock, state: ClockState) -> SlaClock:
    for name in _FIELDS:
        value = getattr(state, name)
        if getattr(clock, name) != value:
            setattr(clock, name, value)
    return clock


@functools.cache
def _fallback_calendar() -> WorkingCalendar:
    return build_calendar()


async def _open(session: AsyncSession, incident_id: uuid.UUID,
                kind: str | None = None) -> Sequence[SlaClock]:
    query = select(SlaClock).where(SlaClock.incident_id == incident_id,
                                   SlaClock.outcome.is_(None))
    if kind is not None:
        query = query.where(SlaClock.kind == kind)
    return (await session.scalars(query.order_by(SlaClock.kind, SlaClock.round))).all()


async def start(session: AsyncSession, incident: Incident, *, kind: Kind, item: ItemLimits,
                urgent: bool, now: datetime, cal: WorkingCalendar, round: int = 1,
                due_soon_share: float = policy.DEFAULT_DUE_SOON_SHARE) -> SlaClock:
    """Start the `kind` deadline of `round`. Idempotent per (kind, round); an earlier round still
    open is voided (a rework starts a fresh resolve deadline)."""
    existing = await session.scalar(select(SlaClock).where(
        SlaClock.incident_id == incident.id, SlaClock.kind == kind, SlaClock.round == round))
    if existing is not None:
        return existing
    for old in await _open(session, incident.id, kind):
        _apply(old, policy.void(state_of(old), now, cal))
    basis, minutes = policy.limit_for(item, kind, urgent=urgent)
    state = policy.start(kind, basis=basis, limit_minutes=minutes, now=now, cal=cal,
                         due_soon_share=due_soon_share, unit_code=incident.unit_code, round=round)
    clock = SlaClock(incident_id=incident.id, **{name: getattr(state, name) for name in _FIELDS})
    session.add(clock)
    await session.flush()
    return clock


async def stop(session: AsyncSession, incident_id: uuid.UUID, kind: Kind, now: datetime,
               cal: WorkingCalendar | None = None) -> SlaClock | None:
    """Stop the open `kind` clock: met at or before its deadline, else missed. None if none open."""
    cal = cal or _fallback_calendar()
    stopped = None
    for clock in await _open(session, incident_id, kind):
        stopped = _apply(clock, policy.stop(state_of(clock), now, cal))
    await session.flush()
    return stopped


async def pause_all(session: AsyncSession, incident_id: uuid.UUID,
                    now: datetime) -> list[SlaClock]:
    """Suspension (挂起): every open clock freezes its time left."""
    clocks = [_apply(c, policy.pause(state_of(c), now)) for c in await _open(session, incident_id)]
    await session.flush()
    return clocks


async def resume_all(session: AsyncSession, incident_id: uuid.UUID, now: datetime,
                     cal: WorkingCalendar) -> list[SlaClock]:
    clocks = [_apply(c, policy.resume(state_of(c), now, cal))
              for c in await _open(session, incident_id)]
    await session.flush()
    return clocks


async def extend(session: AsyncSession, incident_id: uuid.UUID, hours: float, now: datetime,
                 cal: WorkingCalendar,
                 due_soon_share: float = policy.DEFAULT_DUE_SOON_SHARE) -> SlaClock | None:
    """An approved extension (延期) moves the open resolve deadline by `hours` working hours."""
    extended = None
    for clock in await _open(session, incident_id, "resolve"):
        extended = _apply(clock, policy.extend(state_of(clock), hours, now, cal, due_soon_share))
    await session.flush()
    return extended


async def void_all(session: AsyncSession, incident_id: uuid.UUID, now: datetime,
                   cal: WorkingCalendar | None = None) -> list[SlaClock]:
    """Voided or merged: open clocks end without counting for or against anyone."""
    cal = cal or _fallback_calendar()
    clocks = [_apply(c, policy.void(state_of(c), now, cal))
              for c in await _open(session, incident_id)]
    await session.flush()
    return clocks


async def reassign(session: AsyncSession, incident_id: uuid.UUID, unit_code: str | None,
                   now: datetime, cal: WorkingCalendar) -> list[HandOver]:
    """A return (退单) hands the open clocks to the next unit without resetting them. The returned
    hand-overs say how much time the previous unit left (negative: it let the order go overdue);
    put them in the audit event of the return so the time stays attributed to that unit."""
    handovers = []
    for clock in await _open(session, incident_id):
        state, handover = policy.reassign(state_of(clock), unit_code, now, cal)
        _apply(clock, state)
        handovers.append(handover)
    await session.flush()
    return handovers


def view(clock: SlaClock, now: datetime, cal: WorkingCalendar,
         due_soon_share: float | None = None) -> ClockView:
    reading = policy.status(state_of(clock), now, cal, due_soon_share)
    return ClockView.model_validate({
        "kind": clock.kind, "round": clock.round, "basis": clock.basis,
        "unit_code": clock.unit_code, "started_at": clock.started_at, "due_at": clock.due_at,
        "status": reading.status, "working_minutes_left": round(reading.minutes_left, 2),
        "extended_minutes": clock.extended_minutes, "escalation_level": clock.escalation_level,
    })


async def views(session: AsyncSession, incident_id: uuid.UUID, now: datetime,
                cal: WorkingCalendar, due_soon_share: float | None = None) -> list[ClockView]:
    """Every clock of the incident but voided ones, sign before resolve, by round."""
    return (await views_for(session, [incident_id], now, cal, due_soon_share)).get(incident_id, [])


async def views_for(session: AsyncSession, incident_ids: Iterable[uuid.UUID], now: datetime,
                    cal: WorkingCalendar, due_soon_share: float | None = None,
                    ) -> dict[uuid.UUID, list[ClockView]]:
    """`views` for a page of incidents in one query (incident lists)."""
    ids = list(incident_ids)
    if not ids:
        return {}
    clocks = await session.scalars(
        select(SlaClock).where(SlaClock.incident_id.in_(ids),
                               SlaClock.outcome.is_distinct_from("void"))
        .order_by(SlaClock.incident_id, SlaClock.kind.desc(), SlaClock.round))
    result: dict[uuid.UUID, list[ClockView]] = {}
    for clock in clocks:
        result.setdefault(clock.incident_id, []).append(view(clock, now, cal, due_soon_share))
    return result
