"""Time one full SLA sweep over 1,000,000 open clocks of which 1% have just gone overdue.

    .venv/bin/python bench/sweep_bench.py [--rows 1000000] [--share 0.01] [--keep]
    .venv/bin/python bench/sweep_bench.py --reuse gridops_sweep_bench_xxxxxxxx [--runs 3]
                                          [--batch N]

Needs PostgreSQL (GRIDOPS_BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/
postgres). Creates a scratch database, migrates it to head, fills it with INSERT … SELECT
generate_series: every incident has a running resolve clock and its `incident.received` audit
event (a genuine chain head, hashed in SQL exactly as `audit.digest` does). Each run then resets
what an earlier sweep wrote, vacuums, and times (1) a bare
`UPDATE sla_clock SET breached_at = now WHERE outcome IS NULL AND due_at <= now` over the overdue
rows, rolled back, and (2) `gridops.clock.jobs.sweep` with the default settings, which flags the
same rows, escalates each to level 1 (督办, unit) and writes the audit events and outbox
notifications. After each run it checks one event and one notification per flag and verifies the
audit chains of a sample of the flagged incidents.
`--keep` leaves the database for `--reuse` (which also migrates it to head first, so a new index
is measured on the same data); otherwise it is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from datetime import UTC, datetime

import _server as srv
import asyncpg
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.clock import jobs
from gridops.clock.calendar import build_calendar
from gridops.db import create_engine, create_sessionmaker
from gridops.ops.migrations import alembic_config
from gridops.settings import DatabaseSettings, Settings

BASE_URL = os.environ.get("GRIDOPS_BENCH_DATABASE_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Asia/Shanghai

# The fixed timestamp is formatted in; only row counts are parameters ($1 rows, $2 every).
_T = f"timestamptz '{NOW.isoformat()}'"
_RECEIVED_AT = "2026-11-21T02:00:00.000000+00:00"  # NOW - 3 days, as audit.digest formats it
_GENESIS = "0" * 64
FILL = [f"""
INSERT INTO incident (id, channel, text, street_code, unit_code, urgency, state, created_by,
                      co_units, routing, possible_duplicates, version, reporter_confidential,
                      resolved_on_spot, rework_count, return_count, extension_count,
                      created_at, updated_at)
SELECT md5(i::text)::uuid, 'grid_app', '井盖缺失 ' || i, '43020400' || (i % 5 + 1), 'UMLE',
       'normal', 'in_progress', 'bench', '[]', '{{}}', '[]', 1, false, false, 0, 0, 0,
       {_T} - interval '3 days', {_T} - interval '3 days'
FROM generate_series(1, $1::int) AS i""", f"""
INSERT INTO sla_clock (id, incident_id, kind, round, basis, limit_minutes, extended_minutes,
                       unit_code, started_at, due_at, due_soon_at, paused_minutes,
                       escalation_level)
SELECT md5('c' || i::text)::uuid, md5(i::text)::uuid, 'resolve', 1, 'working', 2400, 0, 'UMLE',
       {_T} - interval '3 days',
       CASE WHEN i % $2::int = 0
            THEN {_T} - (i % 7200) * interval '1 second' - interval '1 minute'
            ELSE {_T} + interval '10 days' + (i % 86400) * interval '1 second' END,
       CASE WHEN i % $2::int = 0 THEN {_T} - interval '1 day'
            ELSE {_T} + interval '8 days' + (i % 86400) * interval '1 second' END,
       0, 0
FROM generate_series(1, $1::int) AS i""", f"""
INSERT INTO audit_event (stream, seq, incident_id, at, actor_role, actor_unit, actor_subject,
                         action, to_state, changes, prev_hash, hash)
SELECT 'incident:' || u, 1, u::uuid, {_T} - interval '3 days', 'grid_worker', NULL, 'bench',
       'incident.received', 'in_progress', '{{}}', '{_GENESIS}',
       encode(sha256(convert_to(
           '{{"action":"incident.received","actor":["grid_worker",null,"bench"],'
           || '"at":"{_RECEIVED_AT}","changes":{{}},"from":null,"incident_id":"' || u
           || '","note":null,"prev":"{_GENESIS}","seq":1,"stream":"incident:' || u
           || '","to":"in_progress"}}', 'UTF8')), 'hex')
FROM (SELECT md5(i::text)::uuid::text AS u FROM generate_series(1, $1::int) AS i) AS s"""]

# Undo an earlier sweep so every run starts from the same state. audit_event refuses DELETE by
# trigger; replica mode (superuser) skips triggers.
RESET = """
SET session_replication_role = replica;
DELETE FROM audit_event WHERE action LIKE 'sla.%';
SET session_replication_role = DEFAULT;
TRUNCATE outbox_message;
UPDATE sla_clock SET warned_at = NULL, breached_at = NULL, escalation_level = 0,
                     escalated_at = NULL
