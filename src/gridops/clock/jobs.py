"""The sweeper: flags clocks due soon and overdue, and escalates overdue resolve clocks (督办).

Safe on several replicas: each page locks its clocks and their incidents with
`FOR NO KEY UPDATE SKIP LOCKED` (ignored on SQLite, where writers queue), acts, and commits on
its own. Every flag writes one audit event on the incident's chain and one notification to the
outbox, in the page's transaction. A page is a handful of set-based statements, whatever its
size: select and lock, read the chain heads, update the clocks, insert the events with their
messages. On PostgreSQL two pages are in flight at once (`_drain`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
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
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.clock import policy, queries
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.queries import Swept
from gridops.outbox.models import OutboxMessage
from gridops.settings import Settings

_CLOCK = cast(Table, SlaClock.__table__)
_OUTBOX = cast(Table, OutboxMessage.__table__)
AUDIENCE = {1: "unit", 2: "street", 3: "district"}
# A literal, not a parameter: the planner can then match the partial index on kind = 'resolve'.
_RESOLVE: ColumnElement[str] = literal_column("'resolve'")
_WORKERS = 2  # pages in flight at once (PostgreSQL)
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
Act = Callable[[Swept], tuple[dict[str, Any], Flags]]


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


@dataclass(slots=True)
class _Walk:
    """A keyset walk shared by the workers of one pass: each claims the next page in turn."""

    order: InstrumentedAttribute[datetime]
    where: ColumnElement[bool]
    batch: int
    after: tuple[datetime, uuid.UUID] | None = None
    done: bool = False
    pages: int = 0
    claim: asyncio.Lock = field(default_factory=asyncio.Lock)


async def _drain(sessionmaker: async_sessionmaker[AsyncSession], report: SweepReport,
                 now: datetime, batch: int, order: InstrumentedAttribute[datetime],
                 where: ColumnElement[bool], act: Act) -> None:
    """Walk the matching clocks in (order, id) pages, one transaction per page.

    On PostgreSQL two pages are in flight at once, on two connections: one worker claims (selects
    and locks) the next page while the other writes its own. A claim skips the clocks whose
    incident the page in flight has locked, like any locked row, so a pass that ran more than
    one page is walked once more, one page at a time, for what the two workers left each other.
    """
    walk = _Walk(order, where, batch)
    if not _parallel(sessionmaker):
        await _work(sessionmaker, walk, report, now, act)
        return
    workers = [asyncio.create_task(_work(sessionmaker, walk, report, now, act))
               for _ in range(_WORKERS)]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:  # one failed: the other stops too (its page rolls back)
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    if walk.pages > 1:
        await _work(sessionmaker, _Walk(order, where, batch), report, now, act)


async def _work(sessionmaker: async_sessionmaker[AsyncSession], walk: _Walk,
                report: SweepReport, now: datetime, act: Act) -> None:
    while not walk.done:
        async with sessionmaker.begin() as session:
            async with walk.claim:
                if walk.done:
                    return
                clocks = [Swept(*row) for row in await session.execute(
                    queries.sweep_page(walk.where, walk.order, walk.batch, walk.after))]
                walk.pages += 1
                walk.done = len(clocks) < walk.batch
                if clocks:
                    walk.after = (getattr(clocks[-1], walk.order.key), clocks[-1].id)
            page = _decide(clocks, act)
            if session.get_bind().dialect.name == "postgresql":
                await _write_pg(session, page, now)
            else:
                await _write_portable(session, page, now)
        report.batches += 1
        report.events += len(page.flagged)
        for _, action, changes in page.flagged:
            report.due_soon += action == "sla.due_soon"
            report.overdue += action == "sla.overdue"
            report.escalated += "to_level" in changes


def _parallel(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Pages in parallel need a connection each: PostgreSQL, through an engine's pool (not a
    sessionmaker bound to one connection, as in the tests' transactions)."""
    bind = sessionmaker.kw.get("bind")
    return isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"


Flagged = list[tuple[Swept, str, dict[str, Any]]]


@dataclass(slots=True)
class _Page:
    # Clocks changed alike share one UPDATE (a page usually needs one or two).
    alike: dict[tuple[tuple[str, Any], ...], list[uuid.UUID]]
    flagged: Flagged  # (clock, action, changes) in page order


