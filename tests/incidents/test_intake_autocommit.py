"""A plain create on PostgreSQL sends its reads and its one INSERT without BEGIN or COMMIT; a
create with an Idempotency-Key writes more than once and keeps its transaction. On a database of
its own, served by the app's own engine (as deployed): these requests commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gridops.audit import service as audit
from gridops.db import create_engine, create_sessionmaker
from gridops.main import create_app
from gridops.places import service as places
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.builders import grids, load_rules
from tests.conftest import DEMO_PACK, scratch_database

pytestmark = pytest.mark.postgres
URL = "/api/v1/incidents"


@pytest.fixture
async def own_settings(settings: Settings, now: datetime,
                       monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    """A migrated database with the demo district and a rule table, committed; one pooled
    connection, so that every request reuses the last one's."""
    # The process-wide caches of the grid index and the active rules describe other databases.
    monkeypatch.setattr(routing, "_active", routing._Active())
    monkeypatch.setattr(places, "_cache", places._Cached())
    async with scratch_database(settings, pool_size=1, max_overflow=0) as (own, engine):
        async with create_sessionmaker(engine).begin() as session:
            await places.load_pack(session, DEMO_PACK, now=now)
            await load_rules(session, now)
        yield own


@pytest.fixture
async def served(own_settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    """The app on that database, and what its connection was sent: SQLAlchemy's statements and
    asyncpg's simple queries (BEGIN, COMMIT), by their first word."""
    app = create_app(own_settings)
    sent: list[str] = []
    async with app.router.lifespan_context(app):
        engine: AsyncEngine = app.state.engine
        event.listen(engine.sync_engine, "before_cursor_execute",
                     lambda conn, cursor, sql, *args: sent.append(sql.split()[0].upper()))

        logged: set[int] = set()

        def checkout(dbapi_conn: Any, *_: Any) -> None:
            driver = dbapi_conn.driver_connection
            if id(driver) not in logged:
                logged.add(id(driver))
                driver.add_query_logger(
                    lambda record: sent.append(record.query.split()[0].rstrip(";").upper()))
        event.listen(engine.sync_engine.pool, "checkout", checkout)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            yield client, sent


def _report(grid: Any, n: int) -> dict[str, Any]:
    return {"text": f"建设路口有流动摊贩占道经营，堵住了人行道（第{n}次）",
            "location": {"lat": grid.centroid_lat, "lon": grid.centroid_lon}}


async def _grid(settings: Settings) -> Any:
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            return (await grids(session, 1))[0]
    finally:
        await engine.dispose()


async def _stored(settings: Settings, incident_id: str) -> tuple[int, int, bool]:
    """Clocks, events and whether the audit chain verifies, read from another connection."""
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            clocks = await session.scalar(text(
                "SELECT count(*) FROM sla_clock WHERE incident_id = :i"), {"i": incident_id})
            events = await session.scalar(text(
                "SELECT count(*) FROM audit_event WHERE incident_id = :i"), {"i": incident_id})
            report = await audit.verify(session, stream=audit.stream_of(uuid.UUID(incident_id)))
            return int(clocks or 0), int(events or 0), report.ok
    finally:
        await engine.dispose()


@pytest.fixture
async def warmed(served: tuple[httpx.AsyncClient, list[str]], own_settings: Settings,
                 auth: Callable[..., dict[str, str]],
                 ) -> tuple[httpx.AsyncClient, list[str], dict[str, str], Any]:
    """After one plain create (pool, prepared statements, caches warm), with nothing sent yet:
    the client, what its connection is sent, a grid worker's headers and their grid."""
    client, sent = served
    grid = await _grid(own_settings)
    headers = auth("grid_worker", grid=grid.code)
    assert (await client.post(URL, headers=headers, json=_report(grid, 1))).status_code == 201
    sent.clear()
    return client, sent, headers, grid


async def test_a_plain_create_commits_without_begin_or_commit(
        warmed: tuple[httpx.AsyncClient, list[str], dict[str, str], Any],
        own_settings: Settings) -> None:
    client, sent, headers, grid = warmed
    response = await client.post(URL, headers=headers, json=_report(grid, 2))
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "dispatched"
    assert sent == ["SELECT", "WITH"]  # the duplicate search, the one write
    assert await _stored(own_settings, response.json()["id"]) == (2, 2, True)


async def test_a_create_with_an_idempotency_key_keeps_its_transaction(
        warmed: tuple[httpx.AsyncClient, list[str], dict[str, str], Any],
        own_settings: Settings) -> None:
    client, sent, headers, grid = warmed
    # The same pooled connection as the plain create before: the pool reset it.
    keyed = await client.post(URL, headers={**headers, "Idempotency-Key": "k-1"},
                              json=_report(grid, 2))
    assert keyed.status_code == 201, keyed.text
    # (SQLAlchemy's event sees a statement before the driver sends the BEGIN it needs.)
    assert sent.count("BEGIN") == 1, sent
    assert sent[-1] == "COMMIT", sent
    assert "WITH" in sent
    replay = await client.post(URL, headers={**headers, "Idempotency-Key": "k-1"},
                               json=_report(grid, 2))
    assert (replay.status_code, replay.json()["id"]) == (201, keyed.json()["id"])
    assert await _stored(own_settings, keyed.json()["id"]) == (2, 2, True)
