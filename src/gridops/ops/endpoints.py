from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from gridops.ops.metrics import Metrics

router = APIRouter(tags=["operations"])


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
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
