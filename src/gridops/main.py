"""`create_app(settings)`: the FastAPI application, built without import-time side effects."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops import api, errors
from gridops.auth.tokens import TokenVerifier
from gridops.clock.calendar import build_calendar
from gridops.db import create_engine, create_sessionmaker
from gridops.ops import logging as ops_logging
from gridops.ops.metrics import Metrics
from gridops.ops.middleware import RequestContext
from gridops.ops.migrations import head_revisions
from gridops.routing import service as routing
from gridops.settings import Settings

log = logging.getLogger("gridops.startup")

DESCRIPTION = """
Dispatch core of a district grid-governance command system (网格化服务管理 · 接诉即办).

Incidents come in from grid workers, the 12345 hotline (signed webhook) and Open311 clients; each is
routed through the versioned item-standard table (事项处置标准) to one accountable unit, or to the
dispatchers' triage queue, and runs its whole life on the Chinese working clock with every step in a
hash-chained audit trail.

Authenticate with `Authorization: Bearer <JWT>`. In development, mint one with
`gridops token --role dispatcher`. Each operation lists the roles it admits (`x-roles`).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="gridops", version="0.1.0", description=DESCRIPTION.strip(),
                  lifespan=_lifespan, openapi_tags=api.TAGS)
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.token_verifier = TokenVerifier(settings.auth)
    app.state.calendar = build_calendar(settings.sla.holiday_overrides_path,
                                        timezone=settings.timezone)
    app.state.migration_heads = head_revisions(settings)
    errors.install_handlers(app, settings.problem_base_uri)
    api.include_routers(app)
    app.add_middleware(RequestContext, metrics=app.state.metrics)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    ops_logging.configure(settings.log_level, settings.log_json)
    engine = create_engine(settings.database)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    worker_task: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    if settings.worker.embedded:
        from gridops import worker

        worker_task = asyncio.create_task(
            worker.run(app.state.sessionmaker, settings, app.state.calendar, stop,
                       metrics=app.state.metrics))
    await _warm_router(app.state.sessionmaker)
    # What start-up made (modules, schemas, mappers: ~190,000 objects) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it (one took
    # 120 ms of CPU, pausing every request in flight, every few thousand creates).
    gc.freeze()
    try:
        yield
    finally:
        stop.set()
        if worker_task is not None:
            # Let the current batch commit and release its row locks before the pool closes.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(worker_task, timeout=10)
        await engine.dispose()


async def _warm_router(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Compile the active rule table before the first request, not in it: the first compile in
    a process also reads the shipped examples (~0.15–0.25 s that the first routed create would
    wait). A database not migrated or without an active table is no reason not to start: the
    first routed request compiles, or answers 503, as without this."""
    try:
        async with sessionmaker() as session:
            rules = await routing.active_rules(session)
    except (errors.Unavailable, SQLAlchemyError, OSError) as exc:
        log.warning("rule table not compiled at start-up (the first routed request will): %s",
                    exc)
        return
    log.info("rule table v%s compiled at start-up", rules.version)
