"""The weekly review (一周一点评): figures per unit, street, community and grid for one ISO week,
the ranking with its red and black lists, hotspots and the overdue list. Read-only."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.auth.scope import scope_clause
from gridops.clock import working
from gridops.clock.calendar import WorkingCalendar
from gridops.errors import Invalid
from gridops.incidents.models import Incident
from gridops.places.models import Community, Grid, Street, Unit
from gridops.review import queries as q
from gridops.review.metrics import Card, Tally, rank, red_black
from gridops.review.week import Week
from gridops.settings import Settings

Scope = Literal["unit", "street", "community", "grid"]
SCOPES: tuple[Scope, ...] = ("unit", "street", "community", "grid")
UNASSIGNED = "UNASSIGNED"
UNLOCATED = "UNLOCATED"
HOTSPOT_SIZE = 10


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


@dataclass(frozen=True, slots=True)
class Hotspot:
    code: str
    name: str
    count: int
    previous: int = 0


@dataclass(slots=True)
class Review:
    week: Week
    scope: Scope
    cut: datetime
    district: Card
    cards: list[Card]
    units: list[Card]
    red: list[Card] = field(default_factory=list)
    black: list[Card] = field(default_factory=list)
    top_items: list[Hotspot] = field(default_factory=list)
    top_grids: list[Hotspot] = field(default_factory=list)
    rising_items: list[Hotspot] = field(default_factory=list)
    overdue: list[OverdueItem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    grid_counts: dict[str, int] = field(default_factory=dict)  # received per grid (the map)


def unit_key(unit: str | None, street_of_unit: str | None, street: str | None) -> str:
    """STR is five street offices: each is ranked as the unit it is (STR/<street code>)."""
    if unit is None:
        return UNASSIGNED
    if unit == "STR":
        return f"STR/{street_of_unit or street or '?'}"
    return unit


def scope_key(key: q.Key, scope: Scope) -> str:
    if scope == "unit":
        return unit_key(key[0], key[1], key[2])
    place = {"street": key[2], "community": key[3], "grid": key[4]}[scope]
    return place or UNLOCATED


def _window(week: Week, actor: Actor, now: datetime) -> q.Window:
    if week.start > now:
        raise Invalid(f"{week.label} has not begun yet",
                      errors=[{"loc": ["query", "week"], "msg": "week in the future",
                               "type": "value_error"}])
    # A unit operator's card needs the whole district's rows: time it let run out stays its own
    # even after the order moved to another unit. Their view is narrowed after computing.
    clause: ColumnElement[bool] = (true() if actor.role is Role.unit_operator
                                   else scope_clause(actor, Incident))
    return q.Window(week.start, min(week.end, now), clause)


async def weekly(session: AsyncSession, week: Week, scope: Scope, *, actor: Actor,
                 now: datetime, cal: WorkingCalendar, settings: Settings) -> Review:
    w = _window(week, actor, now)
    buckets: q.Buckets = {}
    await q.received(session, w, buckets)
    await q.clocks_due(session, w, buckets)
    await q.events(session, w, buckets)
    await q.extensions(session, w, buckets)
    await _handling(session, w, buckets, cal)
    names = await _names(session)
    overdue = await _open_rounds(session, w, buckets, cal, names)
    await _repeats(session, w, buckets, settings.review.repeat_window_hours)
    weights = settings.review.weights
    units_all = _roll(buckets, "unit", names)
    units = rank(units_all, weights)
    cards = units_all if scope == "unit" else _ranked_all(_roll(buckets, scope, names), weights)
    district = Card("DISTRICT", names.get("DISTRICT", "全区"), _sum(buckets.values()))
    review = Review(week, scope, w.cut, district, _order(cards), _order(units_all),
                    overdue=sorted(overdue, key=lambda o: (-o.overdue_hours, str(o.incident_id))),
                    names=names, timezone=settings.timezone)
    review.red, review.black = red_black(units)
    await _hotspots(session, w, week, settings, review, names, buckets)
    if actor.role is Role.unit_operator:
        _narrow_to_unit(review, unit_key(actor.unit_code, actor.street_code, actor.street_code))
    return review


def _ranked_all(cards: list[Card], weights: dict[str, float]) -> list[Card]:
    rank(cards, weights)
    return cards


def _order(cards: list[Card]) -> list[Card]:
    return sorted(cards, key=lambda c: (c.rank is None, c.rank or 0, c.key))


def _sum(tallies: Iterable[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.add(t)
    return total


def _roll(buckets: q.Buckets, scope: Scope, names: dict[str, str]) -> list[Card]:
    grouped: dict[str, Tally] = defaultdict(Tally)
    for key, tally in buckets.items():
        grouped[scope_key(key, scope)].add(tally)
    return [Card(k, names.get(k, k), t) for k, t in grouped.items()]


def _narrow_to_unit(review: Review, key: str) -> None:
    review.cards = [c for c in review.cards if c.key == key]
    review.units = list(review.cards)
    review.district = review.cards[0] if review.cards else Card(key, review.names.get(key, key),
                                                                Tally())
    review.red = review.black = []
    review.top_items = review.top_grids = review.rising_items = []
    review.grid_counts = {}
    review.overdue = [o for o in review.overdue if o.unit == key]


async def _names(session: AsyncSession) -> dict[str, str]:
    names = {UNASSIGNED: "未派单（待研判）", UNLOCATED: "未定位", "DISTRICT": "全区"}
    for code, name in await session.execute(select(Unit.code, Unit.name_zh)):
        names[code] = name
    for code, name in await session.execute(select(Street.code, Street.name)):
        names[code] = name
        names[f"STR/{code}"] = f"{name}办事处"
    for model in (Community, Grid):
        for code, name in await session.execute(select(model.code, model.name)):
            names[code] = name
    return names


async def _handling(session: AsyncSession, w: q.Window, buckets: q.Buckets,
                    cal: WorkingCalendar) -> None:
    """办理时长: working hours from the round's start to its resolution, suspensions excluded."""
    rounds = await q.finished(session, w)
    urgent_paused = [r.incident_id for r in rounds if r.basis != "working" and r.paused_minutes]
    pauses = await q.suspensions(session, urgent_paused)
    for r in rounds:
        minutes = working.working_minutes_between(r.started_at, r.stopped_at, cal)
        if r.basis == "working":
            minutes -= r.paused_minutes
        else:
            minutes -= _paused_working(pauses.get(r.incident_id, []), r.started_at,
                                       r.stopped_at, cal)
        t = q.tally_of(buckets, r.key)
        t.completed += 1
        t.handling.append(max(0.0, minutes) / 60)


