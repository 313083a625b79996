"""Hand-built weeks: a tiny district (two streets, two communities, three grids) and rows written
straight through the ORM, so every figure of a test is known before the review runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.auth.actor import Actor, Role
from gridops.clock.models import SlaClock
from gridops.incidents.models import Incident, IncidentRequest
from gridops.places.models import Community, District, Grid, Street, Unit

# 2026-W47: Monday 2026-11-16 00:00 in Shanghai is Sunday 2026-11-15 16:00 UTC.
WEEK = "2026-W47"
START = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
END = START + timedelta(days=7)
# Shanghai local wall time of W47 → UTC (local 08:00 is 00:00 UTC).
MON, TUE, WED, THU, FRI = (START + timedelta(days=d) for d in range(5))
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the Tuesday after: the week is complete

S1, S2 = "430204901", "430204902"
C1, C2 = "430204901001", "430204902001"
G1, G2, G3 = "430204901001001", "430204901001002", "430204902001001"
PLACE = {G1: (S1, C1), G2: (S1, C1), G3: (S2, C2)}
DISPATCHER = Actor(subject="review-dispatcher", role=Role.dispatcher)


def local(day: datetime, hour: float) -> datetime:
    """`hour` o'clock Shanghai time on the local day starting at `day` (a UTC week day)."""
    return day + timedelta(hours=hour)


def _square(x: float, y: float) -> dict[str, Any]:
    ring = [[x, y], [x + 0.01, y], [x + 0.01, y + 0.01], [x, y + 0.01], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


async def district(session: AsyncSession) -> None:
    session.add(District(code="430204", name="测试区"))
    await session.flush()
    session.add_all([Street(code=S1, name="甲街道", district_code="430204"),
                     Street(code=S2, name="乙街道", district_code="430204")])
    await session.flush()
    session.add_all([Community(code=C1, name="一社区", street_code=S1),
                     Community(code=C2, name="二社区", street_code=S2)])
    await session.flush()
    for i, (code, (street, community)) in enumerate(PLACE.items()):
        session.add(Grid(code=code, name=f"第{i + 1}网格", community_code=community,
                         street_code=street, polygon=_square(113.1 + i * 0.01, 27.8),
                         centroid_lat=27.805, centroid_lon=113.105 + i * 0.01))
    for code, name in (("UMLE", "区城市管理和综合执法局"), ("HURD", "区住房和城乡建设局"),
                       ("STR", "街道办事处"), ("WTR", "区供水公司")):
        session.add(Unit(code=code, name_zh=name, name_en=code))
    await session.flush()


async def incident(session: AsyncSession, unit: str | None, grid: str | None,
                   created: datetime, **values: Any) -> Incident:
    street, community = PLACE.get(grid, (None, None)) if grid else (None, None)
    row = Incident(
        id=uuid.uuid4(), channel="grid_app", text=values.pop("text", "测试诉求"),
        grid_code=grid, street_code=street, community_code=community, unit_code=unit,
        assigned_street_code=values.pop("assigned", street if unit == "STR" else None),
        state=values.pop("state", "in_progress"), created_by="builder", created_at=created,
        updated_at=created, urgency="normal", routing={}, co_units=[],
        possible_duplicates=[], item_code=values.pop("item", "SJ05001"),
        item_name=values.pop("item_name", "占道经营"), **values)
    session.add(row)
    await session.flush()
    return row


async def clock(session: AsyncSession, inc: Incident, kind: str, due: datetime, *,
                outcome: str | None = None, stopped: datetime | None = None,
                started: datetime | None = None, unit: str | None = "same",
                **values: Any) -> SlaClock:
    row = SlaClock(
        incident_id=inc.id, kind=kind, round=values.pop("round", 1),
        basis=values.pop("basis", "working"), limit_minutes=values.pop("limit", 480.0),
        unit_code=inc.unit_code if unit == "same" else unit,
        started_at=started or due - timedelta(days=1), due_at=due,
        due_soon_at=due - timedelta(hours=1), outcome=outcome,
        stopped_at=stopped if stopped is not None or outcome is None else due, **values)
    session.add(row)
    await session.flush()
    return row


async def event(session: AsyncSession, inc: Incident, action: str, at: datetime, *,
                to_state: str | None = None, **changes: Any) -> None:
    await audit.record(session, f"incident.{action}", actor=DISPATCHER, at=at, incident=inc,
                       to_state=to_state, changes=changes)


async def request(session: AsyncSession, inc: Incident, kind: str, decided: datetime, *,
                  state: str = "approved", unit: str | None = "same",
                  hours: float | None = None) -> IncidentRequest:
    row = IncidentRequest(
        incident_id=inc.id, kind=kind, state=state,
        unit_code=inc.unit_code if unit == "same" else unit, reason="测试", hours=hours,
        requested_by="builder", requested_at=decided - timedelta(hours=1), decided_at=decided,
        decided_by="builder")
    session.add(row)
    await session.flush()
    return row
