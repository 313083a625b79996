"""Possible duplicates at intake: the same item reported nearby and recently, or the same caller
about the same item while the first order is still open. Flagged only; a dispatcher merges."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.db import UTCDateTime
from gridops.incidents.models import Incident
from gridops.incidents.schemas import OPEN_STATES
from gridops.settings import DuplicateSettings

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEG_LAT = 111_320.0
MAX_FLAGGED = 20
_PAGE = 100


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


async def find(session: AsyncSession, *, item_code: str | None, lat: float | None,
               lon: float | None, phone: str | None, now: datetime,
               settings: DuplicateSettings) -> list[uuid.UUID]:
    """Open incidents of `item_code` within `radius_m` created in the last `window_hours`, and
    open incidents of that item from the same phone; newest first."""
    point = (lat, lon) if lat is not None and lon is not None else None
    if item_code is None or (point is None and not phone):
        return []
    since = now - timedelta(hours=settings.window_hours)
    either: list[ColumnElement[bool]] = []
    if point is not None:
        # A lat/lon box the index can use first; the exact distance is checked below.
        dlat = settings.radius_m / METRES_PER_DEG_LAT
        dlon = dlat / max(0.01, math.cos(math.radians(point[0])))
        either.append(and_(Incident.lat.between(point[0] - dlat, point[0] + dlat),
                           Incident.lon.between(point[1] - dlon, point[1] + dlon),
                           Incident.created_at >= since))
    if phone:
        either.append(Incident.reporter_phone == phone)
    query = select(Incident.id, Incident.created_at, Incident.lat, Incident.lon,
                   Incident.reporter_phone).where(
        Incident.item_code == item_code, Incident.state.in_(OPEN_STATES), or_(*either),
    ).order_by(Incident.created_at.desc(), Incident.id.desc()).limit(_PAGE)
    # Newest first, a page at a time, until MAX_FLAGGED pass the exact test: a busy corner
    # holds thousands of open reports of one item, and only the newest are flagged.
    found: list[uuid.UUID] = []
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        page = query if after is None else query.where(
            tuple_(Incident.created_at, Incident.id) < tuple_(literal(after[0], UTCDateTime()),
                                                              literal(after[1])))
        rows = (await session.execute(page)).all()
        for row in rows:
            close = (point is not None and row.lat is not None and row.lon is not None
                     and row.created_at >= since
                     and haversine_m(*point, row.lat, row.lon) <= settings.radius_m)
            if close or (phone is not None and row.reporter_phone == phone):
                found.append(row.id)
                if len(found) == MAX_FLAGGED:
                    return found
        if len(rows) < _PAGE:
            return found
        after = (rows[-1].created_at, rows[-1].id)
