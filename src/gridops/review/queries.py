"""Read-side SQL of the weekly review: GROUP BY over indexed time columns. Each figure comes back
twice, grouped by unit and grouped by place (see ledger.py): a few hundred rows per statement.
Portable between SQLite and PostgreSQL: no date arithmetic in SQL.

Facts (clocks, events, requests) need the incident's place. Joining `incident` by id made
PostgreSQL hash the whole incident table for every statement (a parallel sequential scan of a
million rows each time). Nearly every fact of a week belongs to an incident created shortly
before or during it, so each statement joins only the incidents created since `Window.since`,
a range read on `incident.created_at`; the facts of older incidents come back as bare incident
ids and are aggregated again, joined to exactly those incidents by primary key."""

from __future__ import annotations

import asyncio
import typing
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.selectable import CTE
from sqlalchemy.types import NullType, Uuid

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Actor
from gridops.auth.scope import scope_clause
from gridops.clock.models import SlaClock
from gridops.incidents.models import Incident, IncidentRequest
from gridops.review.ledger import Key, Ledger, unit_key

A = TypeVar("A")
B = TypeVar("B")
# How far before the week the incidents joined directly reach back; facts of older incidents
# (a late callback, a clock due long after its order came in) take the slower id path.
RECENT = timedelta(days=14)
GONE = ("merged", "voided")
# Events after which a running clock belongs to another unit (or to nobody, in triage).
HANDOVER = ("incident.return_approved", "incident.redispatched", "incident.dispatched")
REWORK_TO = ("in_progress", "triage")
HAPPY = ("satisfied", "basic")
EVENTS = ("incident.dispatched", "incident.redispatched", "incident.return_approved",
          "incident.resolved", "incident.verify_failed", "incident.reopened",
          "incident.callback_recorded")


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    cut: datetime  # min(week end, now): nothing later is judged
    actor: Actor | None = None  # whose part of the district is reviewed; None: all of it

    @property
    def since(self) -> datetime:
        return self.start - RECENT

    def clause(self, model: Any) -> ColumnElement[bool]:
        return true() if self.actor is None else scope_clause(self.actor, model)

    @property
    def everything(self) -> bool:
        return isinstance(self.clause(Incident), True_)


