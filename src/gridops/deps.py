"""Request-scoped dependencies: the transaction, the clock, the settings, the calendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops import db
from gridops.settings import Settings

if TYPE_CHECKING:
    from gridops.clock.calendar import WorkingCalendar


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    # Commit happens when the endpoint returns, before the response is sent (scope="function"),
    # so a client told "created" can rely on it; any exception rolls everything back.
    async with request.app.state.sessionmaker() as session, session.begin():
        yield session


async def statements_commit_alone(session: AsyncSession) -> None:
    """From here on, each statement of the request's session commits by itself: no BEGIN, no
    COMMIT, two round trips fewer (of a plain create's four). Only for a request whose writes
    are one statement, atomic by itself, and whose reads need no snapshot shared with it (at
    READ COMMITTED each statement of a transaction takes its own anyway). PostgreSQL sessions
    on the engine only: SQLite writes one statement per table, and a session on a caller's
    connection (tests) lives in the caller's transaction. Before the session's first statement;
    the pool resets the connection for the next request."""
    bind = session.bind
    if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
        conn = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        # With no transaction of SQLAlchemy's to keep, statements can go to asyncpg itself.
        await db.hold_driver(session, conn)


# Plain `def` dependencies run in a thread pool; these are trivial, so they are async.
async def utcnow() -> datetime:
    """The request's notion of now; tests override this dependency."""
    return datetime.now(UTC)


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _calendar(request: Request) -> Any:
    return request.app.state.calendar


Session = Annotated[AsyncSession, Depends(_transaction, scope="function")]
Now = Annotated[datetime, Depends(utcnow)]
AppSettings = Annotated[Settings, Depends(_settings)]
Calendar = Annotated["WorkingCalendar", Depends(_calendar)]