def _decide(clocks: Sequence[Swept], act: Act) -> _Page:
    page = _Page({}, [])
    for clock in clocks:
        values, flags = act(clock)
        if values:
            page.alike.setdefault(tuple(sorted(values.items())), []).append(clock.id)
        page.flagged += [(clock, action, _changes(clock, extra)) for action, extra in flags]
    return page


async def _write_portable(session: AsyncSession, page: _Page, now: datetime) -> None:
    for same, ids in page.alike.items():
        await session.execute(update(_CLOCK).where(_CLOCK.c.id.in_(ids)).values(dict(same)))
    await audit.record_many(session, [
        audit.Entry(c.incident_id, action, _NOTES[action], changes)
        for c, action, changes in page.flagged], actor=SYSTEM, at=now)
    if page.flagged:
        await session.execute(insert(_OUTBOX), [
            {"event_id": uuid.uuid4(), "topic": "notification", "state": "pending",
             "attempts": 0, "ordering_key": str(c.incident_id), "incident_id": c.incident_id,
             "created_at": now, "available_at": now,
             "payload": {"event": action, "incident_id": str(c.incident_id),
                         "street_code": c.street_code, **changes}}
            for c, action, changes in page.flagged])


async def _write_pg(session: AsyncSession, page: _Page, now: datetime) -> None:
    """Three statements whatever the page size: the chain heads, the clock UPDATE (one per set
    of alike changes), and one INSERT of the audit events together with their notifications.
    The events are chained and hashed in a worker thread while PostgreSQL runs the UPDATE."""
    chained = None
    if page.flagged:
        incidents = sorted({clock.incident_id for clock, _, _ in page.flagged})
        found, seqs, hashes = (await session.execute(_PG_HEADS, {"incidents": incidents})).one()
        heads = dict(zip(found or (), zip(seqs or (), hashes or (), strict=True), strict=True))
        chained = asyncio.create_task(asyncio.to_thread(_chain, page.flagged, heads, now))
    try:
        for same, ids in page.alike.items():
            await session.execute(
                update(_CLOCK).where(_CLOCK.c.id == any_(bindparam("ids", ids, type_=_UUIDS)))
                .values(dict(same)))
    finally:
        events = chained and await chained
    if events:
        await session.execute(_PG_WRITE, {"at": now, "role": SYSTEM.role.value,
                                          "unit": SYSTEM.scope_label,
                                          "subject": SYSTEM.subject, **events})


def _chain(flagged: Flagged, heads: dict[uuid.UUID, tuple[int, str]],
           at: datetime) -> dict[str, list[Any]]:
    """The page's events as arrays, each continuing its incident's chain (a page may hold several
    clocks of one incident) and hashed by `audit.digest`, as `audit.record` would. Pure."""
    out: dict[str, list[Any]] = {name: [] for name in _PG_EVENT_ARRAYS}
    role, unit, subject = SYSTEM.role.value, SYSTEM.scope_label, SYSTEM.subject
    # In incident order (stable: one incident's events keep their order), so the inserts walk
    # the audit and outbox indexes keyed by incident from one end to the other.
    for clock, action, changes in sorted(flagged, key=lambda f: f[0].incident_id):
        incident = clock.incident_id
        seq, prev = heads.get(incident, (0, audit.GENESIS))
        event = SimpleNamespace(
            stream=audit.stream_of(incident), seq=seq + 1, incident_id=incident, at=at,
            actor_role=role, actor_unit=unit, actor_subject=subject, action=action,
            from_state=None, to_state=None, note=_NOTES[action], changes=changes,
            prev_hash=prev)
        digest = audit.digest(cast(AuditEvent, event))
        heads[incident] = (seq + 1, digest)
        # `changes` holds only str, int and None: stored as written, hashed as stored.
        for name, value in zip(_PG_EVENT_ARRAYS, (
                event.stream, event.seq, incident, action, event.note,
                json.dumps(changes, ensure_ascii=False), prev, digest, clock.street_code),
                strict=True):
            out[name].append(value)
    return out


def _breach(clock: Swept, now: datetime, cal: WorkingCalendar, hours: tuple[float, ...],
            warned: ColumnElement[datetime]) -> tuple[dict[str, Any], Flags]:
    values: dict[str, Any] = {"breached_at": now, "warned_at": warned}
    level = _level(clock, now, cal, hours)
    if level <= clock.escalation_level:
        return values, [("sla.overdue", {})]
    # The level reached at the breach (with the default schedule, level 1 at once) is part of
    # the same change: one event and one notification say both (docs/clocks.md).
    values |= {"escalation_level": level, "escalated_at": now}
    return values, [("sla.overdue", _raised(clock, level))]


