"""`intake.receive_many`: a batch is received as its reports would be one by one, written without
the unit of work; the answer of a create is what a read of it returns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import HOTLINE, Actor, Role
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.clock.models import SlaClock
from gridops.incidents import duplicates, intake
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn
from gridops.outbox.models import OutboxMessage
from gridops.places.models import Grid
from gridops.settings import Settings
from tests.builders import grids, load_rules, make_incident

DISPATCHER = Actor(subject="d-1", role=Role.dispatcher)
STALL = "建设路口有流动摊贩占道经营"


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return build_calendar()


@pytest.fixture
async def world(session: AsyncSession, demo_pack: Any, now: datetime) -> list[Grid]:
    await load_rules(session, now)
    return await grids(session, 2)


def report(grid: Grid, text: str = STALL, dlat: float = 0.0, **more: Any) -> IncidentIn:
    return IncidentIn.model_validate({
        "text": text, "location": {"lat": grid.centroid_lat + dlat, "lon": grid.centroid_lon},
        **more})


@pytest.mark.parametrize(("role", "caller"), [
    ("dispatcher", {"name": "王建国", "phone": "13812341234", "confidential": True}),
    ("grid_worker", {"name": "李四", "phone": "13900000000"})])
async def test_answer_is_what_a_read_returns(
        client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], world: list[Grid],
        role: str, caller: dict[str, Any]) -> None:
    """The create's answer is built from the rows it wrote, without a reload."""
    grid = world[0]
    headers = auth(role, grid=grid.code if role == "grid_worker" else None)
    point = {"lat": grid.centroid_lat, "lon": grid.centroid_lon}
    first = await client.post("/api/v1/incidents", headers=headers,
                              json={"text": STALL, "location": point})
    created = await client.post("/api/v1/incidents", headers=headers, json={
        "text": STALL, "title": "占道", "address": "建设路口", "location": point,
        "reporter": caller})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["possible_duplicates"] == [first.json()["id"]]
    assert created.headers["location"] == f"http://test/api/v1/incidents/{body['id']}"
    read = await client.get(created.headers["location"], headers=headers)
    assert read.status_code == 200
    assert read.json() == body


