"""The duplicate search can use the partial indexes on open incidents (PostgreSQL): its states are
literal, so even a prepared statement's generic plan proves the indexes' predicate."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.incidents import duplicates
from gridops.settings import Settings

pytestmark = pytest.mark.postgres


@contextmanager
def captured(session: AsyncSession) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _literal(value: Any) -> str:
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'::timestamptz"
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(_literal(v) for v in value) + "]" if any(
            v is not None for v in value) else "NULL"
    if isinstance(value, str):
        return f"'{value}'"
    return "NULL" if value is None else repr(value)


async def _plan(session: AsyncSession, statement: str, parameters: Any) -> str:
    conn = await session.connection()
    await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the test table is tiny
    await conn.exec_driver_sql(f"PREPARE duplicate_search AS {statement}")
    try:
        values = ", ".join(_literal(v) for v in parameters)
        rows = await conn.exec_driver_sql(f"EXPLAIN EXECUTE duplicate_search({values})")
        return "\n".join(str(r[0]) for r in rows)
    finally:
        await conn.exec_driver_sql("DEALLOCATE duplicate_search")


@pytest.mark.parametrize("batch", [False, True])
async def test_search_uses_the_open_incident_indexes(
        session: AsyncSession, settings: Settings, now: datetime, batch: bool) -> None:
    probe = duplicates.Probe("SJ05001", 27.87, 113.13, "13812341234")
    probes = [probe, duplicates.Probe("BJ01001", 27.88, 113.14, None)] if batch else [probe]
    with captured(session) as seen:
        await duplicates.find_many(session, probes, now=now, settings=settings.duplicates)
    [(statement, parameters)] = seen
    plan = await _plan(session, statement, parameters)
    # Which of the two the planner picks depends on the table (here nearly empty); that it can
    # pick one means the predicate was proven: with the states bound it could not.
    assert "ix_incident_open_" in plan, plan
