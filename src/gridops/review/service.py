"""The weekly review (一周一点评): figures per unit, street, community and grid for one ISO week,
the ranking with its red and black lists, hotspots and the overdue list. Read-only."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.clock.calendar import WorkingCalendar
from gridops.errors import Invalid
from gridops.places.models import Community, Grid, Street, Unit
from gridops.review import queries as q
from gridops.review import rounds
from gridops.review.ledger import UNASSIGNED as UNASSIGNED
from gridops.review.ledger import Ledger, Place
from gridops.review.ledger import unit_key as unit_key
from gridops.review.metrics import Card, Tally, rank, red_black
from gridops.review.rounds import OverdueItem as OverdueItem
from gridops.review.week import Week
from gridops.review.workclock import WorkingClock
from gridops.settings import Settings

Scope = Literal["unit", "street", "community", "grid"]
SCOPES: tuple[Scope, ...] = ("unit", "street", "community", "grid")
UNLOCATED = "UNLOCATED"
HOTSPOT_SIZE = 10


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


def place_key(place: Place, scope: Scope) -> str:
    level = {"street": place[0], "community": place[1], "grid": place[2]}[scope]
    return level or UNLOCATED


def _window(week: Week, actor: Actor, now: datetime) -> q.Window:
    if week.start > now:
        raise Invalid(f"{week.label} has not begun yet",
                      errors=[{"loc": ["query", "week"], "msg": "week in the future",
                               "type": "value_error"}])
    # A unit operator's card needs the whole district's rows: time it let run out stays its own
    # even after the order moved to another unit. Their view is narrowed after computing.
    seen = None if actor.role is Role.unit_operator else actor
    return q.Window(week.start, min(week.end, now), seen)


async def weekly(session: AsyncSession, week: Week, scope: Scope, *, actor: Actor,
                 now: datetime, cal: WorkingCalendar, settings: Settings) -> Review:
    reviews = await weekly_all(session, week, actor=actor, now=now, cal=cal, settings=settings,
                               scopes=(scope,))
    return reviews[scope]


async def weekly_all(session: AsyncSession, week: Week, *, actor: Actor, now: datetime,
                     cal: WorkingCalendar, settings: Settings,
                     scopes: Sequence[Scope] = SCOPES) -> dict[Scope, Review]:
    """The week in each of `scopes`, from one pass over the week's rows: every scope is a
    rollup of the same tallies (ledger.py)."""
    w = _window(week, actor, now)
    ledger = Ledger()
    clock = WorkingClock(cal)
    await q.without_jit(session)
    # Two lanes of statements of about equal length, at once where a second connection is at
    # hand (queries.second_reader). Every figure is a sum, so the order they land in is moot.
    async with q.second_reader(session) as other:
        prepared, (items, names, moves, previous) = await q.together(
            session, other, _rounds_and_events(session, w, ledger, clock),
            _tally(other, w, ledger, settings, week.previous(settings.timezone)))
    await rounds.handling(session, ledger, prepared, clock)
    overdue = await rounds.open_rounds(session, w, ledger, prepared.running, clock, names, moves)
    overdue.sort(key=lambda o: (-o.overdue_hours, str(o.incident_id)))
    weights = settings.review.weights
    units_all = [Card(k, names.get(k, k), t) for k, t in ledger.units.items()]
    red, black = red_black(rank(units_all, weights))
    district = Card("DISTRICT", names.get("DISTRICT", "全区"), _sum(ledger.units.values()))
    spots = _hotspots(items, previous, ledger, names)
    out: dict[Scope, Review] = {}
    for scope in scopes:
        cards = (units_all if scope == "unit"
                 else _ranked_all(_roll(ledger, scope, names), weights))
        review = Review(week, scope, w.cut, district, _order(cards), _order(units_all),
                        red=list(red), black=list(black), overdue=list(overdue), names=names,
                        timezone=settings.timezone)
        review.top_items, review.top_grids, review.rising_items, review.grid_counts = spots
        if actor.role is Role.unit_operator:
            _narrow_to_unit(review, unit_key(actor.unit_code, actor.street_code,
                                             actor.street_code))
        out[scope] = review
    return out


async def _rounds_and_events(session: AsyncSession, w: q.Window, ledger: Ledger,
                             clock: WorkingClock) -> rounds.Prepared:
    """The resolve rounds and the audit-trail counts (one lane)."""
    cols, known = await rounds.read_rounds(session, w)
    # Sorting the week's rounds and measuring their working time is pure Python over tens of
    # thousands of rows: it runs in a thread while the events are counted.
    prepared = asyncio.create_task(asyncio.to_thread(rounds.prepare, cols, known, clock))
    try:
        await q.events(session, w, ledger)
    finally:
        done = await prepared
    return done


async def _tally(session: AsyncSession, w: q.Window, ledger: Ledger, settings: Settings,
                 before: Week) -> tuple[list[tuple[str, str | None, int]], dict[str, str],
                                        rounds.Moves, dict[str, int]]:
    """The other figures counted in SQL (the other lane): the week's items (hotspots), the
    names, the hand-overs after the week of the rounds still open, the previous week's items."""
    items = await q.received(session, w, ledger)
    await q.clocks_due(session, w, ledger)
    await rounds.reattribute_missed(session, w, ledger)
    await q.extensions(session, w, ledger)
    await rounds.repeats(session, w, ledger, settings.review.repeat_window_hours)
    names = await _names(session)
    moves = await rounds.handed_over_after_cut(session, w)
    previous = await q.item_counts(session, q.Window(before.start, before.end, w.actor))
    return items, names, moves, previous


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


def _roll(ledger: Ledger, scope: Scope, names: dict[str, str]) -> list[Card]:
    grouped: dict[str, Tally] = defaultdict(Tally)
    for place, tally in ledger.places.items():
        grouped[place_key(place, scope)].add(tally)
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


Spots = tuple[list[Hotspot], list[Hotspot], list[Hotspot], dict[str, int]]


def _hotspots(items: list[tuple[str, str | None, int]], previous: dict[str, int], ledger: Ledger,
              names: dict[str, str]) -> Spots:
    """Top items and grids by incidents received, items rising against the previous week, and
    every grid's count for the map."""
    per_grid: dict[str, int] = defaultdict(int)
    for place, tally in ledger.places.items():
        if place[2] is not None and tally.received:
            per_grid[place[2]] += tally.received
    grids = sorted(per_grid.items(), key=lambda x: (-x[1], x[0]))
    top_items = [Hotspot(c, n or c, k, previous.get(c, 0)) for c, n, k in items[:HOTSPOT_SIZE]]
    top_grids = [Hotspot(c, names.get(c, c), k) for c, k in grids[:HOTSPOT_SIZE]]
    rising = [Hotspot(c, n or c, k, previous.get(c, 0)) for c, n, k in items
              if k > previous.get(c, 0)]
    rising.sort(key=lambda h: (-(h.count - h.previous), h.code))
    return top_items, top_grids, rising[:5], dict(grids)


async def trend(session: AsyncSession, week: Week, *, actor: Actor, now: datetime,
                settings: Settings, weeks: int = 8) -> list[tuple[str, dict[str, int]]]:
    """The district (or the actor's part) week by week, oldest first, ending with `week`."""
    out = []
    for back in range(weeks - 1, -1, -1):
        wk = week.previous(settings.timezone, back) if back else week
        w = _window(wk, actor, now)
        out.append((wk.label, await q.district_trend(session, w)))
    return out
