"""ORM base, portable column types, and engine/session factories."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from gridops.settings import DatabaseSettings

NAMING_CONVENTION: Mapping[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=dict(NAMING_CONVENTION))


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on both backends (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


PortableJSON = JSON().with_variant(JSONB(), "postgresql")


def create_engine(db: DatabaseSettings) -> AsyncEngine:
    url = db.url.get_secret_value()
    kwargs: dict[str, Any] = {"echo": db.echo}
    if url.startswith("postgresql"):
        kwargs |= {"pool_size": db.pool_size, "max_overflow": db.max_overflow,
                   "pool_timeout": db.pool_timeout}
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _make_sqlite_behave(engine)
    else:
        _skip_closed_connections(engine)
    return engine


def closed_by_server(dbapi_conn: Any) -> bool:
    """Whether the driver already saw the server close this connection (its socket's end was
    read: a restart, pg_terminate_backend, an idle timeout). Asks nothing of the server."""
    driver = getattr(dbapi_conn, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    return bool(is_closed()) if is_closed is not None else False


def _skip_closed_connections(engine: AsyncEngine) -> None:
    # Instead of pool_pre_ping, which on asyncpg costs three round trips per checkout (BEGIN,
    # `;`, ROLLBACK: three of a create's seven). A connection found closed here is replaced
    # before use. One that dies between checkout and use fails its request with a 503
    # (errors: a disconnect), and SQLAlchemy then invalidates every older pooled connection,
    # so the requests after it connect afresh.
    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if closed_by_server(dbapi_conn):
            raise DisconnectionError("the server closed this pooled connection")


def _make_sqlite_behave(engine: AsyncEngine) -> None:
    # sqlite3 defers BEGIN and ignores foreign keys; without this SAVEPOINTs, FK checks and
    # write locking would differ from PostgreSQL.
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: two writers queue instead of deadlocking.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