WHERE warned_at IS NOT NULL OR breached_at IS NOT NULL OR escalation_level > 0;
"""
VACUUM = ["VACUUM ANALYZE incident", "VACUUM ANALYZE sla_clock", "VACUUM ANALYZE audit_event",
          "VACUUM ANALYZE outbox_message"]

BARE = ("UPDATE sla_clock SET breached_at = CAST(:now AS timestamptz) "
        "WHERE outcome IS NULL AND due_at <= :now")


def _upgrade(conn: Connection, settings: Settings) -> None:
    cfg = alembic_config(settings)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _dsn(database: str) -> str:
    return (make_url(BASE_URL).set(drivername="postgresql", database=database)
            .render_as_string(hide_password=False))


async def _run_sql(database: str, *statements: str, args: tuple[object, ...] = ()) -> None:
    conn = await asyncpg.connect(_dsn(database))
    try:
        for sql in statements:
            await (conn.execute(sql, *args) if args else conn.execute(sql))
    finally:
        await conn.close()


async def _fill(name: str, rows: int, share: float) -> None:
    started = time.perf_counter()
    conn = await asyncpg.connect(_dsn(name))
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO unit (code, name_zh, name_en, owns_examples) "
                               "VALUES ('UMLE', '城管', 'Urban management', '')")
            for sql in FILL:
                args = (rows, round(1 / share)) if "$2" in sql else (rows,)
                await conn.execute(sql, *args)
    finally:
        await conn.close()
    print(f"filled {rows:,} incidents, clocks and audit events in "
          f"{time.perf_counter() - started:.1f} s")


async def _check(maker: async_sessionmaker[AsyncSession], report: jobs.SweepReport,
                 sample: int = 200) -> str:
    """One event and one notification per flag; the chains of a sample of flagged incidents
    verify (the sweep appended to heads written by SQL, so this also checks the hashing)."""
    async with maker() as session:
        events = await session.scalar(text(
            "SELECT count(*) FROM audit_event WHERE action LIKE 'sla.%'"))
        messages = await session.scalar(text("SELECT count(*) FROM outbox_message"))
        streams = (await session.scalars(
            select(AuditEvent.stream).where(AuditEvent.action.like("sla.%"))
            .distinct().limit(sample))).all()
        broken = 0
        for stream in streams:
            broken += len((await audit.verify(session, stream=stream)).breaks)
    flags = report.flagged
    ok = events == flags == messages and broken == 0 and bool(streams)
    return (f"{'ok' if ok else 'FAILED'}: {flags:,} flags, {events:,} audit events, "
            f"{messages:,} notifications; {len(streams)} chains verified, {broken} broken")


async def _wal() -> int:
    """Bytes of WAL written so far, server-wide (the machine is shared: an upper bound)."""
    conn = await asyncpg.connect(_dsn("postgres"))
    try:
        return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
    finally:
        await conn.close()


def _delta(before: float | None, after: float | None) -> float | None:
    return None if after is None else after - (before or 0.0)


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


async def _measure(settings: Settings, name: str) -> tuple[float, float]:
    # Each timed part starts right after a checkpoint, so neither pays for the other's dirty
    # pages or a checkpoint falling in the middle of it (full-page images in the WAL).
    await _run_sql(name, RESET, *VACUUM, "CHECKPOINT")
    engine = create_engine(settings.database)
    try:
        wal = await _wal()
        async with engine.connect() as conn:
            trans = await conn.begin()
            server = srv.database_cpu(name)
            t0 = time.perf_counter()
            bare = (await conn.execute(text(BARE), {"now": NOW})).rowcount
            bare_s = time.perf_counter() - t0
            bare_server = _delta(server, srv.database_cpu(name))
            await trans.rollback()
        bare_wal = await _wal() - wal
        # The rolled-back row versions are not the sweep's to step over.
        await _run_sql(name, "VACUUM sla_clock", "CHECKPOINT")

        cal = build_calendar()
        maker = create_sessionmaker(engine)
        load = os.getloadavg()
        wal = await _wal()
        server, t0, c0 = srv.database_cpu(name), time.perf_counter(), time.process_time()
        report = await jobs.sweep(maker, NOW, cal, settings)
        sweep_s, client = time.perf_counter() - t0, time.process_time() - c0
        # Before the pool closes: a server process that has exited no longer counts.
        sweep_server = _delta(server, srv.database_cpu(name))
        sweep_wal = await _wal() - wal
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the sweep")
        print(f"bare UPDATE: {bare:,} rows in {bare_s * 1000:.0f} ms, "
              f"WAL {bare_wal / 2**20:.0f} MiB, server CPU {_ms(bare_server)}")
        print(f"sweep: {report.overdue:,} overdue, {report.escalated:,} escalated, "
              f"{report.due_soon:,} due soon, {report.batches} batches "
              f"(batch {settings.sla.sweep_batch}) in {sweep_s * 1000:.0f} ms, "
              f"WAL {sweep_wal / 2**20:.0f} MiB, server CPU {_ms(sweep_server)}, "
              f"client CPU {_ms(client)}")
        print(f"ratio sweep / bare UPDATE: {sweep_s / bare_s:.2f}x")
        print(f"check {await _check(maker, report)}")
        return bare_s, sweep_s
    finally:
        await engine.dispose()


async def main(rows: int, share: float, keep: bool, reuse: str | None, runs: int,
               batch: int | None) -> None:
    name = reuse or f"gridops_sweep_bench_{uuid.uuid4().hex[:8]}"
    if not reuse:
        await _run_sql("postgres", f'CREATE DATABASE "{name}"')
    print(f"database {name}")
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database=DatabaseSettings(url=url),  # type: ignore[arg-type,call-arg]
                        worker={"embedded": False})  # type: ignore[arg-type]
    if batch:
        settings.sla.sweep_batch = batch
    try:
        engine = create_engine(settings.database)
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, settings)
        await engine.dispose()
        if not reuse:
            await _fill(name, rows, share)
        results = [await _measure(settings, name) for _ in range(runs)]
        ratios = sorted(s / b for b, s in results)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}; sweeps "
              f"{', '.join(f'{s * 1000:.0f}' for _, s in results)} ms; median ratio "
              f"{ratios[len(ratios) // 2]:.2f}x")
    finally:
        if not keep and not reuse:
            await _run_sql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="leave the scratch database")
    parser.add_argument("--reuse", help="measure this kept database again (no fill, not dropped)")
    parser.add_argument("--runs", type=int, default=1, help="reset and sweep this many times")
    parser.add_argument("--batch", type=int, help="sweep page size (default: the setting's)")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.share, args.keep, args.reuse, args.runs, args.batch))
