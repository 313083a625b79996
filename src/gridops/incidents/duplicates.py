"""Possible duplicates at intake: the same item reported nearby and recently, or the same caller
about the same item while the first order is still open. Flagged only; a dispatcher merges."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.incidents.models import Incident
from gridops.incidents.schemas import OPEN_STATES
from gridops.settings import DuplicateSettings

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEG_LAT = 111_320.0
MAX_FLAGGED = 20


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
    if item_code is None:
        return []
    found: dict[uuid.UUID, datetime] = {}
    base = select(Incident.id, Incident.created_at, Incident.lat, Incident.lon).where(
        Incident.item_code == item_code, Incident.state.in_(OPEN_STATES))
    if lat is not None and lon is not None:
        # A lat/lon box the index can use first; the exact distance is checked below.
        dlat = settings.radius_m / METRES_PER_DEG_LAT
        dlon = dlat / max(0.01, math.cos(math.radians(lat)))
        near = base.where(Incident.lat.between(lat - dlat, lat + dlat),
                          Incident.lon.between(lon - dlon, lon + dlon),
                          Incident.created_at >= now - timedelta(hours=settings.window_hours))
        for row in (await session.execute(near)).all():
            if haversine_m(lat, lon, row.lat, row.lon) <= settings.radius_m:
                found[row.id] = row.created_at
    if phone:
        for row in (await session.execute(base.where(Incident.reporter_phone == phone))).all():
            found[row.id] = row.created_at
    ranked = sorted(found.items(), key=lambda kv: (kv[1], str(kv[0])), reverse=True)
    return [incident_id for incident_id, _ in ranked[:MAX_FLAGGED]]
