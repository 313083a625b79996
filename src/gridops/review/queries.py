"""Read-side SQL of the weekly review: GROUP BY over indexed time columns, one row per bucket
(unit, owning street, street, community, grid). The few figures that need per-row logic
(attribution across a hand-over, the 72-hour window, the overdue list) fetch only the rows that
need it. Portable between SQLite and PostgreSQL: no date arithmetic in SQL."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gridops.audit.models import AuditEvent
from gridops.clock.models import SlaClock
from gridops.incidents.models import Incident, IncidentRequest
from gridops.review.metrics import Tally

# (unit_code, assigned_street_code, street_code, community_code, grid_code)
Key = tuple[str | None, str | None, str | None, str | None, str | None]
Buckets = dict[Key, Tally]

PLACE = (Incident.street_code, Incident.community_code, Incident.grid_code)
# Events after which a running clock belongs to another unit (or to nobody, in triage).
HANDOVER = ("incident.return_approved", "incident.redispatched", "incident.dispatched")
REWORK_TO = ("in_progress", "triage")
HAPPY = ("satisfied", "basic")


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    cut: datetime  # min(week end, now): nothing later is judged
    scope: ColumnElement[bool]  # the actor's part of the district, over Incident


def _one(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _between(column: Any, w: Window) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.cut)


def _key(row: Any) -> Key:
    return (row.unit, row.street_of_unit, row.street_code, row.community_code, row.grid_code)


def tally_of(buckets: Buckets, key: Key) -> Tally:
    found = buckets.get(key)
    if found is None:
        found = buckets[key] = Tally()
    return found


async def received(session: AsyncSession, w: Window, buckets: Buckets) -> None:
    gone = Incident.state.in_(("merged", "voided"))
    query = (select(Incident.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    _one(~gone).label("received"), _one(Incident.state == "merged").label("m"),
                    _one(Incident.state == "voided").label("v"))
             .where(_between(Incident.created_at, w), w.scope)
             .group_by(Incident.unit_code, Incident.assigned_street_code, *PLACE))
    for row in await session.execute(query):
        t = tally_of(buckets, _key(row))
        t.received += row.received
        t.merged += row.m
        t.voided += row.v


def _judged(w: Window) -> ColumnElement[bool]:
    """Clocks due in the week and judged: not void, and not frozen by a suspension that began
    before the deadline (a clock paused while already overdue stays overdue)."""
    return and_(_between(SlaClock.due_at, w), SlaClock.outcome.is_distinct_from("void"),
                or_(SlaClock.outcome.is_not(None), SlaClock.paused_at.is_(None),
                    SlaClock.paused_at > SlaClock.due_at))


async def clocks_due(session: AsyncSession, w: Window, buckets: Buckets) -> None:
    """签收及时率 and 按期办结率: clocks whose deadline fell in the week, met or not."""
    query = (select(SlaClock.kind, SlaClock.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    func.count().label("due"), _one(SlaClock.outcome == "met").label("met"))
             .join(Incident, Incident.id == SlaClock.incident_id)
             .where(_judged(w), w.scope)
             .group_by(SlaClock.kind, SlaClock.unit_code, Incident.assigned_street_code, *PLACE))
    for row in await session.execute(query):
        t = tally_of(buckets, _key(row))
        t.bump(f"{row.kind}_due", row.due)
        t.bump(f"{row.kind}_met", row.met)
    await _reattribute_missed(session, w, buckets)


async def _reattribute_missed(session: AsyncSession, w: Window, buckets: Buckets) -> None:
    """A deadline missed while unit A held the order stays A's after a return or redispatch
    handed the clock on (退单不重置, 时间归属原单位): move it from the current holder to the
    holder at the deadline, read from the first hand-over event after it."""
    query = (select(SlaClock.id, SlaClock.kind, SlaClock.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    AuditEvent.at, AuditEvent.changes)
             .join(Incident, Incident.id == SlaClock.incident_id)
             .join(AuditEvent, and_(AuditEvent.incident_id == SlaClock.incident_id,
                                    AuditEvent.action.in_(HANDOVER),
                                    AuditEvent.at > SlaClock.due_at))
             .where(_judged(w), SlaClock.outcome.is_distinct_from("met"), w.scope)
             .order_by(SlaClock.id, AuditEvent.at, AuditEvent.id))
    seen: set[uuid.UUID] = set()
    for row in await session.execute(query):
        if row.id in seen:
            continue
        seen.add(row.id)
        holder = holder_before(row.changes, row.unit, row.street_of_unit)
        if holder is None:
            continue
        tally_of(buckets, _key(row)).bump(f"{row.kind}_due", -1)
        tally_of(buckets, (*holder, *_key(row)[2:])).bump(f"{row.kind}_due")


def holder_before(changes: dict[str, Any], unit: str | None,
                  street_of_unit: str | None) -> tuple[str | None, str | None] | None:
    """Who held the order just before a hand-over event, or None when it did not change hands."""
    moved = changes.get("unit_code")
    if not isinstance(moved, list) or len(moved) != 2 or moved[0] == unit:
        return None
    streets = changes.get("assigned_street_code")
    street = streets[0] if isinstance(streets, list) and streets else street_of_unit
    return moved[0], street


def _event_unit() -> tuple[Any, Any]:
    """The unit an event is about: the unit dispatched to, the unit that returned the order, or
    else the unit holding the order."""
    unit_json = AuditEvent.changes[("unit_code", 1)].as_string()
    street_json = AuditEvent.changes[("assigned_street_code", 1)].as_string()
    returned = AuditEvent.changes[("unit_code", 0)].as_string()
    returned_street = AuditEvent.changes[("assigned_street_code", 0)].as_string()
    dispatch = AuditEvent.action.in_(("incident.dispatched", "incident.redispatched"))
    unit = case((dispatch, func.coalesce(unit_json, Incident.unit_code)),
                (AuditEvent.action == "incident.return_approved", returned),
                else_=Incident.unit_code)
    street = case((dispatch, func.coalesce(street_json, Incident.assigned_street_code)),
                  (AuditEvent.action == "incident.return_approved", returned_street),
                  else_=Incident.assigned_street_code)
    return unit, street


EVENTS = ("incident.dispatched", "incident.redispatched", "incident.return_approved",
          "incident.resolved", "incident.verify_failed", "incident.reopened",
          "incident.callback_recorded")


async def events(session: AsyncSession, w: Window, buckets: Buckets) -> None:
    """派单, 退单, 办结反馈, 返工, 回访: counted from the audit trail, by event time."""
    unit, street = _event_unit()
    action, callback = AuditEvent.action, AuditEvent.action == "incident.callback_recorded"
    rework = or_(action.in_(("incident.verify_failed", "incident.reopened")),
                 and_(callback, AuditEvent.to_state.in_(REWORK_TO)))
    query = (select(unit.label("unit"), street.label("street_of_unit"), *PLACE,
                    _one(action.in_(("incident.dispatched", "incident.redispatched")))
                    .label("dispatches"),
                    _one(action == "incident.return_approved").label("returns"),
                    _one(action == "incident.resolved").label("resolutions"),
                    _one(rework).label("reworks"), _one(callback).label("rated"),
                    _one(and_(callback, AuditEvent.changes["resolved"].as_boolean()
                              .is_(True))).label("cb_resolved"),
                    _one(and_(callback, AuditEvent.changes["satisfaction"].as_string()
                              .in_(HAPPY))).label("satisfied"))
             .join(Incident, Incident.id == AuditEvent.incident_id)
             .where(_between(AuditEvent.at, w), action.in_(EVENTS), w.scope)
             .group_by(unit, street, *PLACE))
    for row in await session.execute(query):
        t = tally_of(buckets, _key(row))
        for name in ("dispatches", "returns", "resolutions", "reworks", "rated", "cb_resolved",
                     "satisfied"):
            t.bump(name, getattr(row, name))


async def extensions(session: AsyncSession, w: Window, buckets: Buckets) -> None:
    """延期: approved extension requests decided in the week, the asking unit's."""
    query = (select(IncidentRequest.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    func.count().label("n"))
             .join(Incident, Incident.id == IncidentRequest.incident_id)
             .where(IncidentRequest.kind == "extension", IncidentRequest.state == "approved",
                    _between(IncidentRequest.decided_at, w), w.scope)
             .group_by(IncidentRequest.unit_code, Incident.assigned_street_code, *PLACE))
    for row in await session.execute(query):
        tally_of(buckets, _key(row)).extensions += row.n


