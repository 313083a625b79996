"""Request-scoped dependencies: the transaction, the clock, the settings, the calendar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.settings import Settings

if TYPE_CHECKING:
    from gridops.clock.calendar import WorkingCalendar


async def _transaction(request: Request) -> AsyncIterator[AsyncSession]:
    # Commit happens when the endpoint returns, before the response is sent (scope="function"),
    # so a client told "created" can rely on it; any exception rolls everything back.
    async with request.app.state.sessionmaker() as session, session.begin():
        yield session


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
