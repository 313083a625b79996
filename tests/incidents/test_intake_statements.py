"""Round trips per create, pinned: every statement a routed create sends to the database is
counted on the engine, so a change that adds a query (a reload, a cache check) fails here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops.audit import service as audit
from gridops.errors import Unavailable
from gridops.incidents import duplicates
from gridops.places import service as places
from gridops.places.models import Grid
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.builders import grids, load_rules, make_incident

URL = "/api/v1/incidents"
Auth = Callable[..., dict[str, str]]
# Transaction control is not a query of the create; SQLite's fixture adds savepoints.
_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@pytest.fixture
async def world(session: AsyncSession, demo_pack: Any, now: datetime) -> list[Grid]:
    await load_rules(session, now)
    return await grids(session, 2)


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(_CONTROL):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


def stall(grid: Grid, n: int) -> dict[str, Any]:
    return {"text": f"建设路口有流动摊贩占道经营，堵住了人行道（第{n}次）",
            "location": {"lat": grid.centroid_lat, "lon": grid.centroid_lon},
            "reporter": {"name": "王建国", "phone": f"1381234{n:04d}"}}


async def test_routed_create_needs_few_statements(
        client: httpx.AsyncClient, auth: Auth, engine: AsyncEngine, session: AsyncSession,
        world: list[Grid]) -> None:
    grid = world[0]
    headers = auth("grid_worker", grid=grid.code)
    warm = await client.post(URL, headers=headers, json=stall(grid, 1))  # caches filled
    assert warm.status_code == 201, warm.text[:2000]
    with counted(engine) as statements:
        response = await client.post(URL, headers=headers, json=stall(grid, 2))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "dispatched"
    assert [c["kind"] for c in body["clocks"]] == ["sign", "resolve"]
    assert body["possible_duplicates"] == [warm.json()["id"]]
    verbs = [" ".join(s.split()[:3]) for s in statements]
    # Two version checks (a session on a connection always checks; requests trust a check for
    # a second), the duplicate search, then the writes: no reloads, no chain heads. PostgreSQL
    # writes the incident, its clocks and its events in one statement, SQLite one per table.
    # The duplicate search: near the point, or from the phone (two branches joined).
    checks = ["SELECT pack_load.id FROM", "SELECT ruleset.version, ruleset.checksum",
              "SELECT anon_1.id, anon_1.created_at,"]
    if engine.dialect.name == "postgresql":
        assert verbs == [*checks, "WITH inserted AS"], statements
    else:
        assert verbs == [*checks, "INSERT INTO incident", "INSERT INTO sla_clock",
                         "INSERT INTO audit_event"], statements
    # Both events written in one INSERT without a head look-up still form a valid chain.
    report = await audit.verify(session, stream=audit.stream_of(uuid.UUID(body["id"])))
    assert (report.ok, report.events) == (True, 2)


async def test_requests_trust_the_version_checks_for_a_second(
        engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    rules, index = object(), object()
    monkeypatch.setattr(routing, "_active", routing._Active(
        rules, time.monotonic()))  # type: ignore[arg-type]
    monkeypatch.setattr(places, "_cache", places._Cached(
        uuid.uuid4(), index, time.monotonic()))  # type: ignore[arg-type]
    async with AsyncSession(engine) as on_engine:
        with counted(engine) as statements:
            assert await routing.active_rules(on_engine) is rules
            assert await places.current_index(on_engine) is index
        assert statements == []
        # Past the bound the database is asked again (no table is active in it).
        monkeypatch.setattr(routing._active, "checked",
                            time.monotonic() - routing.TRUST_SECONDS)
        with counted(engine) as statements, pytest.raises(Unavailable):
            await routing.active_rules(on_engine)
        assert len(statements) == 1
        await on_engine.rollback()
    # A session on a connection (an outer transaction, as in tests) always asks.
    monkeypatch.setattr(routing._active, "checked", time.monotonic())
    async with engine.connect() as conn, AsyncSession(bind=conn) as on_connection:
        with counted(engine) as statements, pytest.raises(Unavailable):
            await routing.active_rules(on_connection)
        assert len(statements) == 1


async def test_duplicate_search_pages_past_box_corners_to_the_newest_in_the_circle(
        session: AsyncSession, settings: Settings, now: datetime, world: list[Grid]) -> None:
    """The newest open reports of the item sit in a corner of the search box (inside the box,
    outside the radius): the search reads on, page by page, to the newest that are close."""
    grid = world[0]
    lat, lon = grid.centroid_lat, grid.centroid_lon
    corner = settings.duplicates.radius_m * 0.9 / duplicates.METRES_PER_DEG_LAT  # ~127 m away
    for minutes in range(1, 131):
        await make_incident(session, state="dispatched", item_code="SJ05001",
                            lat=lat + corner, lon=lon + corner * 1.2,
                            now=now - timedelta(minutes=minutes))
    near = [await make_incident(session, state="dispatched", item_code="SJ05001", lat=lat,
                                lon=lon, now=now - timedelta(hours=1, minutes=m))
            for m in range(1, duplicates.MAX_FLAGGED + 3)]
    found = await duplicates.find(session, item_code="SJ05001", lat=lat, lon=lon, phone=None,
                                  now=now, settings=settings.duplicates)
    assert found == [i.id for i in near[:duplicates.MAX_FLAGGED]]
