"""The sweeper: flags clocks due soon and overdue, and escalates overdue resolve clocks (督办).

Safe on several replicas: each page locks its clocks and their incidents with
`FOR NO KEY UPDATE SKIP LOCKED` (ignored on SQLite, where writers queue), acts, and commits on
its own. Every flag writes one audit event on the incident's chain and one notification to the
outbox, in the page's transaction. A page is a handful of set-based statements, whatever its
size: select and lock, update the clocks, read the chain heads, insert the events, insert the
messages.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from gridops.audit import service as audit
from gridops.auth.actor import SYSTEM
from gridops.clock import policy, queries
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.outbox.models import OutboxMessage
from gridops.settings import Settings

_CLOCK = cast(Table, SlaClock.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
AUDIENCE = {1: "unit", 2: "street", 3: "district"}
# A literal, not a parameter: the planner can then match the partial index on kind = 'resolve'.
_RESOLVE: ColumnElement[str] = literal_column("'resolve'")
_NOTES = {"sla.due_soon": "即将超期", "sla.overdue": "已超期", "sla.escalated": "超期督办"}


@dataclass
class SweepReport:
    due_soon: int = 0  # clocks warned
    overdue: int = 0  # clocks flagged overdue
    escalated: int = 0  # clocks raised a level, at the breach or later
    events: int = 0  # audit events written, one notification each
    batches: int = 0

    @property
    def flagged(self) -> int:
        return self.events


Flags = list[tuple[str, dict[str, Any]]]
# A decision on one clock: the columns to set (empty: leave it) and the flags to record.
Act = Callable[[Row[Any]], tuple[dict[str, Any], Flags]]


Scan = tuple[InstrumentedAttribute[datetime], ColumnElement[bool]]


def scans(now: datetime, hours: tuple[float, ...]) -> list[Scan]:
    """The sweeper's passes in order, each a keyset order and a filter that one partial index of
    `sla_clock` serves: overdue, due soon, then one per escalation level."""
    running = and_(SlaClock.outcome.is_(None), SlaClock.paused_at.is_(None))
    overdue = and_(running, SlaClock.breached_at.is_(None), SlaClock.due_at < now)
    due_soon = and_(running, SlaClock.warned_at.is_(None), SlaClock.due_soon_at <= now,
                    SlaClock.due_at >= now)
    # Working time never outruns wall time, so only clocks at least `h` wall-clock hours late
    # can have reached the next level; `_level` decides exactly.
    escalations = [and_(running, SlaClock.breached_at.is_not(None), SlaClock.kind == _RESOLVE,
                        SlaClock.escalation_level == level,
                        SlaClock.due_at <= now - timedelta(hours=h))
                   for level, h in enumerate(hours)]
    return [(SlaClock.due_at, overdue), (SlaClock.due_soon_at, due_soon),
            *((SlaClock.due_at, where) for where in escalations)]


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime,
                cal: WorkingCalendar, settings: Settings) -> SweepReport:
    now = now.astimezone(UTC)  # event hashes cover `at` as stored: in UTC
    report = SweepReport()
    hours = tuple(settings.sla.escalation_hours)[:policy.TOP_ESCALATION_LEVEL]
    # A clock found already overdue is too late to warn; it is never warned afterwards. One
    # expression for all, so clocks warned at different times still share one UPDATE.
    warned = func.coalesce(_CLOCK.c.warned_at, now)
    # Overdue first, so a clock late since the last sweep is not also warned as due soon.
    acts: list[Act] = [lambda c: _breach(c, now, cal, hours, warned),
                       lambda c: ({"warned_at": now}, [("sla.due_soon", {})])]
    acts += [lambda c: _escalate(c, now, cal, hours)] * len(hours)
    for (order, where), act in zip(scans(now, hours), acts, strict=True):
        await _drain(sessionmaker, report, now, settings.sla.sweep_batch, order, where, act)
    return report


async def _drain(sessionmaker: async_sessionmaker[AsyncSession], report: SweepReport,
                 now: datetime, batch: int, order: InstrumentedAttribute[datetime],
                 where: ColumnElement[bool], act: Act) -> None:
    """Walk the matching clocks in (order, id) pages, one transaction per page."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        async with sessionmaker.begin() as session:
            clocks = (await session.execute(queries.sweep_page(where, order, batch, after))).all()
            alike: dict[tuple[tuple[str, Any], ...], list[uuid.UUID]] = {}
            flagged: list[tuple[Row[Any], str, dict[str, Any]]] = []
            for clock in clocks:
                values, flags = act(clock)
                if values:
                    alike.setdefault(tuple(sorted(values.items())), []).append(clock.id)
                flagged += [(clock, action, _changes(clock, extra)) for action, extra in flags]
            # Clocks changed alike share one UPDATE (a page usually needs one or two).
            pg = session.get_bind().dialect.name == "postgresql"
            for same, ids in alike.items():
                await session.execute(update(_CLOCK).where(_ids(ids, pg)).values(dict(same)))
            await audit.record_many(session, [
                audit.Entry(c.incident_id, action, _NOTES[action], changes)
                for c, action, changes in flagged], actor=SYSTEM, at=now)
            await _notify(session, flagged, now)
        report.batches += 1
        report.events += len(flagged)
        for _, action, changes in flagged:
            report.due_soon += action == "sla.due_soon"
            report.overdue += action == "sla.overdue"
            report.escalated += "to_level" in changes
        if len(clocks) < batch:
            return
        after = (getattr(clocks[-1], order.key), clocks[-1].id)


