from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from gridops.ops.metrics import Metrics

router = APIRouter(tags=["operations"])
log = logging.getLogger("gridops.ops")


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, Any]


@router.get("/healthz", summary="Process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", summary="Database reachable, schema at head, calendar known",
            responses={503: {"model": Readiness, "description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    ready = True
    try:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
            current = set((await session.scalars(
                text("SELECT version_num FROM alembic_version"))).all())
        checks["database"] = "ok"
        heads = request.app.state.migration_heads
        checks["migrations"] = {"current": sorted(current), "head": sorted(heads)}
        if current != heads:
            ready = False
            checks["migrations"]["status"] = "behind"
        else:
            checks["migrations"]["status"] = "at head"
    except Exception as exc:  # any failure means "not ready", with the reason shown
        ready = False
        checks["database"] = f"unreachable: {type(exc).__name__}"
    calendar = request.app.state.calendar
    year = dt.datetime.now(dt.UTC).year
    unknown = calendar.unknown_years([year, year + 1])
    checks["calendar"] = {"unknown_years": unknown,
                          "warning": ("holidays unknown; Monday–Friday assumed" if unknown
                                      else None)}
    body = Readiness(status="ready" if ready else "not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    await _refresh_gauges(request, registry)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)


_GAUGE_TTL_SECONDS = 10.0


async def _refresh_gauges(request: Request, registry: Metrics) -> None:
    """Counts by state read from the database, at most every few seconds whatever the scrape
    rate; a database outage leaves the last values and never fails the scrape."""
    now = time.monotonic()
    if now - getattr(request.app.state, "gauges_at", -_GAUGE_TTL_SECONDS) < _GAUGE_TTL_SECONDS:
        return
    request.app.state.gauges_at = now
    try:
        async with request.app.state.sessionmaker() as session:
            by_state = (await session.execute(text(
                "SELECT state, count(*) FROM incident GROUP BY state"))).all()
            outbox = (await session.execute(text(
                "SELECT state, count(*) FROM outbox_message WHERE state <> 'delivered' "
                "GROUP BY state"))).all()
            overdue = (await session.execute(text(
                "SELECT count(*) FROM sla_clock WHERE outcome IS NULL AND paused_at IS NULL "
                "AND due_at < :now"), {"now": dt.datetime.now(dt.UTC)})).scalar_one()
    except Exception:  # the scrape must answer even when the database does not
        log.warning("metrics gauges not refreshed", exc_info=True)
        return
    registry.incidents.clear()
    for state, count in by_state:
        registry.incidents.labels(state).set(count)
    registry.outbox.clear()
    for state in ("pending", "parked"):
        registry.outbox.labels(state).set(dict(outbox).get(state, 0))
    registry.overdue.set(overdue)
