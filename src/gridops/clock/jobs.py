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
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, func, insert, select, tuple_, update
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

_AUDIT = cast(Table, AuditEvent.__table__)
_CLOCK = cast(Table, SlaClock.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
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
    hours = tuple(settings.sla.escalation_hours)[:policy.TOP_ESCALATION_LEVEL]
    running = and_(SlaClock.outcome.is_(None), SlaClock.paused_at.is_(None))
    # Overdue first, so a clock late since the last sweep is not also warned as due soon.
    await _drain(sessionmaker, report, now, settings.sla.sweep_batch, SlaClock.due_at,
                 and_(running, SlaClock.breached_at.is_(None), SlaClock.due_at < now),
                 lambda c: _breach(c, now, cal, hours))
    await _drain(sessionmaker, report, now, settings.sla.sweep_batch, SlaClock.due_soon_at,
                 and_(running, SlaClock.warned_at.is_(None), SlaClock.due_soon_at <= now,
                      SlaClock.due_at >= now),
                 lambda c: _warn(c, now))
    for level, h in enumerate(hours):
        # Working time never outruns wall time, so only clocks at least `h` wall-clock hours
        # late can have reached the next level; the exact test is in Python.
        await _drain(sessionmaker, report, now, settings.sla.sweep_batch, SlaClock.due_at,
                     and_(running, SlaClock.kind == "resolve", SlaClock.escalation_level == level,
                          SlaClock.breached_at.is_not(None),
                          SlaClock.due_at <= now - timedelta(hours=h)),
                     lambda c: _escalate(c, now, cal, hours))
    return report


Act = Callable[[SlaClock], list[tuple[str, dict[str, Any]]]]


async def _drain(sessionmaker: async_sessionmaker[AsyncSession], report: SweepReport,
                 now: datetime, batch: int, order: Any, where: ColumnElement[bool],
                 act: Act) -> None:
    """Walk the matching clocks in (order, id) pages, one transaction per page. The keyset
    also steps over rows another sweeper holds and rows this sweep looked at but left alone."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        query = select(SlaClock).where(where).order_by(order, SlaClock.id).limit(batch)
        if after is not None:
            query = query.where(tuple_(order, SlaClock.id) > tuple_(*after))
        async with sessionmaker.begin() as session:
            clocks = (await session.scalars(
                query.with_for_update(skip_locked=True, key_share=True))).all()
            streets = await _lock_incidents(session, {c.incident_id for c in clocks})
            before = {c.id: _swept(c) for c in clocks}
            flags = [_Flag(action, clock, streets[clock.incident_id], changes)
                     for clock in clocks if clock.incident_id in streets
                     for action, changes in act(clock)]
            await _update(session, clocks, before)
            await _record(session, flags, now)
        report.batches += 1
        for flag in flags:
            counter = flag.action.removeprefix("sla.")
            setattr(report, counter, getattr(report, counter) + 1)
        if len(clocks) < batch:
            return
        after = (getattr(clocks[-1], order.key), clocks[-1].id)


_SWEPT = ("warned_at", "breached_at", "escalation_level", "escalated_at")


def _swept(clock: SlaClock) -> tuple[Any, ...]:
    return tuple(getattr(clock, name) for name in _SWEPT)


async def _update(session: AsyncSession, clocks: Sequence[SlaClock],
                  before: dict[uuid.UUID, tuple[Any, ...]]) -> None:
    """Write the flags as a few set-based UPDATEs (rows changed alike share one) instead of the
    ORM's one UPDATE per row; the clocks leave the session so it does not write them again."""
    alike: dict[tuple[tuple[str, Any], ...], list[uuid.UUID]] = {}
    for clock in clocks:
        after = _swept(clock)
        changed = tuple((name, new) for name, old, new in zip(_SWEPT, before[clock.id], after,
                                                              strict=True) if old != new)
        if changed:
            alike.setdefault(changed, []).append(clock.id)
        session.expunge(clock)
    for changed, ids in alike.items():
        await session.execute(update(_CLOCK).where(_CLOCK.c.id.in_(ids)).values(dict(changed)))


async def _lock_incidents(session: AsyncSession,
                          ids: set[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Lock the clocks' incidents too, skipping those a request is changing: the sweeper and a
    request never append to one audit chain at once. NO KEY leaves foreign-key inserts alone."""
    if not ids:
        return {}
    street = func.coalesce(Incident.assigned_street_code, Incident.street_code)
    rows = await session.execute(
        select(Incident.id, street).where(Incident.id.in_(ids))
        .with_for_update(skip_locked=True, key_share=True))
    return {row[0]: row[1] for row in rows}


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


def _escalate(clock: SlaClock, now: datetime, cal: WorkingCalendar,
              hours: tuple[float, ...]) -> list[tuple[str, dict[str, Any]]]:
    level = policy.escalation_level(state_of(clock), now, cal, hours)
    if level > clock.escalation_level:
        return [("sla.escalated", _raise(clock, level, now))]
    return []


def _warn(clock: SlaClock, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    clock.warned_at = now
    return [("sla.due_soon", {})]


def _raise(clock: SlaClock, level: int, now: datetime) -> dict[str, Any]:
    changes = {"from_level": clock.escalation_level, "to_level": level,
               "audience": AUDIENCE[level]}
    clock.escalation_level, clock.escalated_at = level, now
    return changes


async def _record(session: AsyncSession, flags: list[_Flag], now: datetime) -> None:
    """One audit event and one notification per flag, appended to each incident's chain and
    inserted in bulk: a sweep may flag thousands, and `audit.record` costs a round trip each."""
    if not flags:
        return
    heads = await _chain_heads(session, {audit.stream_of(f.clock.incident_id) for f in flags})
    events: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for flag in flags:
        clock = flag.clock
        stream = audit.stream_of(clock.incident_id)
        seq, prev = heads.get(stream, (0, audit.GENESIS))
        changes = {"clock": clock.kind, "round": clock.round, "unit_code": clock.unit_code,
                   "due_at": clock.due_at.isoformat(), **flag.changes}
        event = {"stream": stream, "seq": seq + 1, "incident_id": clock.incident_id, "at": now,
                 "actor_role": SYSTEM.role.value, "actor_unit": None,
                 "actor_subject": SYSTEM.subject, "action": flag.action, "from_state": None,
                 "to_state": None, "note": _NOTES[flag.action], "changes": changes,
                 "prev_hash": prev}
        # digest() reads attributes; a namespace avoids building ORM objects by the thousand.
        event["hash"] = digest = audit.digest(cast(AuditEvent, SimpleNamespace(**event)))
        heads[stream] = (seq + 1, digest)
        events.append(event)
        messages.append({
            "event_id": uuid.uuid4(), "topic": "notification", "state": "pending",
            "attempts": 0, "ordering_key": str(clock.incident_id),
            "incident_id": clock.incident_id, "created_at": now, "available_at": now,
            "payload": {"event": flag.action, "incident_id": str(clock.incident_id),
                        "street_code": flag.street_code, **changes}})
    await session.execute(insert(_AUDIT), events)
    await session.execute(insert(_OUTBOX), messages)


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