def _ids(ids: list[uuid.UUID], pg: bool) -> ColumnElement[bool]:
    # On PostgreSQL one array parameter: no statement of a thousand placeholders to render.
    if pg:
        return _CLOCK.c.id == any_(bindparam("ids", ids, type_=ARRAY(Uuid())))
    return _CLOCK.c.id.in_(ids)


def _breach(clock: Row[Any], now: datetime, cal: WorkingCalendar, hours: tuple[float, ...],
            warned: ColumnElement[datetime]) -> tuple[dict[str, Any], Flags]:
    values: dict[str, Any] = {"breached_at": now, "warned_at": warned}
    level = _level(clock, now, cal, hours)
    if level <= clock.escalation_level:
        return values, [("sla.overdue", {})]
    # The level reached at the breach (with the default schedule, level 1 at once) is part of
    # the same change: one event and one notification say both (docs/clocks.md).
    values |= {"escalation_level": level, "escalated_at": now}
    return values, [("sla.overdue", _raised(clock, level))]


def _escalate(clock: Row[Any], now: datetime, cal: WorkingCalendar,
              hours: tuple[float, ...]) -> tuple[dict[str, Any], Flags]:
    level = _level(clock, now, cal, hours)
    if level <= clock.escalation_level:
        return {}, []
    return ({"escalation_level": level, "escalated_at": now},
            [("sla.escalated", _raised(clock, level))])


def _level(clock: Row[Any], now: datetime, cal: WorkingCalendar,
           hours: tuple[float, ...]) -> int:
    """`policy.escalation_level` of a running clock, without working-time arithmetic when wall
    time settles it: levels due at 0 h are reached at once, levels further away than the clock is
    late in wall time are not (working time never outruns wall time)."""
    if clock.kind != "resolve" or now <= clock.due_at:
        return int(clock.escalation_level)
    late_hours = (now - clock.due_at) / timedelta(hours=1)
    if all(h <= 0 or h > late_hours for h in hours):
        return max(int(clock.escalation_level), sum(1 for h in hours if h <= 0))
    state = policy.ClockState(
        kind=clock.kind, basis=clock.basis, limit_minutes=clock.limit_minutes,
        started_at=clock.started_at, due_at=clock.due_at, due_soon_at=clock.due_soon_at,
        escalation_level=clock.escalation_level)
    return policy.escalation_level(state, now, cal, hours)


def _raised(clock: Row[Any], level: int) -> dict[str, Any]:
    return {"from_level": clock.escalation_level, "to_level": level, "audience": AUDIENCE[level]}


def _changes(clock: Row[Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {"clock": clock.kind, "round": clock.round, "unit_code": clock.unit_code,
            "due_at": clock.due_at.isoformat(), **extra}


async def _notify(session: AsyncSession, flagged: list[tuple[Row[Any], str, dict[str, Any]]],
                  now: datetime) -> None:
    """One `notification` per flag, keyed by incident so one incident's arrive in order."""
    if not flagged:
        return
    payloads = [{"event": action, "incident_id": str(clock.incident_id),
                 "street_code": clock.street_code, **changes}
                for clock, action, changes in flagged]
    incidents = [clock.incident_id for clock, _, _ in flagged]
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_PG_NOTIFY, {
            "now": now, "incidents": incidents,
            "payloads": [json.dumps(p, ensure_ascii=False) for p in payloads]})
        return
    await session.execute(insert(_OUTBOX), [
        {"event_id": uuid.uuid4(), "topic": "notification", "state": "pending", "attempts": 0,
         "ordering_key": str(incident), "incident_id": incident, "created_at": now,
         "available_at": now, "payload": payload}
        for incident, payload in zip(incidents, payloads, strict=True)])


# One statement whatever the page size (arrays, not a VALUES list of 9 × n parameters);
# `uuid::text` is the same canonical form as Python's str(uuid).
_PG_NOTIFY = text("""
INSERT INTO outbox_message (event_id, topic, state, attempts, ordering_key, incident_id,
                            created_at, available_at, payload)
SELECT gen_random_uuid(), 'notification', 'pending', 0, m.incident_id::text, m.incident_id,
       :now, :now, CAST(m.payload AS jsonb)
FROM unnest(CAST(:incidents AS uuid[]), CAST(:payloads AS text[])) AS m(incident_id, payload)
""")