@dataclass(frozen=True, slots=True)
class Finished:
    """A resolve round completed in the week (办结), for handling time."""

    key: Key
    incident_id: uuid.UUID
    basis: str
    started_at: datetime
    stopped_at: datetime
    paused_minutes: float


async def finished(session: AsyncSession, w: Window) -> list[Finished]:
    query = (select(SlaClock.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    SlaClock.incident_id, SlaClock.basis, SlaClock.started_at,
                    SlaClock.stopped_at, SlaClock.paused_minutes)
             .join(Incident, Incident.id == SlaClock.incident_id)
             .where(SlaClock.kind == "resolve", _between(SlaClock.stopped_at, w),
                    SlaClock.outcome.in_(("met", "missed")), w.scope))
    return [Finished(_key(r), r.incident_id, r.basis, r.started_at, r.stopped_at,
                     r.paused_minutes) for r in await session.execute(query)]


async def suspensions(session: AsyncSession,
                      incident_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[datetime]]:
    """Suspension starts and resumptions per incident, in time order (for urgent clocks, whose
    paused minutes are continuous, so the working time paused must be measured afresh)."""
    if not incident_ids:
        return {}
    query = (select(AuditEvent.incident_id, AuditEvent.at)
             .where(AuditEvent.incident_id.in_(incident_ids),
                    AuditEvent.action.in_(("incident.suspension_approved", "incident.resumed")))
             .order_by(AuditEvent.incident_id, AuditEvent.at, AuditEvent.id))
    found: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for row in await session.execute(query):
        assert row.incident_id is not None
        found[row.incident_id].append(row.at)
    return found


