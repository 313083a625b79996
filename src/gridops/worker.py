"""Background work: the SLA sweeper and the outbox drain. Runs inside the API process by default,
or alone as `gridops worker`; any number of copies may run against one PostgreSQL (row locks with
SKIP LOCKED and leases keep them from acting twice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.clock import jobs as clock_jobs
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.db import create_engine, create_sessionmaker
from gridops.hotline import delivery as hotline_delivery
from gridops.ops import logging as ops_logging
from gridops.ops.metrics import Metrics
from gridops.outbox import jobs as outbox_jobs
from gridops.outbox import notify
from gridops.settings import Settings

log = logging.getLogger("gridops.worker")


def deliverers(settings: Settings, client: httpx.AsyncClient) -> dict[str, outbox_jobs.Deliverer]:
    return {"hotline.update": hotline_delivery.make_deliverer(settings.hotline, client),
            "notification": notify.make_deliverer(settings.outbox, client)}


async def _every(name: str, interval: float, stop: asyncio.Event,
                 job: Callable[[], Awaitable[object]], metrics: Metrics | None) -> None:
    while not stop.is_set():
        try:
            await job()
            if metrics:
                metrics.jobs.labels(name, "ok").inc()
        except Exception:  # a failed run is logged and retried next tick; the loop survives
            log.exception("job failed", extra={"job": name})
            if metrics:
                metrics.jobs.labels(name, "error").inc()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def run(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
              calendar: WorkingCalendar, stop: asyncio.Event,
              metrics: Metrics | None = None) -> None:
    async with httpx.AsyncClient() as client:
        targets = deliverers(settings, client)

        async def sweep() -> object:
            return await clock_jobs.sweep(sessionmaker, datetime.now(UTC), calendar, settings)

        async def drain() -> object:
            return await outbox_jobs.drain(sessionmaker, datetime.now(UTC), settings.outbox,
                                           targets, stop)

        await asyncio.gather(
            _every("sla_sweep", settings.sla.sweep_interval_seconds, stop, sweep, metrics),
            _every("outbox_drain", settings.outbox.interval_seconds, stop, drain, metrics),
        )


async def main(settings: Settings) -> None:
    ops_logging.configure(settings.log_level, settings.log_json)
    engine = create_engine(settings.database)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Finish the batch in hand, commit, release row locks, then exit.
        loop.add_signal_handler(sig, stop.set)
    calendar = build_calendar(settings.sla.holiday_overrides_path, timezone=settings.timezone)
    log.info("worker started")
    try:
        await run(create_sessionmaker(engine), settings, calendar, stop)
    finally:
        await engine.dispose()
        log.info("worker stopped")