def _paused_working(marks: list[datetime], start: datetime, stop: datetime,
                    cal: WorkingCalendar) -> float:
    total = 0.0
    for begin, end in zip(marks[0::2], marks[1::2], strict=False):
        a, b = max(begin, start), min(end, stop)
        if b > a:
            total += working.working_minutes_between(a, b, cal)
    return total


async def _open_rounds(session: AsyncSession, w: q.Window, buckets: q.Buckets,
                       cal: WorkingCalendar, names: dict[str, str]) -> list[OverdueItem]:
    rounds = await q.open_at_cut(session, w)
    later = await q.extensions_after(session, [r.incident_id for r in rounds
                                               if r.extended_minutes], w.cut)
    overdue = []
    for r in rounds:
        key = r.key
        holder = q.holder_before(r.handed_over or {}, key[0], key[1])
        if holder is not None:
            key = (*holder, *key[2:])
        t = q.tally_of(buckets, key)
        t.open_end += 1
        basis: working.Basis = "continuous" if r.basis == "continuous" else "working"
        # A clock frozen by a suspension before the week end is judged at the moment it froze.
        reference = r.paused_at if r.paused_at is not None and r.paused_at <= w.cut else w.cut
        at_cut = r.due_at
        if later.get(r.incident_id):
            at_cut = working.add(basis, r.due_at, -later[r.incident_id] * 60, cal)
        original = working.add(basis, r.due_at, -r.extended_minutes, cal) \
            if r.extended_minutes else r.due_at
        if at_cut < reference:
            t.overdue_open += 1
            covered = None
        elif original < reference:
            t.covered += 1
            covered = "extension"
        else:
            continue
        unit = unit_key(*key[:3])
        overdue.append(OverdueItem(
            r.incident_id, r.title, r.item_name, r.state, unit, names.get(unit, unit), key[4],
            at_cut, working.between(basis, original, reference, cal) / 60, covered,
            (r.extended_minutes / 60) - later.get(r.incident_id, 0.0)))
    return overdue


async def _repeats(session: AsyncSession, w: q.Window, buckets: q.Buckets,
                   window_hours: float) -> None:
    """重复诉求 (假闭环): a new incident of the same item in the same grid within the window after
    an earlier one closed; counted once, against the unit that closed the latest such one."""
    span = timedelta(hours=window_hours)
    seen: set[uuid.UUID] = set()
    for pair in await q.repeat_pairs(session, w, w.start - span):
        if pair.incident_id in seen or pair.created_at - pair.closed_at > span:
            continue
        seen.add(pair.incident_id)
        q.tally_of(buckets, pair.key).repeats += 1


async def _hotspots(session: AsyncSession, w: q.Window, week: Week, settings: Settings,
                    review: Review, names: dict[str, str], buckets: q.Buckets) -> None:
    items = await q.counts_by(session, w, Incident.item_code, Incident.item_name)
    per_grid: dict[str, int] = defaultdict(int)
    for key, tally in buckets.items():
        if key[4] is not None and tally.received:
            per_grid[key[4]] += tally.received
    grids = sorted(((g, None, n) for g, n in per_grid.items()), key=lambda x: (-x[2], x[0]))
    before = week.previous(settings.timezone)
    prev_w = q.Window(before.start, before.end, w.scope)
    previous = {code: n for code, _, n in await q.counts_by(session, prev_w, Incident.item_code)}
    review.top_items = [Hotspot(c, n or c, k, previous.get(c, 0))
                        for c, n, k in items[:HOTSPOT_SIZE]]
    review.top_grids = [Hotspot(c, names.get(c, c), k) for c, _, k in grids[:HOTSPOT_SIZE]]
    review.grid_counts = {c: k for c, _, k in grids}
    rising = [Hotspot(c, n or c, k, previous.get(c, 0)) for c, n, k in items
              if k > previous.get(c, 0)]
    rising.sort(key=lambda h: (-(h.count - h.previous), h.code))
    review.rising_items = rising[:5]


async def trend(session: AsyncSession, week: Week, *, actor: Actor, now: datetime,
                settings: Settings, weeks: int = 8) -> list[tuple[str, dict[str, int]]]:
    """The district (or the actor's part) week by week, oldest first, ending with `week`."""
    out = []
    for back in range(weeks - 1, -1, -1):
        wk = week.previous(settings.timezone, back) if back else week
        w = _window(wk, actor, now)
        out.append((wk.label, await q.district_trend(session, w)))
    return out
