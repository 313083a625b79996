"""Loading a district pack into the database, and the grid index built from what is loaded."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops.db import Base
from gridops.places.geo import GridHit, GridIndex, GridShape, PlaceName
from gridops.places.models import Community, District, Grid, GridWorker, PackLoad, Street, Unit
from gridops.places.pack import KNOWN_UNITS_CSV, Pack, read_pack, read_units

M = TypeVar("M", bound=Base)
TABLES = ("units", "district", "streets", "communities", "grids", "workers")


@dataclass(frozen=True, slots=True)
class PackReport:
    name: str
    checksum: str
    already_loaded: bool
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.inserted.values()) or any(self.updated.values())

    def lines(self) -> list[str]:
        if self.already_loaded:
            return [f"pack {self.name} ({self.checksum[:12]}) is already loaded: nothing changed"]
        out = [f"pack {self.name} ({self.checksum[:12]}) loaded"]
        out += [f"  {t:<12} {self.counts.get(t, 0):>5} in pack, {self.inserted.get(t, 0):>5} new, "
                f"{self.updated.get(t, 0):>5} updated" for t in TABLES]
        return out


async def load_pack(session: AsyncSession, path: Path, *, now: datetime) -> PackReport:
    """Validate the whole pack, then upsert it in the caller's transaction.

    A pack with any problem raises `PackError` before the first write. Loading the pack that was
    loaded last is a no-op. Rows missing from a newer pack are kept: incidents refer to them.
    """
    # File reading and geometry checks are blocking work; keep them off the event loop.
    pack = await asyncio.to_thread(read_pack, path)
    units = pack.units if pack.units is not None else await asyncio.to_thread(
        read_units, KNOWN_UNITS_CSV)
    last = await session.scalar(select(PackLoad.checksum)
                                .order_by(PackLoad.loaded_at.desc(), PackLoad.id).limit(1))
    counts = {"units": len(units), "district": 1, "streets": len(pack.streets),
              "communities": len(pack.communities), "grids": len(pack.grids),
              "workers": len(pack.workers)}
    if last == pack.checksum:
        return PackReport(pack.name, pack.checksum, already_loaded=True, counts=counts)
    inserted: dict[str, int] = {}
    updated: dict[str, int] = {}
    for table, model, rows, key in _rows(pack, units):
        inserted[table], updated[table] = await _upsert(session, model, rows, key)
        await session.flush()  # parents before children: the tables carry foreign keys
    session.add(PackLoad(id=uuid.uuid4(), name=pack.name, checksum=pack.checksum, loaded_at=now))
    await session.flush()
    _cache.checked = -math.inf
    return PackReport(pack.name, pack.checksum, already_loaded=False, inserted=inserted,
                      updated=updated, counts=counts)


RowSet = tuple[str, type[Base], list[dict[str, Any]], tuple[str, ...]]


def _rows(pack: Pack, units: Iterable[Any]) -> list[RowSet]:
    street_of = {c.code: c.street_code for c in pack.communities}
    by_code = ("code",)
    grids = []
    for g in pack.grids:
        centroid = g.polygon.centroid
        grids.append({"code": g.code, "name": g.name, "community_code": g.community_code,
                      "street_code": street_of[g.community_code], "polygon": g.geometry,
                      "centroid_lat": round(centroid.y, 7), "centroid_lon": round(centroid.x, 7),
                      "households": g.households})
    return [
        ("units", Unit, [{"code": u.code, "name_zh": u.name_zh, "name_en": u.name_en,
                          "owns_examples": u.owns_examples} for u in units], by_code),
        ("district", District, [{"code": pack.district_code, "name": pack.district_name}],
         by_code),
        ("streets", Street, [{"code": s.code, "name": s.name, "district_code": pack.district_code}
                             for s in pack.streets], by_code),
        ("communities", Community, [{"code": c.code, "name": c.name,
                                     "street_code": c.street_code}
                                    for c in pack.communities], by_code),
        ("grids", Grid, grids, by_code),
        ("workers", GridWorker, [{"grid_code": w.grid_code, "post": w.post, "name": w.name,
                                  "phone": w.phone, "subject": w.subject}
                                 for w in pack.workers],
         ("grid_code", "post")),
    ]


async def _upsert(session: AsyncSession, model: type[M], rows: Sequence[dict[str, Any]],
                  key: tuple[str, ...]) -> tuple[int, int]:
    """Insert new rows and update changed ones; returns (inserted, updated)."""
    existing = {tuple(getattr(obj, k) for k in key): obj
                for obj in (await session.scalars(select(model))).all()}
    inserted = updated = 0
    for row in rows:
        obj = existing.get(tuple(row[k] for k in key))
        if obj is None:
            session.add(model(**row))
            inserted += 1
            continue
        changes = {k: v for k, v in row.items() if getattr(obj, k) != v}
        for k, v in changes.items():
            setattr(obj, k, v)
        updated += bool(changes)
    return inserted, updated


async def grid_index(session: AsyncSession) -> GridIndex:
    """A fresh index of every grid in the database, with street and community names."""
    grids = (await session.execute(
        select(Grid.code, Grid.community_code, Grid.street_code, Grid.polygon))).all()
    streets = (await session.execute(select(Street.code, Street.name))).all()
    communities = (await session.execute(
        select(Community.code, Community.name, Community.street_code))).all()
    places = [PlaceName(s.code, s.name, "street", s.code) for s in streets]
    places += [PlaceName(c.code, c.name, "community", c.street_code) for c in communities]

    def build() -> GridIndex:
        return GridIndex([GridShape(g.code, g.community_code, g.street_code, shape(g.polygon))
                          for g in grids], places)

    return await asyncio.to_thread(build)


# How long a process trusts its cached index without asking the database for the latest pack
# load: a pack loaded by another process (`gridops places load`) is used by every request
# within this many seconds. Loads in this process take effect at once (`load_pack` forgets).
TRUST_SECONDS = 1.0


@dataclass(slots=True)
class _Cached:
    key: uuid.UUID | None = None
    index: GridIndex | None = None
    checked: float = -math.inf  # time.monotonic() of the last check that confirmed `key`


# One per process, like the compiled rule table: the index is immutable and shared by requests.
_cache = _Cached()


def _trusted(session: AsyncSession) -> bool:
    # A session on a connection (the caller's own outer transaction, as in tests) may see packs
    # loaded or rolled back in that transaction: it always checks. Requests use the engine.
    return (isinstance(session.bind, AsyncEngine) and _cache.index is not None
            and time.monotonic() - _cache.checked < TRUST_SECONDS)


async def current_index(session: AsyncSession) -> GridIndex:
    """The grid index, rebuilt only when a pack load happened since (in any process).

    One small query checks the latest pack load, at most once per `TRUST_SECONDS` for
    sessions on the engine. Without any pack load on record the grids may come from anywhere
    (test builders), so the index is rebuilt every time.
    """
    if _trusted(session):
        assert _cache.index is not None
        return _cache.index
    latest = await session.scalar(select(PackLoad.id)
                                  .order_by(PackLoad.loaded_at.desc(), PackLoad.id).limit(1))
    if latest is not None and _cache.key == latest and _cache.index is not None:
        _cache.checked = time.monotonic()
        return _cache.index
    index = await grid_index(session)
    if latest is not None:
        _cache.key, _cache.index, _cache.checked = latest, index, time.monotonic()
    return index


async def locate(session: AsyncSession, lat: float, lon: float) -> GridHit | None:
    """The grid, community and street of a GPS point, or None outside every grid."""
    return (await current_index(session)).locate(lat, lon)
