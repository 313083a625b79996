"""The baseline of bench/create_bench.py: the least a FastAPI endpoint can do to store a report —
validate a small JSON body, insert one row with asyncpg, answer 201 with the row's id.

    BARE_DSN=postgresql://postgres@127.0.0.1:5432/DB \\
        .venv/bin/uvicorn bare_app:app --app-dir bench --workers 2 --port 8100
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel, Field

DDL = """CREATE TABLE IF NOT EXISTS bare_report (
    id uuid PRIMARY KEY, text text NOT NULL, lat double precision, lon double precision,
    created_at timestamptz NOT NULL)"""


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ReportIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
    location: Location | None = None


class ReportOut(BaseModel):
    id: uuid.UUID
    created_at: datetime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The same ceiling as gridops' pool (GRIDOPS_DATABASE__POOL_SIZE, 20 by default, no
    # overflow); create_bench lowers both when it serves three targets.
    pool = await asyncpg.create_pool(os.environ["BARE_DSN"], min_size=2,
                                     max_size=int(os.environ.get("BARE_POOL_SIZE", "20")))
    async with pool.acquire() as conn:
        await conn.execute(DDL)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/readyz")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/reports", status_code=201)
async def create_report(body: ReportIn) -> ReportOut:
    row_id, now = uuid.uuid4(), datetime.now(UTC)
    lat, lon = (body.location.lat, body.location.lon) if body.location else (None, None)
    async with app.state.pool.acquire() as conn:
        await conn.execute("INSERT INTO bare_report VALUES ($1, $2, $3, $4, $5)",
                           row_id, body.text, lat, lon, now)
    return ReportOut(id=row_id, created_at=now)