def _escalate(clock: Swept, now: datetime, cal: WorkingCalendar,
              hours: tuple[float, ...]) -> tuple[dict[str, Any], Flags]:
    level = _level(clock, now, cal, hours)
    if level <= clock.escalation_level:
        return {}, []
    return ({"escalation_level": level, "escalated_at": now},
            [("sla.escalated", _raised(clock, level))])


def _level(clock: Swept, now: datetime, cal: WorkingCalendar,
           hours: tuple[float, ...]) -> int:
    """`policy.escalation_level` of a running clock, without working-time arithmetic when wall
    time settles it: levels due at 0 h are reached at once, levels further away than the clock is
    late in wall time are not (working time never outruns wall time)."""
    level = int(clock.escalation_level)
    if clock.kind != "resolve" or now <= clock.due_at:
        return level
    at_once, soonest = _schedule(hours)
    if (now - clock.due_at) / _HOUR < soonest:
        return max(level, at_once)
    state = policy.ClockState(
        kind=clock.kind, basis=clock.basis, limit_minutes=clock.limit_minutes,
        started_at=clock.started_at, due_at=clock.due_at, due_soon_at=clock.due_soon_at,
        escalation_level=clock.escalation_level)
    return policy.escalation_level(state, now, cal, hours)


_HOUR = timedelta(hours=1)


@functools.cache
def _schedule(hours: tuple[float, ...]) -> tuple[int, float]:
    """The levels reached at the deadline itself, and the hours late the first later one needs."""
    return sum(1 for h in hours if h <= 0), min((h for h in hours if h > 0), default=math.inf)


def _raised(clock: Swept, level: int) -> dict[str, Any]:
    return {"from_level": clock.escalation_level, "to_level": level, "audience": AUDIENCE[level]}


def _changes(clock: Swept, extra: dict[str, Any]) -> dict[str, Any]:
    return {"clock": clock.kind, "round": clock.round, "unit_code": clock.unit_code,
            "due_at": clock.due_at.isoformat(), **extra}


_UUIDS = ARRAY(Uuid())
# The chain head (last seq and hash) of each incident's stream, read after the page's incidents
# are locked so no request can append meanwhile. `uuid::text` is Python's str(uuid).
# Three arrays in one row: far less to decode than a row per incident.
_PG_HEADS = text("""
SELECT array_agg(h.incident_id), array_agg(e.seq), array_agg(e.hash)
FROM unnest(CAST(:incidents AS uuid[])) AS h(incident_id)
CROSS JOIN LATERAL (SELECT seq, hash FROM audit_event
                    WHERE audit_event.stream = 'incident:' || h.incident_id::text
                    ORDER BY seq DESC LIMIT 1) AS e""")
_PG_EVENT_ARRAYS = ("streams", "seqs", "incidents", "actions", "notes", "changes", "prevs",
                    "hashes", "streets")
# The events and one `notification` each (keyed by incident so one incident's arrive in order),
# in one statement from arrays; the payload is the event's changes plus who and where.
_PG_WRITE = text("""
WITH e AS (
    SELECT * FROM unnest(CAST(:streams AS varchar[]), CAST(:seqs AS int[]),
                         CAST(:incidents AS uuid[]), CAST(:actions AS varchar[]),
                         CAST(:notes AS text[]), CAST(:changes AS text[]),
                         CAST(:prevs AS varchar[]), CAST(:hashes AS varchar[]),
                         CAST(:streets AS varchar[]))
        WITH ORDINALITY AS e(stream, seq, incident_id, action, note, changes, prev_hash, hash,
                             street_code, n)
), events AS (
    INSERT INTO audit_event (stream, seq, incident_id, at, actor_role, actor_unit,
                             actor_subject, action, note, changes, prev_hash, hash)
    SELECT stream, seq, incident_id, :at, :role, :unit, :subject, action, note,
           CAST(changes AS jsonb), prev_hash, hash
    FROM e ORDER BY n
)
INSERT INTO outbox_message (event_id, topic, state, attempts, ordering_key, incident_id,
                            created_at, available_at, payload)
SELECT gen_random_uuid(), 'notification', 'pending', 0, incident_id::text, incident_id, :at,
       :at, jsonb_build_object('event', action, 'incident_id', incident_id::text,
                               'street_code', street_code) || CAST(changes AS jsonb)
FROM e ORDER BY n
""")
