"""ORM base, portable column types, and engine/session factories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
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


# --- Statements straight to asyncpg -----------------------------------------------------------

_DRIVER = "gridops.driver"


@dataclass(frozen=True, slots=True)
class _Held:
    conn: AsyncConnection
    driver: Any  # asyncpg.Connection


async def hold_driver(session: AsyncSession, conn: AsyncConnection) -> None:
    """Let `driver_rows` send the session's statements to asyncpg itself while the session
    holds `conn` (a PostgreSQL connection whose statements commit alone: no transaction of
    SQLAlchemy's to begin first)."""
    raw = await conn.get_raw_connection()
    session.info[_DRIVER] = _Held(conn, raw.driver_connection)


async def driver_rows(session: AsyncSession, sql: str, args: Sequence[Any]) -> Sequence[Any]:
    """The rows of `sql` (the driver's SQL, positional parameters), indexable by position.

    On a connection given to `hold_driver`, asyncpg runs it directly: SQLAlchemy's layers
    around one statement (the greenlet hop, the cursor adapter, the execution context, the
    result) cost more CPU than asyncpg's own work (docs/performance.md § Incident creation).
    Its errors become SQLAlchemy's, as `exec_driver_sql` would raise them: a connection found
    closed is invalidated (not handed out again) and is a 503 problem; a constraint is an
    `IntegrityError`. Elsewhere (SQLAlchemy's transaction, SQLite) `exec_driver_sql`."""
    held: _Held | None = session.info.get(_DRIVER)
    if held is None or held.conn.closed or held.conn.invalidated:
        conn = await session.connection()
        return (await conn.exec_driver_sql(sql, tuple(args))).all()
    try:
        rows: Sequence[Any] = await held.driver.fetch(sql, *args)
    except Exception as error:
        raise await _as_sqlalchemy(held, sql, args, error) from error
    return rows


async def _as_sqlalchemy(held: _Held, sql: str, args: Sequence[Any],
                         error: Exception) -> Exception:
    import asyncpg  # type: ignore[import-untyped]  # PostgreSQL only

    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, tuple(args), error)
    if not isinstance(error, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        return error  # cancellation and bugs pass through as they are
    lost = bool(held.driver.is_closed())
    if lost:
        await held.conn.invalidate(error)
    return DBAPIError(sql, tuple(args), error, connection_invalidated=lost)
