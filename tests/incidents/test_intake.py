"""`intake.receive`: place, route, state, deadlines, duplicates, audit and outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import HOTLINE, Actor, Role
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.clock.models import SlaClock
from gridops.errors import Conflict, Forbidden, Invalid
from gridops.incidents import duplicates, intake
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn
from gridops.outbox.models import OutboxMessage
from gridops.places.models import Grid
from gridops.settings import Settings
from tests.builders import grids, load_rules, make_incident

DISPATCHER = Actor(subject="d-1", role=Role.dispatcher)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return build_calendar()


@pytest.fixture
async def world(session: AsyncSession, demo_pack: Any, now: datetime) -> list[Grid]:
    await load_rules(session, now)
    return await grids(session, 3)


async def receive(session: AsyncSession, settings: Settings, cal: WorkingCalendar,
                  now: datetime, *, actor: Actor = DISPATCHER, channel: str = "walk_in",
                  **data: Any) -> Incident:
    return await intake.receive(session, IncidentIn.model_validate(data), actor=actor, now=now,
                                cal=cal, settings=settings, channel=channel)


async def clocks(session: AsyncSession, incident: Incident) -> dict[str, SlaClock]:
    rows = await session.scalars(select(SlaClock).where(SlaClock.incident_id == incident.id))
    return {c.kind: c for c in rows}


async def events(session: AsyncSession, incident: Incident) -> list[AuditEvent]:
    return list((await session.scalars(select(AuditEvent).where(
        AuditEvent.incident_id == incident.id).order_by(AuditEvent.seq))).all())


async def test_routed_incident_is_dispatched_with_working_clock_deadlines(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    grid = world[0]
    incident = await receive(session, settings, cal, now,
                             text="路口有流动摊贩占道经营，行人走不过去",
                             location={"lat": grid.centroid_lat, "lon": grid.centroid_lon})
    assert incident.state == "dispatched"
    assert (incident.unit_code, incident.item_code, incident.item_name) == (
        "UMLE", "SJ05001", "占道经营")
    assert (incident.grid_code, incident.community_code, incident.street_code) == (
        grid.code, grid.community_code, grid.street_code)
    assert incident.dispatched_at == now
    assert incident.version == 1
    assert incident.routing["needs_triage"] is False
    assert "流动摊贩" in incident.routing["matched"]
    assert incident.co_units == ["STR"]
    assert incident.urgency == "normal"
    found = await clocks(session, incident)
    # Tuesday 10:00 Shanghai: 2 working hours → 12:00; 24 → Friday 10:00 (three working days).
    assert found["sign"].due_at == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)
    assert found["resolve"].due_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert {c.basis for c in found.values()} == {"working"}
    assert {c.unit_code for c in found.values()} == {"UMLE"}
    trail = await events(session, incident)
    assert [(e.action, e.from_state, e.to_state) for e in trail] == [
        ("incident.received", None, "triage"), ("incident.dispatched", "triage", "dispatched")]
    assert trail[0].changes["decision"]["item_code"] == "SJ05001"
    assert trail[0].changes["place"]["source"] == "gps"
    assert trail[1].changes["unit_code"] == [None, "UMLE"]


async def test_urgent_item_runs_on_the_continuous_clock(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await receive(session, settings, cal, now, text="楼下闻到很重的煤气味，怀疑燃气泄漏",
                             grid_code=world[1].code)
    assert (incident.unit_code, incident.urgency) == ("GAS", "urgent")
    found = await clocks(session, incident)
    assert found["sign"].basis == "continuous"
    assert found["sign"].due_at == now + timedelta(minutes=30)
    assert found["resolve"].due_at == now + timedelta(hours=12)


async def test_unsure_router_leaves_the_incident_in_triage_without_clocks(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await receive(session, settings, cal, now, text="我想反映一下情况，请联系我",
                             grid_code=world[0].code)
    assert incident.state == "triage"
    assert incident.unit_code is None
    assert incident.dispatched_at is None
    assert incident.routing["needs_triage"] is True
    assert incident.routing["reasons"]
    assert await clocks(session, incident) == {}
    assert [e.action for e in await events(session, incident)] == ["incident.received"]


async def test_street_item_goes_to_the_street_of_the_grid(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    grid = world[2]
    # Not "…堵住了消防通道": the learned model rightly hears the fire brigade (FRB) in that.
    incident = await receive(session, settings, cal, now,
                             text="楼道里堆满了杂物，邻居的旧家具一直不清理", grid_code=grid.code)
    assert (incident.state, incident.unit_code) == ("dispatched", "STR")
    assert incident.assigned_street_code == grid.street_code
    assert incident.level == "community"


async def test_street_item_without_a_place_goes_to_triage(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await receive(session, settings, cal, now,
                             text="楼道里堆满了杂物，邻居的旧家具一直不清理")
    assert incident.grid_code is None
    assert incident.street_code is None
    assert incident.state == "triage"
    assert incident.unit_code is None


async def test_address_names_a_community_when_there_is_no_point(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await receive(session, settings, cal, now, text="楼道堆物严重",
                             address="清水塘社区8栋2单元")
    assert (incident.community_code, incident.street_code) == ("430204003001", "430204003")
    assert incident.grid_code is None
    # The street is known, so the 属地 item can be dispatched to it.
    assert (incident.state, incident.assigned_street_code) == ("dispatched", "430204003")


async def test_grid_worker_reports_resolved_on_the_spot(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    grid = world[0]
    worker = Actor(subject="gw-a", role=Role.grid_worker, grid_code=grid.code)
    incident = await receive(session, settings, cal, now, actor=worker, channel="grid_app",
                             text="楼道堆物已当场劝导清理", resolved_on_spot=True)
    assert incident.state == "resolved"
    assert incident.resolved_at == now
    assert incident.grid_code == grid.code  # the worker's own grid
    assert incident.item_code == "SJ01003"  # what it was, for the statistics
    assert incident.unit_code is None  # but no unit handled it
    assert incident.resolved_on_spot is True
    assert incident.dispatched_at is None
    assert await clocks(session, incident) == {}
    trail = await events(session, incident)
    assert [(e.action, e.to_state, e.note) for e in trail] == [
        ("incident.received", "resolved", "就地解决")]


async def test_only_grid_workers_report_on_spot_resolution(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    with pytest.raises(Invalid):
        await receive(session, settings, cal, now, text="已处理", resolved_on_spot=True)
    assert await session.scalar(select(Incident.id)) is None


async def test_grid_worker_may_not_report_for_another_grid(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    own, other = world[0], world[1]
    worker = Actor(subject="gw-a", role=Role.grid_worker, grid_code=own.code)
    with pytest.raises(Forbidden):
        await receive(session, settings, cal, now, actor=worker, text="路灯不亮",
                      grid_code=other.code)
    with pytest.raises(Forbidden):
        await receive(session, settings, cal, now, actor=worker, text="路灯不亮",
                      location={"lat": other.centroid_lat, "lon": other.centroid_lon})
    assert await session.scalar(select(Incident.id)) is None


async def test_unknown_grid_code_is_invalid(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    with pytest.raises(Invalid) as caught:
        await receive(session, settings, cal, now, text="路灯不亮", grid_code="999999")
    assert caught.value.extensions["errors"][0]["loc"] == ["body", "grid_code"]


async def test_duplicates_nearby_and_from_the_same_caller_are_flagged(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    grid = world[0]
    lat, lon = grid.centroid_lat, grid.centroid_lon
    first = await receive(session, settings, cal, now, text="路边摆摊占道经营",
                          location={"lat": lat, "lon": lon})
    # ~55 m away, an hour later, same item: flagged.
    near = await receive(session, settings, cal, now + timedelta(hours=1),
                         text="又有流动摊贩占道经营", location={"lat": lat + 0.0005, "lon": lon})
    assert near.possible_duplicates == [str(first.id)]
    # ~330 m away: not flagged by place.
    far = await receive(session, settings, cal, now, text="流动摊贩占道经营",
                        location={"lat": lat + 0.003, "lon": lon})
    assert far.possible_duplicates == []
    # Another item at the same spot: not a duplicate.
    other = await receive(session, settings, cal, now, text="路灯不亮了",
                          location={"lat": lat, "lon": lon})
    assert other.possible_duplicates == []
    # The same caller about the same item, from elsewhere: flagged.
    caller = {"name": "王建国", "phone": "13812341234"}
    a = await receive(session, settings, cal, now, text="停水了", reporter=caller)
    b = await receive(session, settings, cal, now, text="家里没水了还是停水", reporter=caller)
    assert b.possible_duplicates == [str(a.id)]


async def test_closed_or_old_incidents_are_not_duplicates(
        session: AsyncSession, settings: Settings, now: datetime, world: list[Grid]) -> None:
    grid = world[0]
    spot = {"lat": grid.centroid_lat, "lon": grid.centroid_lon, "item_code": "SJ05001"}
    await make_incident(session, state="closed", **spot)
    await make_incident(session, state="dispatched", now=now - timedelta(hours=100), **spot)
    recent = await make_incident(session, state="dispatched", now=now - timedelta(hours=2),
                                 **spot)
    found = await duplicates.find(session, item_code="SJ05001", lat=grid.centroid_lat,
                                  lon=grid.centroid_lon, phone=None, now=now,
                                  settings=settings.duplicates)
    assert found == [recent.id]


def test_haversine_matches_known_distances() -> None:
    # One degree of latitude is ~111.2 km; Zhuzhou to Changsha is ~50 km.
    assert duplicates.haversine_m(27.0, 113.0, 28.0, 113.0) == pytest.approx(111_195, rel=1e-3)
    assert duplicates.haversine_m(27.83, 113.15, 28.23, 112.94) == pytest.approx(49_000,
                                                                                  rel=0.05)


async def test_hotline_dispatch_enqueues_the_hotline_update(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await intake.receive(
        session, IncidentIn(text="小区停水两天了没人管", grid_code=world[0].code), actor=HOTLINE,
        now=now, cal=cal, settings=settings, channel="hotline_12345", external_id="GD2026112400017")
    messages = (await session.scalars(select(OutboxMessage).where(
        OutboxMessage.incident_id == incident.id))).all()
    assert len(messages) == 1
    payload = messages[0].payload
    assert messages[0].topic == "hotline.update"
    assert messages[0].ordering_key == str(incident.id)
    assert payload["order_no"] == "GD2026112400017"
    assert payload["event"] == "dispatched"
    assert payload["unit_code"] == "WTR"
    assert payload["unit_name"]
    resolve = (await clocks(session, incident))["resolve"]
    assert payload["resolve_due_at"] == resolve.due_at.isoformat()
    # The same order again is refused, naming the incident it already is.
    with pytest.raises(Conflict) as caught:
        await intake.receive(session, IncidentIn(text="小区停水两天了没人管"), actor=HOTLINE,
                             now=now, cal=cal, settings=settings, channel="hotline_12345",
                             external_id="GD2026112400017")
    assert caught.value.extensions["incident_id"] == str(incident.id)


async def test_hotline_order_in_triage_sends_nothing(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await intake.receive(
        session, IncidentIn(text="你好，我想问一下"), actor=HOTLINE, now=now, cal=cal,
        settings=settings, channel="hotline_12345", external_id="GD2026112400018")
    assert incident.state == "triage"
    assert await session.scalar(select(OutboxMessage.id)) is None


async def test_explicit_urgency_overrides_the_item_standard(
        session: AsyncSession, settings: Settings, cal: WorkingCalendar, now: datetime,
        world: list[Grid]) -> None:
    incident = await receive(session, settings, cal, now, text="小区停水", urgent=True,
                             grid_code=world[0].code)
    assert incident.urgency == "urgent"
    assert (await clocks(session, incident))["sign"].basis == "continuous"
