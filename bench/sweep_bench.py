"""Time one full SLA sweep over 1,000,000 open clocks of which 1% have just gone overdue.

    .venv/bin/python bench/sweep_bench.py [--rows 1000000] [--share 0.01]

Needs PostgreSQL (GRIDOPS_BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/
postgres). Creates a scratch database, migrates it to head, fills it with INSERT … SELECT
generate_series, then in the same run times (1) a bare
`UPDATE sla_clock SET breached_at = now WHERE due_at <= now` over the overdue rows, rolled back,
and (2) `gridops.clock.jobs.sweep`, which flags the same rows, escalates each to level 1
(督办, unit) and writes one audit event and one outbox notification per flag.
Drops the scratch database at the end (unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from datetime import UTC, datetime

import asyncpg
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from gridops.clock import jobs
from gridops.clock.calendar import build_calendar
from gridops.db import create_engine, create_sessionmaker
from gridops.ops.migrations import alembic_config
from gridops.settings import DatabaseSettings, Settings

BASE_URL = os.environ.get("GRIDOPS_BENCH_DATABASE_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Asia/Shanghai

# The fixed timestamp is formatted in; only row counts are parameters.
_T = f"timestamptz '{NOW.isoformat()}'"
FILL = f"""
INSERT INTO incident (id, channel, text, street_code, unit_code, urgency, state, created_by,
                      co_units, routing, possible_duplicates, version, reporter_confidential,
                      resolved_on_spot, rework_count, return_count, extension_count,
                      created_at, updated_at)
SELECT md5(i::text)::uuid, 'grid_app', '井盖缺失 ' || i, '43020400' || (i % 5 + 1), 'UMLE',
       'normal', 'in_progress', 'bench', '[]', '{{}}', '[]', 1, false, false, 0, 0, 0,
       {_T} - interval '3 days', {_T} - interval '3 days'
FROM generate_series(1, CAST(:rows AS int)) AS i;
INSERT INTO sla_clock (id, incident_id, kind, round, basis, limit_minutes, extended_minutes,
                       unit_code, started_at, due_at, due_soon_at, paused_minutes,
                       escalation_level)
SELECT md5('c' || i::text)::uuid, md5(i::text)::uuid, 'resolve', 1, 'working', 2400, 0, 'UMLE',
       {_T} - interval '3 days',
       CASE WHEN i % CAST(:every AS int) = 0
            THEN {_T} - (i % 7200) * interval '1 second' - interval '1 minute'
            ELSE {_T} + interval '10 days' + (i % 86400) * interval '1 second' END,
       CASE WHEN i % CAST(:every AS int) = 0 THEN {_T} - interval '1 day'
            ELSE {_T} + interval '8 days' + (i % 86400) * interval '1 second' END,
       0, 0
FROM generate_series(1, CAST(:rows AS int)) AS i;
"""

BARE = ("UPDATE sla_clock SET breached_at = CAST(:now AS timestamptz) "
        "WHERE outcome IS NULL AND due_at <= :now")


def _upgrade(conn: Connection, settings: Settings) -> None:
    cfg = alembic_config(settings)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(make_url(BASE_URL).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main(rows: int, share: float, keep: bool = False) -> None:
    name = f"gridops_bench_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    print(f"database {name}")
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database=DatabaseSettings(url=url),  # type: ignore[arg-type,call-arg]
                        worker={"embedded": False})  # type: ignore[arg-type]
    engine = create_engine(settings.database)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, settings)
        started = time.perf_counter()
        params = {"rows": rows, "every": round(1 / share)}
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO unit (code, name_zh, name_en, owns_examples) "
                                    "VALUES ('UMLE', '城管', 'Urban management', '')"))
            for statement in FILL.split(";"):
                if statement.strip():
                    await conn.execute(text(statement), params)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE incident"))
            await conn.execute(text("VACUUM ANALYZE sla_clock"))
        print(f"filled {rows:,} incidents and clocks in {time.perf_counter() - started:.1f} s")

        async with engine.connect() as conn:
            trans = await conn.begin()
            t0 = time.perf_counter()
            bare = (await conn.execute(text(BARE), {"now": NOW})).rowcount
            bare_s = time.perf_counter() - t0
            await trans.rollback()

        cal = build_calendar()
        maker = create_sessionmaker(engine)
        profile = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        t0 = time.perf_counter()
        report = await jobs.sweep(maker, NOW, cal, settings)
        sweep_s = time.perf_counter() - t0
        if profile is not None:
            profile.disable()
            profile.print_stats("tottime")

        print(f"bare UPDATE: {bare:,} rows in {bare_s * 1000:.0f} ms")
        print(f"sweep: {report.overdue:,} overdue, {report.escalated:,} escalated, "
              f"{report.due_soon:,} due soon, {report.batches} batches "
              f"(batch {settings.sla.sweep_batch}) in {sweep_s * 1000:.0f} ms")
        print(f"ratio sweep / bare UPDATE: {sweep_s / bare_s:.1f}x")
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}")
    finally:
        await engine.dispose()
        if not keep:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="leave the scratch database")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.share, args.keep))
