"""Shared fixtures. The schema comes from the migrations; each test runs inside an outer
transaction that is rolled back; every request gets its own session on that connection."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridops import deps
from gridops.auth.tokens import mint
from gridops.db import create_engine
from gridops.main import create_app
from gridops.ops.migrations import alembic_config
from gridops.settings import DatabaseSettings, Settings

TEST_DB_URL = os.environ.get("GRIDOPS_TEST_DATABASE_URL")
ON_POSTGRES = bool(TEST_DB_URL)
FIXED_NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai, a workday


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="PostgreSQL-only: set GRIDOPS_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)


def _fresh_postgres_url() -> tuple[str, str]:
    """A new database per run (and per xdist worker), dropped afterwards."""
    assert TEST_DB_URL
    url = make_url(TEST_DB_URL)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"gridops_test_{worker}_{uuid.uuid4().hex[:8]}"
    return url.set(database=name).render_as_string(hide_password=False), name


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not ON_POSTGRES:
        # A file, not :memory:, so that tests which need real commits and several connections
        # (workers, concurrency) see one database.
        path = tmp_path_factory.mktemp("db") / "gridops.db"
        yield f"sqlite+aiosqlite:///{path}"
        return
    import asyncio

    import asyncpg

    url, name = _fresh_postgres_url()
    admin = make_url(TEST_DB_URL).set(drivername="postgresql").render_as_string(
        hide_password=False)

    async def admin_sql(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    yield url
    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        database=DatabaseSettings(url=database_url),  # type: ignore[arg-type]
        storage={"path": tmp_path_factory.mktemp("uploads")},  # type: ignore[arg-type]
        worker={"embedded": False},  # type: ignore[arg-type]
        log_json=False,
    )


def _upgrade(conn: Connection, settings: Settings) -> None:
    cfg = alembic_config(settings)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


@asynccontextmanager
async def scratch_database(settings: Settings,
                           **database: Any) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    """A PostgreSQL database of its own, migrated to head, for tests whose transactions must
    really commit (several connections, concurrency); `database` overrides pool settings. The
    engine is disposed and the database dropped afterwards."""
    import asyncpg

    assert TEST_DB_URL
    url, name = _fresh_postgres_url()
    admin = await asyncpg.connect(make_url(TEST_DB_URL).set(
        drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    own = settings.model_copy(update={"database": DatabaseSettings(
        url=url, **database)})  # type: ignore[arg-type]
    engine = create_engine(own.database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, own)
        yield own, engine
    finally:
        await engine.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield async_sessionmaker(bind=conn, join_transaction_mode="create_savepoint",
                                 expire_on_commit=False)
        await outer.rollback()


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as s:
        yield s


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
        now: datetime) -> FastAPI:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker  # ASGITransport does not run the lifespan
    app.dependency_overrides[deps.utcnow] = lambda: now
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as c:
        yield c


@pytest.fixture
def token(settings: Settings) -> Callable[..., str]:
    # Tokens are checked against the real clock (PyJWT), not the app's fixed `now`.
    def make(role: str, subject: str | None = None, **scope: str | None) -> str:
        return mint(settings.auth, subject=subject or f"test-{role}", role=role,
                    now=datetime.now(UTC), **scope)
    return make


@pytest.fixture
def auth(token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def make(role: str, subject: str | None = None, **scope: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, subject, **scope)}"}
    return make


DEMO_PACK = Path(__file__).resolve().parents[1] / "src" / "gridops" / "demo" / "pack"


@pytest.fixture
async def demo_pack(session: AsyncSession, now: datetime) -> Any:
    """The demo district loaded into this test's transaction."""
    from gridops.places import service as places

    return await places.load_pack(session, DEMO_PACK, now=now)


async def count_rows(session: AsyncSession, table: str) -> int:
    return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


CountRows = Callable[[AsyncSession, str], Awaitable[int]]
