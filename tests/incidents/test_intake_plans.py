"""Plans of intake's reads (PostgreSQL), as a prepared statement's generic plan on a table without
statistics (autovacuum off): the duplicate search uses the partial indexes on open incidents (its
states are literal, so the indexes' predicate is proven), each branch on its own index."""

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


async def _fill(session: AsyncSession, now: datetime) -> None:
    """A few thousand open incidents over a dozen items and the district, no statistics (as
    with autovacuum off): the planner sees only the size of the table and of its indexes."""
    conn = await session.connection()
    await conn.exec_driver_sql(
        "INSERT INTO incident (id, channel, text, lat, lon, item_code, co_units, urgency, "
        "routing, state, version, reporter_phone, reporter_confidential, created_by, "
        "resolved_on_spot, rework_count, return_count, extension_count, possible_duplicates, "
        "created_at, updated_at) "
        "SELECT gen_random_uuid(), 'grid_app', 'x', 27.8 + (n % 97) * 0.002, "
        "113.0 + (n % 89) * 0.002, 'SJ0500' || (n % 12), '[]', 'normal', '{}', 'dispatched', 1, "
        "'139' || lpad(n::text, 8, '0'), false, 'test', false, 0, 0, 0, '[]', $1, $1 "
        "FROM generate_series(1, 4000) AS n", (now,))


@pytest.mark.parametrize("batch", [False, True])
async def test_search_uses_the_open_incident_indexes(
        session: AsyncSession, settings: Settings, now: datetime, batch: bool) -> None:
    await _fill(session, now)
    probe = duplicates.Probe("SJ05001", 27.87, 113.13, "13812341234")
    probes = [probe, *(duplicates.Probe(f"SJ0500{n % 12}", 27.8 + n * 0.003, 113.0 + n * 0.002,
                                        f"1380000{n:04d}") for n in range(60))] \
        if batch else [probe]
    with captured(session) as seen:
        await duplicates.find_many(session, probes, now=now, settings=settings.duplicates)
    [(statement, parameters)] = seen
    plan = await _plan(session, statement, parameters)
    # Each branch (near the point, from the phone) on its own index: with the states bound the
    # predicate could not be proven, with one OR the planner may read the item's every row.
    lines = plan.splitlines()
    place = [n for n, line in enumerate(lines) if "ix_incident_open_item_place" in line]
    assert place, plan
    # The box is searched in the index, not filtered from every open incident of the item.
    assert all("lat >=" in lines[n + 1] and "Index Cond" in lines[n + 1] for n in place), plan
    assert "ix_incident_open_phone_item" in plan, plan

