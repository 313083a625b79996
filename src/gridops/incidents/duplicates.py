"""Possible duplicates at intake: the same item reported nearby and recently, or the same caller
about the same item while the first order is still open. Flagged only; a dispatcher merges."""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Executable,
    Select,
    Uuid,
    bindparam,
    literal_column,
    select,
    text,
    tuple_,
    union,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.db import UTCDateTime, driver_rows
from gridops.incidents.models import OPEN, Incident
from gridops.incidents.schemas import OPEN_STATES
from gridops.settings import DuplicateSettings

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEG_LAT = 111_320.0
MAX_FLAGGED = 20
_PAGE = 100

Hit = tuple[datetime, uuid.UUID]  # (created_at, id): sorted descending, newest first


class Candidate(NamedTuple):
    """A stored incident a page of the search found, before the exact test."""

    id: uuid.UUID
    created_at: datetime
    lat: float | None
    lon: float | None
    reporter_phone: str | None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class Probe:
    """What a new incident is compared on."""

    item_code: str | None
    lat: float | None
    lon: float | None
    phone: str | None

    @property
    def point(self) -> tuple[float, float] | None:
        return (self.lat, self.lon) if self.lat is not None and self.lon is not None else None

    def searchable(self) -> bool:
        return self.item_code is not None and (self.point is not None or bool(self.phone))

    def near(self, lat: float | None, lon: float | None, radius_m: float) -> bool:
        point = self.point
        return (point is not None and lat is not None and lon is not None
                and haversine_m(*point, lat, lon) <= radius_m)


async def find(session: AsyncSession, *, item_code: str | None, lat: float | None,
               lon: float | None, phone: str | None, now: datetime,
               settings: DuplicateSettings) -> list[uuid.UUID]:
    """Open incidents of `item_code` within `radius_m` created in the last `window_hours`, and
    open incidents of that item from the same phone; newest first."""
    [hits] = await find_many(session, [Probe(item_code, lat, lon, phone)], now=now,
                             settings=settings)
    return [incident_id for _, incident_id in hits]


async def find_many(session: AsyncSession, probes: Sequence[Probe], *, now: datetime,
                    settings: DuplicateSettings) -> list[list[Hit]]:
    """`find` for each probe (at most MAX_FLAGGED stored incidents each, newest first). On
    PostgreSQL the first page of every probe of a batch comes from one statement."""
    since = now - timedelta(hours=settings.window_hours)
    found: list[list[Hit]] = [[] for _ in probes]
    asked = [k for k, probe in enumerate(probes) if probe.searchable()]
    if not asked:
        return found
    if len(asked) > 1 and session.get_bind().dialect.name == "postgresql":
        first = await _first_pages(session, [probes[k] for k in asked], since, settings)
    else:
        first = [await _page(session, probes[k], since, settings, None, MAX_FLAGGED)
                 for k in asked]
    for k, rows in zip(asked, first, strict=True):
        # Newest first, a page at a time, until MAX_FLAGGED pass the exact test: a busy corner
        # holds thousands of open reports of one item, and only the newest are flagged.
        probe, hits, size = probes[k], found[k], MAX_FLAGGED
        while True:
            for row in rows:
                close = row.created_at >= since and probe.near(row.lat, row.lon,
                                                               settings.radius_m)
                if close or (probe.phone is not None and row.reporter_phone == probe.phone):
                    hits.append((row.created_at, row.id))
                    if len(hits) == MAX_FLAGGED:
                        break
            if len(hits) == MAX_FLAGGED or len(rows) < size:
                break
            after = (rows[-1].created_at, rows[-1].id)
            rows, size = await _page(session, probe, since, settings, after, _PAGE), _PAGE
    return found


def _box(probe: Probe, radius_m: float) -> tuple[float, float, float, float] | None:
    """A lat/lon box around the point the index can use first; the exact distance is checked
    after."""
    point = probe.point
    if point is None:
        return None
    dlat = radius_m / METRES_PER_DEG_LAT
    dlon = dlat / max(0.01, math.cos(math.radians(point[0])))
    return point[0] - dlat, point[0] + dlat, point[1] - dlon, point[1] + dlon


def _branch(condition: list[ColumnElement[bool]], paged: bool,
            ) -> Select[uuid.UUID, datetime, float | None, float | None, str | None]:
    # The states as literals, not bound: the partial indexes on open incidents then apply.
    query = select(Incident.id, Incident.created_at, Incident.lat, Incident.lon,
                   Incident.reporter_phone).where(
        Incident.item_code == bindparam("item"),
        Incident.state.in_([literal_column(f"'{state}'") for state in OPEN_STATES]),
        *condition)
    if paged:
        query = query.where(tuple_(Incident.created_at, Incident.id) < tuple_(
            bindparam("after_at", type_=UTCDateTime()), bindparam("after_id", type_=Uuid())))
    return query.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(
        bindparam("size"))


