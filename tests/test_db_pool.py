"""The connection pool of a running app (its own engine, as the lifespan builds it): connections
the server closed are replaced, one that dies mid-request is a 503, and so is a pool that stays
busy past its timeout; never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from gridops import db, deps
from gridops.main import create_app
from gridops.settings import DatabaseSettings, Settings
from tests.builders import pooled_pids, terminate_backends

LIST = "/api/v1/incidents"


@pytest.fixture
async def served(settings: Settings, engine: AsyncEngine,  # engine: the schema is migrated
                 ) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan run: its own engine and pool on the test database."""
    database = DatabaseSettings(url=settings.database.url, pool_size=3, max_overflow=0,
                                pool_timeout=0.5)
    app = create_app(settings.model_copy(update={"database": database}))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield app, client


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["type"].endswith("/unavailable")


@pytest.mark.postgres
async def test_connections_the_server_closed_are_replaced_before_use(
        served: tuple[FastAPI, httpx.AsyncClient], auth: Callable[..., dict[str, str]]) -> None:
    app, client = served
    pids = await pooled_pids(app.state.engine, 3)
    await terminate_backends(pids)
    await asyncio.sleep(0.05)  # the event loop reads each socket's end
    for _ in range(4):
        response = await client.get(LIST, headers=auth("dispatcher"))
        assert response.status_code == 200, response.text
    assert set(await pooled_pids(app.state.engine, 3)).isdisjoint(pids)


@pytest.mark.postgres
async def test_a_connection_dying_unseen_is_one_503_then_the_pool_recovers(
        served: tuple[FastAPI, httpx.AsyncClient], auth: Callable[..., dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    app, client = served
    pids = await pooled_pids(app.state.engine, 3)
    # The race the check at checkout cannot win: the backend dies after the connection was
    # handed out and before it is used.
    monkeypatch.setattr(db, "closed_by_server", lambda _conn: False)
    await terminate_backends(pids)
    _assert_unavailable(await client.get(LIST, headers=auth("dispatcher")))
    # The failure invalidated every older pooled connection: the rest reconnect.
    for _ in range(4):
        response = await client.get(LIST, headers=auth("dispatcher"))
        assert response.status_code == 200, response.text


@pytest.mark.postgres
async def test_a_pool_busy_past_its_timeout_is_503(
        served: tuple[FastAPI, httpx.AsyncClient], auth: Callable[..., dict[str, str]]) -> None:
    app, client = served
    engine: AsyncEngine = app.state.engine
    held = [await engine.connect() for _ in range(3)]  # the whole pool, no overflow
    try:
        _assert_unavailable(await client.get(LIST, headers=auth("dispatcher")))
    finally:
        for conn in held:
            await conn.close()
    response = await client.get(LIST, headers=auth("dispatcher"))
    assert response.status_code == 200, response.text


async def test_pool_timeout_is_a_503_problem_on_any_backend(
        app: FastAPI, client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]) -> None:
    async def no_connection() -> Any:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")
        yield  # pragma: no cover - a generator, as the dependency it replaces

    app.dependency_overrides[deps._transaction] = no_connection
    _assert_unavailable(await client.get(LIST, headers=auth("dispatcher")))


async def test_a_server_out_of_connection_slots_is_a_503_problem(
        app: FastAPI, client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]) -> None:
    # What asyncpg's TooManyConnectionsError becomes through SQLAlchemy when PostgreSQL is at
    # max_connections: seen as a 500 under three benchmark servers at once.
    refused = Exception("sorry, too many clients already")

    async def no_connection() -> Any:
        raise DBAPIError("connect", None, refused)
        yield  # pragma: no cover - a generator, as the dependency it replaces

    app.dependency_overrides[deps._transaction] = no_connection
    _assert_unavailable(await client.get(LIST, headers=auth("dispatcher")))