async def without_jit(session: AsyncSession) -> None:
    """PostgreSQL's JIT compiles every plan estimated above jit_above_cost. The review's
    per-clock probes of the audit trail are estimated high (a sort per probe) yet run in a
    hundred milliseconds; compiling them took 150-340 ms each. Off for this transaction only."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))


def _flag(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def between(column: Any, w: Window) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.cut)


def recent(i: Any, fk: Any, w: Window) -> ColumnElement[bool]:
    return and_(i.id == fk, i.created_at >= w.since, i.created_at < w.cut)


def _pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def id_chunks(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[list[uuid.UUID]]:
    """`ids` sorted, in chunks `among` can take: one on PostgreSQL (one array parameter), of
    2000 on SQLite (its bound-parameter limit)."""
    ordered = sorted(set(ids))
    size = len(ordered) if _pg(session) else 2000
    return [ordered[i:i + size] for i in range(0, len(ordered), size or 1)]


def among(session: AsyncSession, column: Any, chunk: Sequence[uuid.UUID]) -> ColumnElement[bool]:
    # One uuid[] parameter on PostgreSQL: the same statement whatever the count (prepared once),
    # not an IN list of a thousand placeholders rendered and parsed each time.
    if _pg(session):
        return typing.cast(ColumnElement[bool],
                           column == any_(bindparam(None, list(chunk), type_=_UUIDS)))
    return typing.cast(ColumnElement[bool], column.in_(chunk))


_UUIDS = ARRAY(Uuid())


async def columns(session: AsyncSession, query: Select[Any]) -> list[Sequence[Any]]:
    """The result of `query` column by column (zip(*columns) gives its rows back). The review
    reads tens of thousands of rows at once: on PostgreSQL they travel as one row of arrays,
    because decoding a row object per row, and holding tens of thousands of them (which the
    garbage collector then scans, whole heap, again and again), cost more than the statement."""
    conn = await session.connection()
    width = len(query.selected_columns)
    if conn.dialect.name != "postgresql":
        rows = (await conn.execute(query)).all()
        return list(zip(*rows, strict=True)) if rows else [()] * width
    sub = query.subquery()
    arrays = (await conn.execute(select(*(type_coerce(func.array_agg(c), _ANY_ARRAY)
                                           for c in sub.c)))).one()
    return [a or () for a in arrays]


_ANY_ARRAY = ARRAY(NullType())  # elements as the driver decodes them, no per-element conversion


@asynccontextmanager
async def second_reader(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A read-only session on a connection of its own, so that two lanes of the review's
    statements run at once (PostgreSQL through an engine's pool: the API, the CLI). Otherwise
    (SQLite, or a session bound to one connection as in the tests) `session` itself, and the
    lanes run one after the other. Each statement reads committed rows as of its start either
    way (READ COMMITTED), so the figures do not depend on which lane ran what."""
    bind = session.bind
    if not (isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql"):
        yield session
        return
    async with AsyncSession(bind) as other:
        await without_jit(other)
        yield other


async def together(session: AsyncSession, other: AsyncSession, first: Awaitable[A],
                   second: Awaitable[B]) -> tuple[A, B]:
    """Both lanes: at once on two sessions, one after the other on one."""
    if other is session:
        return await first, await second
    one, two = asyncio.ensure_future(first), asyncio.ensure_future(second)
    try:
        return await one, await two
    except BaseException:
        for task in (one, two):  # the other lane stops too, and is awaited before re-raising
            task.cancel()
        await asyncio.gather(one, two, return_exceptions=True)
        raise


# -- grouping twice -------------------------------------------------------------------------

def _sides(facts: CTE, measures: Sequence[str], *, matched: bool = False) -> list[Select[Any]]:
    """The facts summed by (unit, owning street, street) and by (street, community, grid). With
    `matched`, facts whose incident was not joined (pid NULL) are left out of the place side and
    come out of the unit side one row per incident, with its id (fid) and nothing else known."""
    c = facts.c
    sums = [func.sum(c[m]).label(m) for m in measures]
    elsewhere = case((c.pid.is_(None), c.fid)) if matched else cast(null(), Uuid())
    unit = (select(literal_column("'u'").label("side"), c.unit.label("a"),
                   c.street_of_unit.label("b"), c.street_code.label("c"), *sums,
                   elsewhere.label("fid"))
            .group_by(c.unit, c.street_of_unit, c.street_code, elsewhere))
    place = (select(literal_column("'p'"), c.street_code, c.community_code, c.grid_code, *sums,
                    cast(null(), Uuid()))
             .group_by(c.street_code, c.community_code, c.grid_code))
    if matched:
        place = place.where(c.pid.is_not(None))
    return [unit, place]


def _apply(ledger: Ledger, row: Any, measures: Sequence[str]) -> None:
    tally = (ledger.unit(unit_key(row.a, row.b, row.c)) if row.side == "u"
             else ledger.place((row.a, row.b, row.c)))
    values = row._mapping
    for name in measures:
        if values[name]:
            tally.bump(name, int(values[name]))


# A statement of facts given the incident (alias) to take places from: the select, the fact
# table to join from and its incident id column.
Build = Callable[[Window, Any], tuple[Select[Any], Any, Any]]


async def _aggregate(session: AsyncSession, w: Window, ledger: Ledger, build: Build,
                     measures: Sequence[str]) -> None:
    i = aliased(Incident, name="i")
    query, fact, fk = build(w, i)
    facts = (query.add_columns(i.id.label("pid"), fk.label("fid"))
             .outerjoin_from(fact, i, recent(i, fk, w))
             .where(fk.is_not(None), or_(i.id.is_(None), w.clause(i))).cte("facts"))
    older: list[uuid.UUID] = []
    for row in await session.execute(union_all(*_sides(facts, measures, matched=True))):
        if row.fid is not None:
            older.append(row.fid)
        else:
            _apply(ledger, row, measures)
    for chunk in id_chunks(session, older):
        j = aliased(Incident, name="i")
        query, fact, fk = build(w, j)
        facts = (query.add_columns(j.id.label("pid"), fk.label("fid"))
                 .join_from(fact, j, j.id == fk).where(among(session, fk, chunk), w.clause(j))
                 .cte("facts"))
        for row in await session.execute(union_all(*_sides(facts, measures))):
            _apply(ledger, row, measures)


def _places(i: Any, unit: Any, street_of_unit: Any) -> list[Any]:
    return [unit.label("unit"), street_of_unit.label("street_of_unit"),
            i.street_code.label("street_code"), i.community_code.label("community_code"),
            i.grid_code.label("grid_code")]


# -- the figures ----------------------------------------------------------------------------

RECEIVED = ("received", "merged", "voided")


async def received(session: AsyncSession, w: Window,
                   ledger: Ledger) -> list[tuple[str, str | None, int]]:
    """受理数 (merged and voided apart) by unit and by place; returns the week's items with
    their counts (hotspots), most first."""
    gone = Incident.state.in_(GONE)
    facts = (select(*_places(Incident, Incident.unit_code, Incident.assigned_street_code),
                    Incident.item_code, case((~gone, Incident.item_name)).label("item_name"),
                    _flag(~gone).label("received"), _flag(Incident.state == "merged")
                    .label("merged"), _flag(Incident.state == "voided").label("voided"))
             .where(between(Incident.created_at, w), w.clause(Incident)).cte("facts"))
    c = facts.c
    items = (select(literal_column("'i'"), c.item_code, func.max(c.item_name), null(),
                    *(func.sum(c[m]) for m in RECEIVED), cast(null(), Uuid()))
             .where(c.item_code.is_not(None)).group_by(c.item_code))
    out = []
    for row in await session.execute(union_all(*_sides(facts, RECEIVED), items)):
        if row.side != "i":
            _apply(ledger, row, RECEIVED)
        elif row.received:
            out.append((row.a, row.b, int(row.received)))
    out.sort(key=lambda x: (-x[2], x[0]))
    return out


def judged(w: Window) -> ColumnElement[bool]:
    """Clocks due in the week and judged: not void, and not frozen by a suspension that began
    before the deadline (a clock paused while already overdue stays overdue)."""
    return and_(between(SlaClock.due_at, w), SlaClock.outcome.is_distinct_from("void"),
                or_(SlaClock.outcome.is_not(None), SlaClock.paused_at.is_(None),
                    SlaClock.paused_at > SlaClock.due_at))


CLOCKS = ("sign_due", "sign_met", "resolve_due", "resolve_met")


def _due_facts(w: Window, i: Any) -> tuple[Select[Any], Any, Any]:
    met = SlaClock.outcome == "met"
    sign, resolve = SlaClock.kind == "sign", SlaClock.kind == "resolve"
    query = select(*_places(i, SlaClock.unit_code, i.assigned_street_code),
                   _flag(sign).label("sign_due"), _flag(and_(sign, met)).label("sign_met"),
                   _flag(resolve).label("resolve_due"),
                   _flag(and_(resolve, met)).label("resolve_met")).where(judged(w))
    return query, SlaClock, SlaClock.incident_id


async def clocks_due(session: AsyncSession, w: Window, ledger: Ledger) -> None:
    """签收及时率 and 按期办结率: clocks whose deadline fell in the week, met or not, for the unit
    on the clock (re-attributed afterwards: rounds.reattribute_missed)."""
    await _aggregate(session, w, ledger, _due_facts, CLOCKS)


def _event_unit(i: Any) -> tuple[Any, Any]:
    """The unit an event is about: the unit dispatched to, the unit that returned the order, or
    else the unit holding the order."""
    unit_json = AuditEvent.changes[("unit_code", 1)].as_string()
    street_json = AuditEvent.changes[("assigned_street_code", 1)].as_string()
    returned = AuditEvent.changes[("unit_code", 0)].as_string()
    returned_street = AuditEvent.changes[("assigned_street_code", 0)].as_string()
    dispatch = AuditEvent.action.in_(("incident.dispatched", "incident.redispatched"))
    unit = case((dispatch, func.coalesce(unit_json, i.unit_code)),
                (AuditEvent.action == "incident.return_approved", returned),
                else_=i.unit_code)
    street = case((dispatch, func.coalesce(street_json, i.assigned_street_code)),
                  (AuditEvent.action == "incident.return_approved", returned_street),
                  else_=i.assigned_street_code)
    return unit, street


EVENT_COUNTS = ("dispatches", "returns", "resolutions", "reworks", "rated", "cb_resolved",
                "satisfied")


def _event_facts(w: Window, i: Any) -> tuple[Select[Any], Any, Any]:
    action, callback = AuditEvent.action, AuditEvent.action == "incident.callback_recorded"
    rework = or_(action.in_(("incident.verify_failed", "incident.reopened")),
                 and_(callback, AuditEvent.to_state.in_(REWORK_TO)))
    resolved = AuditEvent.changes["resolved"].as_boolean().is_(True)
    happy = AuditEvent.changes["satisfaction"].as_string().in_(HAPPY)
    query = (select(*_places(i, *_event_unit(i)),
                    _flag(action.in_(("incident.dispatched", "incident.redispatched")))
                    .label("dispatches"),
                    _flag(action == "incident.return_approved").label("returns"),
                    _flag(action == "incident.resolved").label("resolutions"),
                    _flag(rework).label("reworks"), _flag(callback).label("rated"),
                    _flag(and_(callback, resolved)).label("cb_resolved"),
                    _flag(and_(callback, happy)).label("satisfied"))
             .where(between(AuditEvent.at, w), action.in_(EVENTS)))
    return query, AuditEvent, AuditEvent.incident_id


async def events(session: AsyncSession, w: Window, ledger: Ledger) -> None:
    """派单, 退单, 办结反馈, 返工, 回访: counted from the audit trail, by event time."""
    await _aggregate(session, w, ledger, _event_facts, EVENT_COUNTS)


def _extension_facts(w: Window, i: Any) -> tuple[Select[Any], Any, Any]:
    query = (select(*_places(i, IncidentRequest.unit_code, i.assigned_street_code),
                    literal_column("1").label("extensions"))
             .where(IncidentRequest.kind == "extension", IncidentRequest.state == "approved",
                    between(IncidentRequest.decided_at, w)))
    return query, IncidentRequest, IncidentRequest.incident_id


async def extensions(session: AsyncSession, w: Window, ledger: Ledger) -> None:
    """延期: approved extension requests decided in the week, the asking unit's."""
    await _aggregate(session, w, ledger, _extension_facts, ("extensions",))


# -- single incidents -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Known:
    """What the review needs of one incident it may see."""

    key: Key  # with the incident's own unit
    title: str | None
    item_name: str | None
    state: str


def title(i: Any) -> Any:
    return func.substr(func.coalesce(i.title, i.text), 1, 60)


async def incidents(session: AsyncSession, w: Window,
                    ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Known]:
    """The incidents among `ids` in the reviewed part of the district, by primary key."""
    found: dict[uuid.UUID, Known] = {}
    for chunk in id_chunks(session, ids):
        query = (select(Incident.id, *_places(Incident, Incident.unit_code,
                                              Incident.assigned_street_code),
                        title(Incident).label("title"), Incident.item_name, Incident.state)
                 .where(among(session, Incident.id, chunk), w.clause(Incident)))
        for r in await session.execute(query):
            found[r.id] = Known((r.unit, r.street_of_unit, r.street_code, r.community_code,
                                 r.grid_code), r.title, r.item_name, r.state)
    return found


async def item_counts(session: AsyncSession, w: Window) -> dict[str, int]:
    """Received incidents per item (the previous week, for rising items)."""
    query = (select(Incident.item_code, func.count())
             .where(between(Incident.created_at, w), Incident.item_code.is_not(None),
                    Incident.state.not_in(GONE), w.clause(Incident))
             .group_by(Incident.item_code))
    return {code: n for code, n in await session.execute(query) if code is not None}


async def district_trend(session: AsyncSession, w: Window) -> dict[str, int]:
    """The few district-wide counts drawn as the eight-week trend (no attribution needed)."""
    rec = await session.scalar(select(func.count()).select_from(Incident).where(
        between(Incident.created_at, w), Incident.state.not_in(GONE), w.clause(Incident)))
    clocks = select(SlaClock.kind, func.count(), func.sum(_flag(SlaClock.outcome == "met")))
    callbacks = select(func.count(), func.sum(_flag(
        AuditEvent.changes["satisfaction"].as_string().in_(HAPPY)))).select_from(AuditEvent)
    if not w.everything:  # the incident only decides what the actor may see
        clocks = clocks.join(Incident, Incident.id == SlaClock.incident_id)
        callbacks = callbacks.join(Incident, Incident.id == AuditEvent.incident_id)
    clock_rows = (await session.execute(clocks.where(judged(w), w.clause(Incident))
                                        .group_by(SlaClock.kind))).all()
    rated = (await session.execute(callbacks.where(
        between(AuditEvent.at, w), AuditEvent.action == "incident.callback_recorded",
        w.clause(Incident)))).one()
    out = {"received": rec or 0, "rated": rated[0] or 0, "satisfied": rated[1] or 0}
    for kind, due, met in clock_rows:
        out[f"{kind}_due"], out[f"{kind}_met"] = due, met or 0
    return out