async def test_batch_flags_earlier_reports_as_one_by_one_would(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    grid = world[0]
    stored = await intake.receive(session, report(grid), actor=DISPATCHER, now=now, cal=cal,
                                  settings=settings, channel="walk_in")
    caller = {"name": "王建国", "phone": "13812341234"}
    news = [intake.NewIncident(report(grid, dlat=0.0003), "walk_in"),  # ~33 m away
            intake.NewIncident(report(grid, "路灯不亮了"), "walk_in"),  # another item
            intake.NewIncident(report(grid, dlat=0.01, reporter=caller), "walk_in"),  # far
            intake.NewIncident(IncidentIn(text="又有流动摊贩占道经营", reporter=caller),
                               "walk_in")]  # no point, same caller as the one before
    received = await intake.receive_many(session, news, actor=DISPATCHER, now=now, cal=cal,
                                         settings=settings)
    assert all(r is not None for r in received)
    near, lamp, far, same_caller = (r.row for r in received if r is not None)
    assert near["possible_duplicates"] == [str(stored.id)]
    assert lamp["possible_duplicates"] == []
    assert far["possible_duplicates"] == []
    assert same_caller["possible_duplicates"] == [str(far["id"])]
    # The rows and the chains are what was answered.
    for r in received:
        assert r is not None
        incident = await session.get(Incident, r.id)
        assert incident is not None
        assert incident.possible_duplicates == r.row["possible_duplicates"]
        clocks = (await session.scalars(select(SlaClock.kind).where(
            SlaClock.incident_id == r.id))).all()
        assert sorted(clocks) == sorted(c.kind for c in r.clocks)
        report_ = await audit.verify(session, stream=audit.stream_of(r.id))
        assert (report_.ok, report_.events) == (True, 1 + bool(r.clocks))


async def test_batch_search_pages_each_report_as_the_single_search_does(
        session: AsyncSession, settings: Settings, now: datetime, world: list[Grid]) -> None:
    """On PostgreSQL a batch's first pages come from one statement; a report whose first page
    is all box corners reads on, as `find` does."""
    grid = world[0]
    lat, lon = grid.centroid_lat, grid.centroid_lon
    corner = settings.duplicates.radius_m * 0.9 / duplicates.METRES_PER_DEG_LAT
    for minutes in range(1, duplicates.MAX_FLAGGED + 11):
        await make_incident(session, state="dispatched", item_code="SJ05001",
                            lat=lat + corner, lon=lon + corner * 1.2,
                            now=now - timedelta(minutes=minutes))
    for hours in range(1, 4):
        await make_incident(session, state="dispatched", item_code="SJ05001", lat=lat,
                            lon=lon, now=now - timedelta(hours=hours), reporter_phone="139")
    probes = [duplicates.Probe("SJ05001", lat, lon, None),
              duplicates.Probe("SJ05001", None, None, "139"),
              duplicates.Probe("SJ05001", lat + corner, lon + corner * 1.2, None),
              duplicates.Probe(None, lat, lon, "139"),
              duplicates.Probe("BJ01001", lat, lon, None)]
    batch = await duplicates.find_many(session, probes, now=now, settings=settings.duplicates)
    one_by_one = [await duplicates.find(session, item_code=p.item_code, lat=p.lat, lon=p.lon,
                                        phone=p.phone, now=now, settings=settings.duplicates)
                  for p in probes]
    assert [[i for _, i in hits] for hits in batch] == one_by_one
    assert [len(found) for found in one_by_one] == [3, 3, duplicates.MAX_FLAGGED, 0, 0]


async def test_an_order_received_before_writes_nothing(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    data = report(world[0], reporter={"name": "王", "phone": "13812341234"})
    first = await intake.receive_many(
        session, [intake.NewIncident(data, intake.HOTLINE, "GD1", 1)], actor=HOTLINE, now=now,
        cal=cal, settings=settings)
    assert first[0] is not None

    async def counts() -> tuple[int | None, ...]:
        return tuple([await session.scalar(select(func.count()).select_from(model))
                      for model in (Incident, SlaClock, AuditEvent, OutboxMessage)])

    before = await counts()
    again = await intake.receive_many(
        session, [intake.NewIncident(data, intake.HOTLINE, "GD1", 2),
                  intake.NewIncident(data, intake.HOTLINE, "GD2", 1)], actor=HOTLINE, now=now,
        cal=cal, settings=settings)
    assert again[0] is None
    assert again[1] is not None
    # GD2 alone: an incident, two clocks, two events, one update for the hotline.
    assert await counts() == tuple((n or 0) + k
                                   for n, k in zip(before, (1, 2, 2, 1), strict=True))
    # The skipped copy of GD1 is no one's possible duplicate (it does not exist): GD2 was
    # received again without it.
    assert again[1].row["possible_duplicates"] == [str(first[0].id)]
    stored = await session.get(Incident, again[1].id)
    assert stored is not None
    assert stored.possible_duplicates == [str(first[0].id)]


async def test_received_incident_is_in_the_session_and_later_changes_update_it(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await intake.receive(session, report(world[0]), actor=DISPATCHER, now=now,
                                    cal=cal, settings=settings, channel="walk_in")
    assert await session.get(Incident, incident.id) is incident
    incident.title = "改过的标题"
    await session.flush()
    assert incident.version == 2
    stored = (await session.execute(select(Incident.title, Incident.version).where(
        Incident.id == incident.id))).one()
    assert tuple(stored) == ("改过的标题", 2)


@pytest.mark.parametrize(("root_path", "host"), [("", b"test"), ("/gridops", b"example.org:8443")])
def test_location_is_what_url_for_gives(app: FastAPI, root_path: str, host: bytes) -> None:
    from starlette.requests import Request

    from gridops.incidents.endpoints import _location

    scope = {"type": "http", "scheme": "https", "server": ("10.0.0.1", 8000), "method": "POST",
             "root_path": root_path, "path": f"{root_path}/api/v1/incidents",
             "query_string": b"", "headers": [(b"host", host)], "app": app,
             "router": app.router}
    incident_id = "5b0f3c52-6f0e-4d8b-9a51-0d6f8e0c2a11"
    for _ in range(2):  # the first call looks the path up, the second reuses it
        request = Request(scope)
        assert _location(request, incident_id) == str(
            request.url_for("get_incident", incident_id=incident_id))
