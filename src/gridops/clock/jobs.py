"""The sweeper: flags clocks due soon and overdue, and escalates overdue resolve clocks (督办).

Safe on several replicas: each batch locks its clocks and their incidents with
`FOR NO KEY UPDATE SKIP LOCKED` (ignored on SQLite, where writers queue), re-reads them, acts, and
commits on its own. Every flag writes one audit event on the incident's chain and one
notification to the outbox, in the batch's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.service import state_of
from gridops.incidents.models import Incident
from gridops.outbox.models import OutboxMessage
from gridops.settings import Settings

AUDIENCE = {1: "unit", 2: "street", 3: "district"}
_NOTES = {"sla.due_soon": "即将超期", "sla.overdue": "已超期", "sla.escalated": "超期督办"}


@dataclass
class SweepReport:
    due_soon: int = 0
    overdue: int = 0
    escalated: int = 0
    batches: int = 0

    @property
    def flagged(self) -> int:
        return self.due_soon + self.overdue + self.escalated


@dataclass
class _Flag:
    action: str
    clock: SlaClock
    street_code: str | None
    changes: dict[str, Any] = field(default_factory=dict)


async def sweep(sessionmaker: async_sessionmaker[AsyncSession], now: datetime,
                cal: WorkingCalendar, settings: Settings) -> SweepReport:
    now = now.astimezone(UTC)  # event hashes cover `at` as stored: in UTC
    report = SweepReport()
    sla = settings.sla
    hours = tuple(sla.escalation_hours)
    open_running = and_(SlaClock.outcome.is_(None), SlaClock.paused_at.is_(None))
    # Overdue first, so a clock late since the last sweep is not also warned as due soon.
    overdue = select(SlaClock).where(open_running, SlaClock.breached_at.is_(None),
                                     SlaClock.due_at < now).order_by(SlaClock.due_at)
    soon = select(SlaClock).where(open_running, SlaClock.warned_at.is_(None),
                                  SlaClock.due_soon_at <= now, SlaClock.due_at >= now,
                                  ).order_by(SlaClock.due_soon_at)
    # Working time never outruns wall time: a clock can only have reached level k+1 once it is
    # at least hours[k] wall-clock hours late. The exact test is in Python.
    reachable = or_(*(and_(SlaClock.escalation_level == level,
                           SlaClock.due_at <= now - timedelta(hours=h))
                      for level, h in enumerate(hours[:policy.TOP_ESCALATION_LEVEL])))
    escalate = select(SlaClock).where(open_running, SlaClock.kind == "resolve",
                                      SlaClock.breached_at.is_not(None), reachable)

    while True:
        async with sessionmaker.begin() as session:
            flags, seen = await _batch(session, overdue, sla.sweep_batch,
                                       lambda c: _breach(c, now, cal, hours))
            await _record(session, flags, now)
        report.batches += 1
        report.overdue += sum(f.action == "sla.overdue" for f in flags)
        report.escalated += sum(f.action == "sla.escalated" for f in flags)
        if seen < sla.sweep_batch:
            break
    while True:
        async with sessionmaker.begin() as session:
            flags, seen = await _batch(session, soon, sla.sweep_batch, lambda c: _warn(c, now))
            await _record(session, flags, now)
        report.batches += 1
        report.due_soon += len(flags)
        if seen < sla.sweep_batch:
            break
    after: uuid.UUID | None = None
    while True:
        page = escalate.order_by(SlaClock.id)
        if after is not None:
            page = page.where(SlaClock.id > after)
        async with sessionmaker.begin() as session:
            flags, seen, after = await _escalation_batch(session, page, sla.sweep_batch,
                                                         now, cal, hours)
            await _record(session, flags, now)
        report.batches += 1
        report.escalated += len(flags)
        if seen < sla.sweep_batch or after is None:
            break
    return report


async def _locked(session: AsyncSession, query: Select[Any],
                  limit: int) -> Sequence[tuple[SlaClock, str | None]]:
    # Locking the incident too keeps the sweeper off incidents a request is changing, so the two
    # never append to one audit chain at once; NO KEY leaves foreign-key inserts unblocked.
    street = func.coalesce(Incident.assigned_street_code, Incident.street_code)
    rows = await session.execute(
        query.add_columns(street).join(Incident, Incident.id == SlaClock.incident_id)
        .limit(limit)
        .with_for_update(skip_locked=True, key_share=True, of=(SlaClock, Incident)))
    return [(row[0], row[1]) for row in rows]


Act = Callable[[SlaClock], list[tuple[str, dict[str, Any]]]]


async def _batch(session: AsyncSession, query: Select[Any], limit: int,
                 act: Act) -> tuple[list[_Flag], int]:
    rows = await _locked(session, query, limit)
    flags: list[_Flag] = []
    for clock, street in rows:
        for action, changes in act(clock):
            flags.append(_Flag(action, clock, street, changes))
    return flags, len(rows)


def _breach(clock: SlaClock, now: datetime, cal: WorkingCalendar,
            hours: tuple[float, ...]) -> list[tuple[str, dict[str, Any]]]:
    clock.breached_at = now
    if clock.warned_at is None:
        clock.warned_at = now  # too late to warn; never warn afterwards
    actions: list[tuple[str, dict[str, Any]]] = [("sla.overdue", {})]
    level = policy.escalation_level(state_of(clock), now, cal, hours)
    if level > clock.escalation_level:
        actions.append(("sla.escalated", _raise(clock, level, now)))
    return actions


def _warn(clock: SlaClock, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    clock.warned_at = now
    return [("sla.due_soon", {})]


def _raise(clock: SlaClock, level: int, now: datetime) -> dict[str, Any]:
    changes = {"from_level": clock.escalation_level, "to_level": level,
               "audience": AUDIENCE[level]}
    clock.escalation_level, clock.escalated_at = level, now
    return changes


async def _escalation_batch(
        session: AsyncSession, query: Select[Any], limit: int, now: datetime,
        cal: WorkingCalendar, hours: tuple[float, ...],
) -> tuple[list[_Flag], int, uuid.UUID | None]:
    rows = await _locked(session, query, limit)
    flags = []
    for clock, street in rows:
        level = policy.escalation_level(state_of(clock), now, cal, hours)
        if level > clock.escalation_level:
            flags.append(_Flag("sla.escalated", clock, street, _raise(clock, level, now)))
    return flags, len(rows), (rows[-1][0].id if rows else None)


async def _record(session: AsyncSession, flags: list[_Flag], now: datetime) -> None:
    """One audit event and one notification per flag, appended to each incident's chain in bulk
    (the per-event `audit.record` costs a round trip per event; a sweep may flag thousands)."""
    if not flags:
        await session.flush()
        return
    streams = {audit.stream_of(f.clock.incident_id) for f in flags}
    heads = await _chain_heads(session, streams)
    for flag in flags:
        clock = flag.clock
        stream = audit.stream_of(clock.incident_id)
        seq, prev = heads.get(stream, (0, audit.GENESIS))
        changes = {"clock": clock.kind, "round": clock.round, "unit_code": clock.unit_code,
                   "due_at": clock.due_at.isoformat(), **flag.changes}
        event = AuditEvent(
            stream=stream, seq=seq + 1, incident_id=clock.incident_id, at=now,
            actor_role=SYSTEM.role.value, actor_unit=None, actor_subject=SYSTEM.subject,
            action=flag.action, from_state=None, to_state=None, note=_NOTES[flag.action],
            changes=changes, prev_hash=prev)
        event.hash = audit.digest(event)
        heads[stream] = (event.seq, event.hash)
        session.add(event)
        session.add(OutboxMessage(
            topic="notification", ordering_key=str(clock.incident_id),
            incident_id=clock.incident_id, created_at=now, available_at=now,
            event_id=uuid.uuid4(),
            payload={"event": flag.action, "incident_id": str(clock.incident_id),
                     "street_code": flag.street_code, **changes}))
    await session.flush()


async def _chain_heads(session: AsyncSession, streams: set[str]) -> dict[str, tuple[int, str]]:
    heads: dict[str, tuple[int, str]] = {}
    ordered = sorted(streams)
    for i in range(0, len(ordered), 1000):
        chunk = ordered[i:i + 1000]
        last = (select(AuditEvent.stream, func.max(AuditEvent.seq).label("seq"))
                .where(AuditEvent.stream.in_(chunk)).group_by(AuditEvent.stream).subquery())
        rows = await session.execute(
            select(AuditEvent.stream, AuditEvent.seq, AuditEvent.hash)
            .join(last, and_(AuditEvent.stream == last.c.stream, AuditEvent.seq == last.c.seq)))
        heads.update({row.stream: (row.seq, row.hash) for row in rows})
    return heads
