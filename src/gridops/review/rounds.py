"""The figures that need per-row logic: resolve rounds finished in the week (handling time) or
open at its end (overdue, 逾期清零), deadlines missed before a hand-over, repeat complaints.
All resolve rounds of both kinds come from one read of `sla_clock`."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, DateTime, String, and_, case, cast, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gridops.audit.models import AuditEvent
from gridops.clock import working
from gridops.clock.models import SlaClock
from gridops.incidents.models import Incident, IncidentRequest
from gridops.review import queries as q
from gridops.review.ledger import Key, Ledger, unit_key
from gridops.review.workclock import WorkingClock


@dataclass(frozen=True, slots=True)
class OverdueItem:
    """An order open past its resolve deadline at week end (逾期清零), with what covers it."""

    incident_id: uuid.UUID
    title: str
    item_name: str | None
    state: str
    unit: str
    unit_name: str
    grid_code: str | None
    deadline: datetime  # the deadline in force at week end
    overdue_hours: float  # past the original deadline, at week end, on the clock's basis
    covered_by: str | None  # "extension" (an approved extension moved the deadline) or None
    extended_hours: float


@dataclass(slots=True)
class Urgent:
    """An urgent (continuous) resolve round stopped in the week: its suspensions are taken off
    its handling time against the audit trail."""

    key: Key  # with the clock's unit
    incident_id: uuid.UUID
    started_at: datetime
    stopped_at: datetime
    paused_minutes: float
    minutes: float  # working minutes from start to stop, suspensions not yet taken off


@dataclass(slots=True)
class Running:
    """A resolve round open at the cut. Its incident, title, item and state only when it may be
    listed as overdue or covered (read_rounds)."""

    key: Key  # with the clock's unit
    id: str  # the clock's, as text
    incident_id: uuid.UUID | None
    basis: str
    due_at: datetime
    extended_minutes: float
    paused_at: datetime | None
    title: str
    item_name: str | None
    state: str


@dataclass(slots=True)
class Prepared:
    """The rounds read, sorted: finished ones folded into handling hours by key (one float
    each, not an object per round: the review holds tens of thousands), urgent ones to finish
    against the audit trail, and the open ones."""

    hours: dict[Key, list[float]]
    urgent: list[Urgent]
    running: list[Running]


Moves = dict[str, dict[str, Any]]  # per open round: the first hand-over after the cut


def _text_id() -> Any:
    """A clock's id as text (the same on both sides of a lookup): a string is not an object the
    garbage collector tracks, a UUID is."""
    return cast(SlaClock.id, String)


def _running(w: q.Window) -> Any:
    return and_(SlaClock.started_at < w.cut,
                or_(SlaClock.stopped_at.is_(None), SlaClock.stopped_at >= w.cut))


def _raw(moment: Any) -> Any:
    """A timestamp without UTCDateTime's per-value conversion on the event loop: `prepare`
    makes it aware UTC in its thread (SQLite hands back naive UTC)."""
    return type_coerce(moment, DateTime(timezone=True))


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def read_rounds(session: AsyncSession, w: q.Window
                      ) -> tuple[list[Sequence[Any]], dict[uuid.UUID, q.Known]]:
    """Resolve rounds stopped (met or missed) in the week, and rounds started before the cut and
    not stopped by it (voided or merged later still count: at the week end they were open); with
    the incidents the recent-incidents join did not reach. Column by column (queries.columns)."""
    i = aliased(Incident, name="i")
    done = and_(q.between(SlaClock.stopped_at, w), SlaClock.outcome.in_(("met", "missed")))
    running = _running(w)

    # An open round can be overdue or covered at the cut only if its deadline was before the
    # cut or an extension moved it (open_rounds); the others are only counted. Each value sent
    # is an object to decode and to hold tens of thousands of times over (a UUID is one the
    # garbage collector tracks and scans), so only what is used is sent, else NULL.
    listed = and_(running, or_(SlaClock.due_at < w.cut, SlaClock.extended_minutes > 0))
    needs_incident = or_(listed, i.id.is_(None), SlaClock.basis != "working")
    # Positions: 0 open?, 1 incident (listed, urgent, or not joined), 2 unit, 3 basis, 4 paused
    # minutes, 5 started_at (finished) or due_at (open), 6 stopped_at or paused_at, 7 clock id
    # as text (open), 8 extended minutes, 9 incident joined?, 10-13 its places, 14-16 title,
    # item and state (listed).
    query = (select(case((running, 1), else_=0), case((needs_incident, SlaClock.incident_id)),
                    SlaClock.unit_code,
                    SlaClock.basis, SlaClock.paused_minutes,
                    _raw(case((running, SlaClock.due_at), else_=SlaClock.started_at)),
                    _raw(case((running, SlaClock.paused_at), else_=SlaClock.stopped_at)),
                    case((running, _text_id())), SlaClock.extended_minutes,
                    case((i.id.is_(None), 0), else_=1),
                    i.assigned_street_code, i.street_code, i.community_code, i.grid_code,
                    case((listed, q.title(i))), case((listed, i.item_name)),
                    case((listed, i.state)))
             .outerjoin_from(SlaClock, i, q.recent(i, SlaClock.incident_id, w))
             .where(SlaClock.kind == "resolve", or_(done, running),
                    or_(i.id.is_(None), w.clause(i))))
    cols = await q.columns(session, query)
    return cols, await q.incidents(session, w, [incident for incident, joined
                                                 in zip(cols[1], cols[9], strict=True)
                                                 if not joined])


def prepare(cols: list[Sequence[Any]], known: dict[uuid.UUID, q.Known], clock: WorkingClock,
            ) -> Prepared:
    """The rounds read (column by column), sorted into finished and open; each finished
    round's working time from start to stop, less its suspensions for a round on the working
    clock. Pure: runs in a thread."""
    out = Prepared(defaultdict(list), [], [])
    for r in zip(*cols, strict=True):
        if r[9]:
            key: Key = (r[2], r[10], r[11], r[12], r[13])
            title, item_name, state = r[14], r[15], r[16]
        elif (found := known.get(r[1])) is not None:
            key = (r[2], *found.key[1:])
            title, item_name, state = found.title, found.item_name, found.state
        else:
            continue  # not in the reviewed part of the district
        if r[0]:
            out.running.append(Running(key, r[7], r[1], r[3], _utc(r[5]), r[8],
                                       r[6] and _utc(r[6]), title or "", item_name, state))
            continue
        started, stopped = _utc(r[5]), _utc(r[6])
        minutes = clock.minutes(started, stopped)
        if r[3] == "working":
            out.hours[key].append(max(0.0, minutes - r[4]) / 60)
        else:
            out.urgent.append(Urgent(key, r[1], started, stopped, r[4], minutes))
    return out


async def _suspensions(session: AsyncSession,
                       incident_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[datetime]]:
    """Suspension starts and resumptions per incident, in time order (for urgent clocks, whose
    paused minutes are continuous, so the working time paused must be measured afresh)."""
    found: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    for chunk in q.id_chunks(session, incident_ids):
        query = (select(AuditEvent.incident_id, AuditEvent.at)
                 .where(q.among(session, AuditEvent.incident_id, chunk), AuditEvent.action.in_(
                     ("incident.suspension_approved", "incident.resumed")))
                 .order_by(AuditEvent.incident_id, AuditEvent.at, AuditEvent.id))
        for incident_id, at in await session.execute(query):
            if incident_id is not None:
                found[incident_id].append(at)
    return found


async def handling(session: AsyncSession, ledger: Ledger, prepared: Prepared,
                   clock: WorkingClock) -> None:
    """办理时长: working hours from the round's start to its resolution, suspensions excluded.
    An urgent round's paused minutes are continuous, so the working time its incident spent
    suspended is measured afresh from the audit trail."""
    hours = prepared.hours
    pauses = await _suspensions(session, [r.incident_id for r in prepared.urgent
                                          if r.paused_minutes])
    for r in prepared.urgent:
        minutes = r.minutes
        marks = pauses.get(r.incident_id, [])
        for begin, end in zip(marks[0::2], marks[1::2], strict=False):
            a, b = max(begin, r.started_at), min(end, r.stopped_at)
            if b > a:
                minutes -= clock.minutes(a, b)
        hours[r.key].append(max(0.0, minutes) / 60)
    for key, values in hours.items():
        ledger.handled(key, values)


def holder_before(changes: dict[str, Any], unit: str | None,
                  street_of_unit: str | None) -> tuple[str | None, str | None] | None:
    """Who held the order just before a hand-over event, or None when it did not change hands."""
    moved = changes.get("unit_code")
    if not isinstance(moved, list) or len(moved) != 2 or moved[0] == unit:
        return None
    streets = changes.get("assigned_street_code")
    street = streets[0] if isinstance(streets, list) and streets else street_of_unit
    return moved[0], street


def _first_handover(after: ColumnElement[bool]) -> Any:
    """The changes of the clock's incident's first hand-over event matching `after`.

    A correlated subquery, so each clock probes its own incident's events (by incident_id):
    as a join, PostgreSQL read every hand-over since the week began (seconds for a week months
    back) to match a few thousand clocks."""
    return (select(AuditEvent.changes)
            .where(AuditEvent.incident_id == SlaClock.incident_id,
                   AuditEvent.action.in_(q.HANDOVER), after)
            .order_by(AuditEvent.at, AuditEvent.id).limit(1).scalar_subquery())


async def reattribute_missed(session: AsyncSession, w: q.Window, ledger: Ledger) -> None:
    """A deadline missed while unit A held the order stays A's after a return or redispatch
    handed the clock on (退单不重置, 时间归属原单位): move it from the current holder to the
    holder at the deadline, read from the first hand-over event after it."""
    clocks = (select(SlaClock.kind, SlaClock.unit_code, SlaClock.incident_id,
                     _first_handover(AuditEvent.at > SlaClock.due_at).label("changes"))
              .where(q.judged(w), SlaClock.outcome.is_distinct_from("met")).subquery())
    handed = (await session.execute(select(clocks).where(clocks.c.changes.is_not(None)))).all()
    known = await q.incidents(session, w, [r.incident_id for r in handed])
    for row in handed:
        if row.incident_id not in known:
            continue
        key: Key = (row.unit_code, *known[row.incident_id].key[1:])
        holder = holder_before(row.changes, key[0], key[1])
        if holder is not None:
            ledger.bump(key, f"{row.kind}_due", -1)
            ledger.bump((*holder, *key[2:]), f"{row.kind}_due")


async def handed_over_after_cut(session: AsyncSession, w: q.Window) -> Moves:
    """Per round open at the cut (by clock id as text): the changes of the first hand-over
    after it."""
    clocks = (select(_text_id(), _first_handover(AuditEvent.at >= w.cut).label("changes"))
              .where(SlaClock.kind == "resolve", _running(w)).subquery())
    query = select(clocks).where(clocks.c.changes.is_not(None))
    return {row[0]: row[1] for row in await session.execute(query)}


async def _extensions_after(session: AsyncSession, ids: Sequence[uuid.UUID],
                            moment: datetime) -> dict[uuid.UUID, float]:
    """Hours of extensions approved at or after `moment`: the deadline at `moment` lacked them."""
    found: dict[uuid.UUID, float] = defaultdict(float)
    for chunk in q.id_chunks(session, ids):
        query = (select(IncidentRequest.incident_id, IncidentRequest.hours)
                 .where(q.among(session, IncidentRequest.incident_id, chunk),
                        IncidentRequest.kind == "extension", IncidentRequest.state == "approved",
                        IncidentRequest.decided_at >= moment))
        for incident_id, hours in await session.execute(query):
            found[incident_id] += hours or 0.0
    return found


async def open_rounds(session: AsyncSession, w: q.Window, ledger: Ledger,
                      running: list[Running], clock: WorkingClock, names: dict[str, str],
                      moves: Moves) -> list[OverdueItem]:
    """Rounds open at the cut, for the holder at the cut (`moves`: handed_over_after_cut); those
    past the deadline in force then are overdue, or listed as covered when only an approved
    extension keeps them in time."""
    later = await _extensions_after(session, [r.incident_id for r in running
                                              if r.extended_minutes and r.incident_id], w.cut)
    counts: Counter[tuple[Key, str]] = Counter()
    overdue = []
    for r in running:
        key = r.key
        holder = holder_before(moves[r.id], key[0], key[1]) if r.id in moves else None
        if holder is not None:
            key = (*holder, *key[2:])
        counts[key, "open_end"] += 1
        if r.incident_id is None:
            continue  # due after the cut and never extended: neither overdue nor covered
        basis: working.Basis = "continuous" if r.basis == "continuous" else "working"
        # A clock frozen by a suspension before the week end is judged at the moment it froze.
        reference = r.paused_at if r.paused_at is not None and r.paused_at <= w.cut else w.cut
        at_cut = r.due_at
        if later.get(r.incident_id):
            at_cut = working.add(basis, r.due_at, -later[r.incident_id] * 60, clock.cal)
        original = working.add(basis, r.due_at, -r.extended_minutes, clock.cal) \
            if r.extended_minutes else r.due_at
        if at_cut < reference:
            counts[key, "overdue_open"] += 1
            covered = None
        elif original < reference:
            counts[key, "covered"] += 1
            covered = "extension"
        else:
            continue
        unit = unit_key(*key[:3])
        overdue.append(OverdueItem(
            r.incident_id, r.title, r.item_name, r.state, unit, names.get(unit, unit), key[4],
            at_cut, clock.between(basis, original, reference) / 60, covered,
            (r.extended_minutes / 60) - later.get(r.incident_id, 0.0)))
    for (key, name), n in counts.items():
        ledger.bump(key, name, n)
    return overdue


async def repeats(session: AsyncSession, w: q.Window, ledger: Ledger,
                  window_hours: float) -> None:
    """重复诉求 (假闭环): a new incident of the same item in the same grid within the window after
    an earlier one closed; counted once, against the unit that closed the latest such one."""
    span = timedelta(hours=window_hours)
    old = aliased(Incident, name="old")
    # Both sides are ranges (created in the week, closed from the window before it to the cut),
    # so they are read once and matched by item and grid, not probed per new incident.
    query = (select(old.unit_code, old.assigned_street_code, Incident.street_code,
                    Incident.community_code, Incident.grid_code, Incident.id,
                    Incident.created_at, old.closed_at)
             .join(old, and_(old.item_code == Incident.item_code,
                             old.grid_code == Incident.grid_code, old.id != Incident.id))
             .where(q.between(Incident.created_at, w), Incident.state.not_in(q.GONE),
                    old.closed_at >= w.start - span, old.closed_at < w.cut,
                    old.closed_at < Incident.created_at, w.clause(Incident))
             .order_by(Incident.id, old.closed_at.desc()))
    seen: set[uuid.UUID] = set()
    for r in await (await session.connection()).execute(query):
        if r.id in seen or r.created_at - r.closed_at > span:
            continue
        seen.add(r.id)
        ledger.bump((r.unit_code, r.assigned_street_code, r.street_code, r.community_code,
                     r.grid_code), "repeats")