@functools.cache
def _query(by_point: bool, by_phone: bool, paged: bool) -> Executable:
    """Built once per shape: the parameters are bound at execution. Near the point and from
    the phone are two branches, each newest first, joined: with an OR the planner (without
    table statistics, say) may read every open incident of the item instead of using each
    branch's index."""
    branches = []
    if by_point:
        branches.append(_branch([
            Incident.lat.between(bindparam("lat0"), bindparam("lat1")),
            Incident.lon.between(bindparam("lon0"), bindparam("lon1")),
            Incident.created_at >= bindparam("since", type_=UTCDateTime())], paged))
    if by_phone:
        branches.append(_branch([Incident.reporter_phone == bindparam("phone")], paged))
    if len(branches) == 1:
        return branches[0]
    both = union(*(select(b.subquery()) for b in branches)).subquery()
    return select(both).order_by(both.c.created_at.desc(), both.c.id.desc()).limit(
        bindparam("size"))


async def _page(session: AsyncSession, probe: Probe, since: datetime,
                settings: DuplicateSettings, after: Hit | None, size: int) -> list[Candidate]:
    box = _box(probe, settings.radius_m)
    params: dict[str, Any] = {"item": probe.item_code, "size": size}
    if box is not None:
        params |= {"lat0": box[0], "lat1": box[1], "lon0": box[2], "lon1": box[3],
                   "since": since}
    if probe.phone:
        params["phone"] = probe.phone
    if after is not None:
        params |= {"after_at": after[0], "after_id": after[1]}
    shape = (box is not None, bool(probe.phone), after is not None)
    if session.get_bind().dialect.name == "postgresql":
        # The driver's SQL with positional values: the ORM's execute (cache key, result
        # processing) cost more than the query's round trip. asyncpg's values need no
        # processing: aware UTC datetimes, uuid.UUID subclasses.
        sql, names = _compiled(*shape, session.get_bind().dialect)
        rows = await driver_rows(session, sql, [params[n] for n in names])
    else:
        rows = (await session.execute(_query(*shape), params)).all()
    return [Candidate(*row) for row in rows]


@functools.cache
def _compiled(by_point: bool, by_phone: bool, paged: bool,
              dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    query = _query(by_point, by_phone, paged)
    assert isinstance(query, Select)
    compiled = query.compile(dialect=dialect)
    assert compiled.positiontup is not None
    return compiled.string, tuple(compiled.positiontup)


# The first page of every probe in one statement, whatever the batch size, with the two
# branches of `_query`. A probe without a point (or without a phone) has NULL bounds (or phone),
# which match nothing. The states are literal, as the partial indexes' predicate (`models.OPEN`).
_FIRST_PAGES = text(f"""
SELECT p.n, i.id, i.created_at, i.lat, i.lon, i.reporter_phone
FROM unnest(CAST(:items AS varchar[]), CAST(:lat0 AS float8[]), CAST(:lat1 AS float8[]),
            CAST(:lon0 AS float8[]), CAST(:lon1 AS float8[]), CAST(:phones AS varchar[]))
     WITH ORDINALITY AS p(item, lat0, lat1, lon0, lon1, phone, n)
CROSS JOIN LATERAL (
    SELECT * FROM (
        (SELECT id, created_at, lat, lon, reporter_phone FROM incident
         WHERE item_code = p.item AND {OPEN}
           AND lat BETWEEN p.lat0 AND p.lat1 AND lon BETWEEN p.lon0 AND p.lon1
           AND created_at >= :since
         ORDER BY created_at DESC, id DESC LIMIT :size)
        UNION
        (SELECT id, created_at, lat, lon, reporter_phone FROM incident
         WHERE reporter_phone = p.phone AND item_code = p.item AND {OPEN}
         ORDER BY created_at DESC, id DESC LIMIT :size)) AS near_or_same_phone
    ORDER BY created_at DESC, id DESC LIMIT :size) AS i
ORDER BY p.n, i.created_at DESC, i.id DESC""")


async def _first_pages(session: AsyncSession, probes: Sequence[Probe], since: datetime,
                       settings: DuplicateSettings) -> list[list[Any]]:
    boxes = [_box(p, settings.radius_m) for p in probes]
    rows = await session.execute(_FIRST_PAGES, {
        "items": [p.item_code for p in probes],
        **{name: [None if b is None else b[k] for b in boxes]
           for k, name in enumerate(("lat0", "lat1", "lon0", "lon1"))},
        "phones": [p.phone or None for p in probes],
        "since": since, "size": MAX_FLAGGED})
    pages: list[list[Any]] = [[] for _ in probes]
    for row in rows:
        pages[row.n - 1].append(row)
    return pages
