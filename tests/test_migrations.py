"""The schema comes only from the migrations: they must match the models and run both ways."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gridops import models
from gridops.ops.migrations import alembic_config
from gridops.settings import Settings


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, models.Base.metadata))


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


def _round_trip(conn: Connection, settings: Settings) -> None:
    cfg = alembic_config(settings)
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "-1")
    command.upgrade(cfg, "head")


async def test_upgrade_downgrade_upgrade(engine: AsyncEngine, settings: Settings) -> None:
    # Runs inside a transaction that is rolled back, so the session's schema is untouched
    # (PostgreSQL and SQLite both have transactional DDL).
    async with engine.connect() as conn:
        trans = await conn.begin()
        await conn.run_sync(_round_trip, settings)
        diff = await conn.run_sync(_diff)
        await trans.rollback()
    assert diff == []