@dataclass(frozen=True, slots=True)
class OpenRound:
    """A resolve round still running at the cut (week end)."""

    key: Key
    incident_id: uuid.UUID
    title: str
    item_name: str | None
    state: str
    basis: str
    due_at: datetime
    extended_minutes: float
    paused_at: datetime | None
    handed_over: dict[str, Any] | None  # changes of the first hand-over after the cut


def _open_at(w: Window) -> ColumnElement[bool]:
    return and_(SlaClock.kind == "resolve", SlaClock.started_at < w.cut,
                or_(SlaClock.stopped_at.is_(None), SlaClock.stopped_at >= w.cut), w.scope)


async def open_at_cut(session: AsyncSession, w: Window) -> list[OpenRound]:
    """Resolve rounds started before the cut and not stopped by it (voided or merged later still
    count: at the week end they were open)."""
    query = (select(SlaClock.id, SlaClock.unit_code.label("unit"),
                    Incident.assigned_street_code.label("street_of_unit"), *PLACE,
                    SlaClock.incident_id, func.coalesce(Incident.title, Incident.text)
                    .label("title"), Incident.item_name, Incident.state, SlaClock.basis,
                    SlaClock.due_at, SlaClock.extended_minutes, SlaClock.paused_at)
             .join(Incident, Incident.id == SlaClock.incident_id).where(_open_at(w)))
    rows = (await session.execute(query)).all()
    moves: dict[uuid.UUID, dict[str, Any]] = {}
    handovers = (select(SlaClock.id, AuditEvent.changes)
                 .join(Incident, Incident.id == SlaClock.incident_id)
                 .join(AuditEvent, and_(AuditEvent.incident_id == SlaClock.incident_id,
                                        AuditEvent.action.in_(HANDOVER),
                                        AuditEvent.at >= w.cut))
                 .where(_open_at(w)).order_by(SlaClock.id, AuditEvent.at, AuditEvent.id))
    for clock_id, changes in await session.execute(handovers):
        moves.setdefault(clock_id, changes)
    return [OpenRound(_key(r), r.incident_id, r.title[:60], r.item_name, r.state, r.basis,
                      r.due_at, r.extended_minutes, r.paused_at, moves.get(r.id))
            for r in rows]


