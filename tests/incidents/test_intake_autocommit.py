"""A plain create on PostgreSQL sends its reads and its one INSERT without BEGIN or COMMIT, to
asyncpg itself; a create with an Idempotency-Key writes more than once and keeps its transaction.
On a database of its own, served by the app's own engine (as deployed): these requests commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from gridops import db
from gridops.audit import service as audit
from gridops.db import create_engine, create_sessionmaker
from gridops.deps import statements_commit_alone
from gridops.main import create_app
from gridops.places import service as places
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.builders import grids, load_rules, pooled_pids, terminate_backends
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


@dataclass
class Served:
    """The app's client and engine, and what its connection was sent, by first word: all of
    it (asyncpg's query logger: BEGIN, COMMIT, statements sent to asyncpg directly, and
    SQLAlchemy's statements, seen by its event), and SQLAlchemy's statements alone."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    sent: list[str] = field(default_factory=list)
    through_sqlalchemy: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.sent.clear()
        self.through_sqlalchemy.clear()


@pytest.fixture
async def served(own_settings: Settings) -> AsyncIterator[Served]:
    app = create_app(own_settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        engine: AsyncEngine = app.state.engine
        out = Served(client, engine)

        def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
            out.sent.append(sql.split()[0].upper())
            out.through_sqlalchemy.append(sql.split()[0].upper())
        event.listen(engine.sync_engine, "before_cursor_execute", statement)

        logged: set[int] = set()

        def checkout(dbapi_conn: Any, *_: Any) -> None:
            driver = dbapi_conn.driver_connection
            if id(driver) not in logged:
                logged.add(id(driver))
                driver.add_query_logger(
                    lambda record: out.sent.append(record.query.split()[0].rstrip(";").upper()))
        event.listen(engine.sync_engine.pool, "checkout", checkout)
        yield out


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
async def warmed(served: Served, own_settings: Settings, auth: Callable[..., dict[str, str]],
                 ) -> tuple[Served, dict[str, str], Any]:
    """After one plain create (pool, prepared statements, caches warm), with nothing sent yet:
    the app, a grid worker's headers and their grid."""
    grid = await _grid(own_settings)
    headers = auth("grid_worker", grid=grid.code)
    response = await served.client.post(URL, headers=headers, json=_report(grid, 1))
    assert response.status_code == 201
    served.clear()
    return served, headers, grid


async def test_a_plain_create_commits_without_begin_or_commit(
        warmed: tuple[Served, dict[str, str], Any], own_settings: Settings) -> None:
    served, headers, grid = warmed
    response = await served.client.post(URL, headers=headers, json=_report(grid, 2))
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "dispatched"
    assert served.sent == ["SELECT", "WITH"]  # the duplicate search, the one write
    assert served.through_sqlalchemy == []  # both straight to asyncpg
    assert await _stored(own_settings, response.json()["id"]) == (2, 2, True)


async def test_a_create_with_an_idempotency_key_keeps_its_transaction(
        warmed: tuple[Served, dict[str, str], Any], own_settings: Settings) -> None:
    served, headers, grid = warmed
    # The same pooled connection as the plain create before: the pool reset it.
    keyed = await served.client.post(URL, headers={**headers, "Idempotency-Key": "k-1"},
                                     json=_report(grid, 2))
    assert keyed.status_code == 201, keyed.text
    # (SQLAlchemy's event sees a statement before the driver sends the BEGIN it needs.)
    assert served.sent.count("BEGIN") == 1, served.sent
    assert served.sent[-1] == "COMMIT", served.sent
    assert "WITH" in served.through_sqlalchemy  # in SQLAlchemy's transaction
    replay = await served.client.post(URL, headers={**headers, "Idempotency-Key": "k-1"},
                                      json=_report(grid, 2))
    assert (replay.status_code, replay.json()["id"]) == (201, keyed.json()["id"])
    assert await _stored(own_settings, keyed.json()["id"]) == (2, 2, True)


async def _incidents(settings: Settings) -> int:
    engine = create_engine(settings.database)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM incident")) or 0)
    finally:
        await engine.dispose()


async def test_a_connection_dying_under_a_plain_create_is_one_503_then_creates_go_on(
        warmed: tuple[Served, dict[str, str], Any], own_settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    served, headers, grid = warmed
    stored = await _incidents(own_settings)
    # The race the check at checkout cannot win: the backend dies after the connection was
    # handed out and before asyncpg is sent the create's first statement.
    monkeypatch.setattr(db, "closed_by_server", lambda _conn: False)
    await terminate_backends(await pooled_pids(served.engine, 1))
    lost = await served.client.post(URL, headers=headers, json=_report(grid, 2))
    assert lost.status_code == 503, lost.text
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["retry-after"] == "5"
    assert await _incidents(own_settings) == stored
    # The dead connection was invalidated, not handed to the next request.
    again = await served.client.post(URL, headers=headers, json=_report(grid, 3))
    assert again.status_code == 201, again.text
    assert await _incidents(own_settings) == stored + 1
    assert await _stored(own_settings, again.json()["id"]) == (2, 2, True)


async def test_asyncpgs_errors_become_sqlalchemys_and_the_connection_stays(
        own_settings: Settings) -> None:
    engine = create_engine(own_settings.database)
    try:
        async with create_sessionmaker(engine)() as session:
            await statements_commit_alone(session)
            await db.driver_rows(session, "CREATE TABLE probe (k int PRIMARY KEY)", [])
            await db.driver_rows(session, "INSERT INTO probe VALUES ($1)", [1])
            with pytest.raises(IntegrityError):  # a 409 problem, as from SQLAlchemy
                await db.driver_rows(session, "INSERT INTO probe VALUES ($1)", [1])
            with pytest.raises(DBAPIError) as caught:
                await db.driver_rows(session, "SELECT 1 / $1", [0])
            assert not caught.value.connection_invalidated
            # The same connection goes on; each statement committed alone.
            rows = await db.driver_rows(session, "SELECT k FROM probe", [])
            assert [row[0] for row in rows] == [1]
            await session.commit()
            # Once the session gave its connection back, statements are SQLAlchemy's again, in
            # the session's own transaction: a rollback undoes them.
            added = await db.driver_rows(session, "INSERT INTO probe VALUES ($1) RETURNING k", [2])
            assert [row[0] for row in added] == [2]
            await session.rollback()
            assert [row[0] for row in await db.driver_rows(session, "SELECT k FROM probe", [])] \
                == [1]
    finally:
        await engine.dispose()