async def extensions_after(session: AsyncSession, ids: Sequence[uuid.UUID],
                           moment: datetime) -> dict[uuid.UUID, float]:
    """Hours of extensions approved at or after `moment`: the deadline at `moment` lacked them."""
    found: dict[uuid.UUID, float] = defaultdict(float)
    for chunk in _chunks(ids):
        query = (select(IncidentRequest.incident_id, IncidentRequest.hours)
                 .where(IncidentRequest.incident_id.in_(chunk),
                        IncidentRequest.kind == "extension", IncidentRequest.state == "approved",
                        IncidentRequest.decided_at >= moment))
        for row in await session.execute(query):
            found[row.incident_id] += row.hours or 0.0
    return found


def _chunks(ids: Sequence[uuid.UUID], size: int = 500) -> list[Sequence[uuid.UUID]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


@dataclass(frozen=True, slots=True)
class Repeat:
    key: Key  # the closing unit, the new incident's place
    incident_id: uuid.UUID
    created_at: datetime
    closed_at: datetime


async def repeat_pairs(session: AsyncSession, w: Window, earliest_closure: datetime
                       ) -> list[Repeat]:
    """Incidents created in the week paired with earlier closures of the same item in the same
    grid since `earliest_closure`; the caller keeps pairs within the window (no interval
    arithmetic in SQL)."""
    old = aliased(Incident, name="old")
    query = (select(old.unit_code.label("unit"), old.assigned_street_code.label("street_of_unit"),
                    *PLACE, Incident.id, Incident.created_at, old.closed_at)
             .join(old, and_(old.item_code == Incident.item_code,
                             old.grid_code == Incident.grid_code, old.id != Incident.id))
             .where(_between(Incident.created_at, w),
                    Incident.state.not_in(("merged", "voided")),
                    old.closed_at >= earliest_closure, old.closed_at < Incident.created_at,
                    w.scope)
             .order_by(Incident.id, old.closed_at.desc()))
    return [Repeat(_key(r), r.id, r.created_at, r.closed_at)
            for r in await session.execute(query)]


async def counts_by(session: AsyncSession, w: Window, column: Any,
                    label: Any = None) -> list[tuple[str, str | None, int]]:
    """Received incidents per item or per grid (hotspots), most first."""
    name = label if label is not None else literal(None)
    query = (select(column, func.max(name), func.count())
             .where(_between(Incident.created_at, w), column.is_not(None),
                    Incident.state.not_in(("merged", "voided")), w.scope)
             .group_by(column).order_by(func.count().desc(), column))
    return [(r[0], r[1], r[2]) for r in await session.execute(query)]


async def district_trend(session: AsyncSession, w: Window) -> dict[str, int]:
    """The few district-wide counts drawn as the eight-week trend (no attribution needed)."""
    rec = await session.scalar(select(func.count()).select_from(Incident).where(
        _between(Incident.created_at, w), Incident.state.not_in(("merged", "voided")), w.scope))
    clocks = (await session.execute(
        select(SlaClock.kind, func.count(), _one(SlaClock.outcome == "met"))
        .join(Incident, Incident.id == SlaClock.incident_id)
        .where(_judged(w), w.scope).group_by(SlaClock.kind))).all()
    callbacks = (await session.execute(
        select(func.count(), _one(AuditEvent.changes["satisfaction"].as_string().in_(HAPPY)))
        .join(Incident, Incident.id == AuditEvent.incident_id)
        .where(_between(AuditEvent.at, w), AuditEvent.action == "incident.callback_recorded",
               w.scope))).one()
    out = {"received": rec or 0, "rated": callbacks[0] or 0, "satisfied": callbacks[1] or 0}
    for kind, due, met in clocks:
        out[f"{kind}_due"], out[f"{kind}_met"] = due, met or 0
    return out
