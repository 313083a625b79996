"""Time the weekly review on a year of history, against the plain SQL aggregate over the same rows.

    .venv/bin/python bench/review_bench.py --backend postgres [--incidents 1000000]
    .venv/bin/python bench/review_bench.py --backend sqlite [--incidents 100000]

A fresh database (PostgreSQL: a scratch database on GRIDOPS_BENCH_DATABASE_URL, default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; SQLite: a temporary file) is migrated to
head, the demo district and rule table are loaded, and a bulk generator writes incidents over 52
weeks with the shape `gridops simulate` gives them (per incident: its sign and resolve clocks,
its audit events received → dispatched → accepted → resolved → verified or callback, returns,
extensions and reworks in proportion), by COPY on PostgreSQL and executemany on SQLite. Then, in
the same run, for the last complete week, in turns (--rounds, after a warm-up): the plain SQL
aggregate (three GROUP BY statements over the week's incidents, clocks and audit events, no
attribution), the review in all four scopes from one pass (service.weekly_all), and the review
of each scope alone (service.weekly, one request); each with its ratio to the plain aggregate of
the same turn.

    .venv/bin/python bench/review_bench.py --backend postgres --keep   # keep the database
    .venv/bin/python bench/review_bench.py --backend postgres --reuse gridops_review_bench_XXXX
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import _server as srv
import asyncpg
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from gridops.auth.actor import Actor, Role
from gridops.clock.calendar import build_calendar
from gridops.db import create_engine, create_sessionmaker
from gridops.ops.migrations import alembic_config
from gridops.places import service as places
from gridops.review import service
from gridops.review.week import last_complete
from gridops.routing import service as routing
from gridops.settings import DatabaseSettings, Settings

BASE_URL = os.environ.get("GRIDOPS_BENCH_DATABASE_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Asia/Shanghai
DEMO = Path(__file__).resolve().parents[1] / "src" / "gridops" / "demo"
LEADER = Actor(subject="bench-leader", role=Role.leader)
CHUNK = 20_000

INCIDENT = ("id", "channel", "text", "grid_code", "community_code", "street_code", "item_code",
            "item_name", "unit_code", "assigned_street_code", "co_units", "urgency", "routing",
            "state", "version", "reporter_confidential", "created_by", "resolved_on_spot",
            "rework_count", "return_count", "extension_count", "possible_duplicates",
            "created_at", "updated_at", "dispatched_at", "accepted_at", "resolved_at",
            "closed_at", "callback_resolved", "callback_satisfaction")
CLOCK = ("id", "incident_id", "kind", "round", "basis", "limit_minutes", "extended_minutes",
         "unit_code", "started_at", "due_at", "due_soon_at", "paused_minutes", "stopped_at",
         "outcome", "escalation_level")
AUDIT = ("stream", "seq", "incident_id", "at", "actor_role", "actor_subject", "action",
         "from_state", "to_state", "changes", "prev_hash", "hash")
REQUEST = ("id", "incident_id", "kind", "state", "unit_code", "reason", "hours",
           "requested_by", "requested_at", "decided_by", "decided_at")
H = "0" * 64


class Generator:
    """Rows of the shape the simulator makes, fast: no routing, no working-clock arithmetic."""

    def __init__(self, n: int, seed: int, grids: list[tuple[str, str, str]],
                 items: list[tuple[str, str, str]]) -> None:
        self.n, self.rng, self.grids, self.items = n, random.Random(seed), grids, items
        self.start = NOW - timedelta(weeks=52)

    def chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
        for first in range(0, self.n, CHUNK):
            out: tuple[list[tuple[Any, ...]], ...] = ([], [], [], [])
            for i in range(first, min(self.n, first + CHUNK)):
                self._one(i, *out)
            yield out

    def _one(self, i: int, incs: list[Any], clocks: list[Any], events: list[Any],
             requests: list[Any]) -> None:
        r = self.rng
        created = self.start + (NOW - self.start) * ((i + r.random()) / self.n)
        grid, community, street = r.choice(self.grids)
        item, name, unit = r.choice(self.items)
        iid = uuid.UUID(int=r.getrandbits(128))
        accepted = created + timedelta(hours=r.uniform(0.1, 3.0))
        resolved = created + timedelta(hours=r.uniform(2, 100))
        closed = resolved + timedelta(hours=r.uniform(1, 30))
        roll = r.random()
        # Almost everything older than a month is closed; the backlog is recent (逾期清零).
        stuck = 0.05 if NOW - created < timedelta(weeks=4) else 0.021
        state = ("merged" if roll < 0.01 else "voided" if roll < 0.02
                 else "in_progress" if roll < stuck or resolved > NOW
                 else "resolved" if roll < 0.08 or closed > NOW else "closed")
        if accepted > NOW:
            state = "dispatched"
        rework = state == "closed" and r.random() < 0.07
        returned = r.random() < 0.05
        extended = state in ("in_progress", "closed") and r.random() < 0.08
        happy = r.choice(("satisfied",) * 15 + ("basic",) * 3 + ("unsatisfied",) * 2)
        done = state in ("resolved", "closed")
        incs.append((iid, "hotline_12345" if i % 5 < 3 else "grid_app", "模拟诉求", grid,
                     community, street, item, name, unit, street if unit == "STR" else None,
                     "[]", "normal", "{}", state, 5, False, "bench", False, int(rework),
                     int(returned), int(extended), "[]", created, created, created,
                     accepted if state != "dispatched" else None, resolved if done else None,
                     closed if state == "closed" else None,
                     (happy != "unsatisfied") if state == "closed" else None,
                     happy if state == "closed" else None))
        signed = state != "dispatched"
        sign_due = created + timedelta(hours=2)
        clocks.append((uuid.UUID(int=r.getrandbits(128)), iid, "sign", 1, "working", 120.0, 0.0,
                       unit, created, sign_due, sign_due, 0.0, accepted if signed else None,
                       ("met" if accepted <= sign_due else "missed") if signed else None, 0))
        due = created + timedelta(hours=72 + (16 if extended else 0))
        gone = state in ("merged", "voided")
        clocks.append((uuid.UUID(int=r.getrandbits(128)), iid, "resolve", 1, "working", 1440.0,
                       480.0 if extended else 0.0, unit, created, due, due, 0.0,
                       resolved if done else (created + timedelta(hours=1) if gone else None),
                       ("met" if resolved <= due else "missed") if done else
                       ("void" if gone else None), 0))
        stream = f"incident:{iid}"
        seq = [0]

        def ev(at: datetime, action: str, to: str | None, changes: str = "{}") -> None:
            seq[0] += 1
            events.append((stream, seq[0], iid, at, "system", "bench", action, None, to,
                           changes, H, H))

        ev(created, "incident.received", "triage")
        ev(created, "incident.dispatched", "dispatched", f'{{"unit_code": [null, "{unit}"]}}')
        if returned:
            back = created + timedelta(minutes=30)
            ev(back, "incident.return_approved", "triage", f'{{"unit_code": ["{unit}", null]}}')
            ev(back, "incident.dispatched", "dispatched", f'{{"unit_code": [null, "{unit}"]}}')
            requests.append((uuid.UUID(int=r.getrandbits(128)), iid, "return", "approved", unit,
                             "不属本单位", None, "bench", back, "bench", back))
        if gone:
            ev(created + timedelta(hours=1), f"incident.{state}", state)
            return
        if signed:
            ev(accepted, "incident.accepted", "in_progress")
        if extended:
            at = accepted + timedelta(hours=24)
            ev(at, "incident.extension_approved", None)
            requests.append((uuid.UUID(int=r.getrandbits(128)), iid, "extension", "approved",
                             unit, "需协调", 8.0, "bench", at, "bench", at))
        if done:
            ev(resolved, "incident.resolved", "resolved")
        if rework:
            ev(resolved + timedelta(minutes=30), "incident.verify_failed", "in_progress")
            ev(resolved + timedelta(hours=1), "incident.resolved", "resolved")
        if state == "closed":
            ev(closed, "incident.callback_recorded", "closed",
               f'{{"resolved": {"true" if happy != "unsatisfied" else "false"}, '
               f'"satisfaction": "{happy}"}}')


# -- loading ---------------------------------------------------------------------------------

def _upgrade(conn: Connection, settings: Settings) -> None:
    cfg = alembic_config(settings)
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


async def prepare(settings: Settings) -> tuple[list[Any], list[Any]]:
    engine = create_engine(settings.database)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, settings)
    async with create_sessionmaker(engine).begin() as session:
        await places.load_pack(session, DEMO / "pack", now=NOW)
        await routing.load_table(session, DEMO / "rules", actor=LEADER, now=NOW)
        grids = (await session.execute(text(
            "SELECT code, community_code, street_code FROM grid ORDER BY code"))).all()
        rules = await routing.active_rules(session)
    await engine.dispose()
    return [tuple(g) for g in grids], [(i.code, i.name, i.unit) for i in rules.items]


async def fill_postgres(url: str, gen: Generator) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql")
                                 .render_as_string(hide_password=False))
    try:
        await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
        for incs, clocks, events, requests in gen.chunks():
            await conn.copy_records_to_table("incident", records=incs, columns=INCIDENT)
            await conn.copy_records_to_table("sla_clock", records=clocks, columns=CLOCK)
            await conn.copy_records_to_table("audit_event", records=events, columns=AUDIT)
            await conn.copy_records_to_table("incident_request", records=requests,
                                             columns=REQUEST)
        await conn.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, uuid.UUID):
        return v.hex
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return v


def fill_sqlite(path: Path, gen: Generator) -> None:
    db = sqlite3.connect(path)
    try:
        for chunk in gen.chunks():
            for (table, columns), rows in zip(
                    (("incident", INCIDENT), ("sla_clock", CLOCK), ("audit_event", AUDIT),
                     ("incident_request", REQUEST)), chunk, strict=True):
                marks = ", ".join("?" * len(columns))
                db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               [tuple(_sqlite_value(v) for v in row) for row in rows])
            db.commit()
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()


# -- measuring -------------------------------------------------------------------------------

BASELINE = (
    "SELECT unit_code, street_code, community_code, grid_code, count(*) FROM incident "
    "WHERE created_at >= :s AND created_at < :e GROUP BY 1, 2, 3, 4",
    "SELECT c.kind, c.unit_code, i.grid_code, count(*), "
    "sum(CASE WHEN c.outcome = 'met' THEN 1 ELSE 0 END) FROM sla_clock c "
    "JOIN incident i ON i.id = c.incident_id WHERE c.due_at >= :s AND c.due_at < :e "
    "GROUP BY 1, 2, 3",
    "SELECT e.action, i.unit_code, i.grid_code, count(*) FROM audit_event e "
    "JOIN incident i ON i.id = e.incident_id WHERE e.at >= :s AND e.at < :e GROUP BY 1, 2, 3",
)


async def _timed(fn: Any, database: str | None) -> tuple[float, float, float | None]:
    """Wall time, the CPU time of this (the client) process, and the server's CPU time."""
    server = None if database is None else srv.database_cpu(database)
    t0, c0 = time.perf_counter(), time.process_time()
    await fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = None if database is None else srv.database_cpu(database)
    return wall, cpu, None if after is None else after - (server or 0.0)


async def measure(settings: Settings, rounds: int) -> dict[str, Any]:
    from sqlalchemy import bindparam

    from gridops.db import UTCDateTime

    engine = create_engine(settings.database)
    maker = create_sessionmaker(engine)
    cal = build_calendar()
    week = last_complete(NOW, settings.timezone)
    out: dict[str, Any] = {"week": week.label}
    try:
        async with maker() as session:
            out["rows"] = {t: (await session.execute(text(f"SELECT count(*) FROM {t}")))
                           .scalar_one() for t in ("incident", "sla_clock", "audit_event",
                                                   "incident_request")}
            out["week_incidents"] = (await session.execute(text(
                "SELECT count(*) FROM incident WHERE created_at >= :s AND created_at < :e")
                .bindparams(bindparam("s", type_=UTCDateTime), bindparam("e", type_=UTCDateTime)),
                {"s": week.start, "e": week.end})).scalar_one()

        async def plain() -> None:
            async with maker() as session:
                for sql in BASELINE:
                    statement = text(sql).bindparams(bindparam("s", type_=UTCDateTime),
                                                     bindparam("e", type_=UTCDateTime))
                    (await session.execute(statement, {"s": week.start, "e": week.end})).all()

        async def every_scope() -> None:
            async with maker() as session:
                await service.weekly_all(session, week, actor=LEADER, now=NOW, cal=cal,
                                         settings=settings)

        # The machine is shared and its load swings within seconds, so the contenders run in
        # turns (plain, all scopes, each scope) and every turn gives a ratio to the plain
        # aggregate measured right before it; reported: best times and the median ratio.
        runs: dict[str, list[tuple[float, float, float | None]]] = {}
        database = (make_url(settings.database.url.get_secret_value()).database
                    if engine.dialect.name == "postgresql" else None)
        contenders: list[tuple[str, Any]] = [("plain_sql", plain), ("review_all", every_scope)]
        for scope in service.SCOPES:
            async def review(scope: Any = scope) -> None:
                async with maker() as session:
                    await service.weekly(session, week, scope, actor=LEADER, now=NOW, cal=cal,
                                         settings=settings)
            contenders.append((f"review_{scope}", review))
        for _, fn in contenders:  # warm-up: caches, plans, the calendar's year tables
            await fn()
        for _ in range(rounds):
            for name, fn in contenders:
                runs.setdefault(name, []).append(await _timed(fn, database))
        out["runs"] = runs
    finally:
        await engine.dispose()
    return out


def machine() -> str:
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "0")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.platform()}, nproc {os.cpu_count()}, {int(mem) / 1024 / 1024:.1f} GiB, "
            f"Python {platform.python_version()}, load average {load}")


def report(backend: str, n: int, fill: float, out: dict[str, Any]) -> None:
    print(f"backend {backend}, {n} incidents over 52 weeks; {machine()}")
    print(f"rows: {out['rows']}; generated and loaded in {fill:.1f} s")
    print(f"week {out['week']}: {out['week_incidents']} incidents created")
    runs = out["runs"]
    plain = [wall for wall, _, _ in runs["plain_sql"]]
    print(f"{len(plain)} turns; wall ms best / median, client and server CPU ms median (server:"
          " without parallel workers), ratio to the plain aggregate of the same turn: median "
          "(best)")
    for name, timings in runs.items():
        walls = [wall for wall, _, _ in timings]
        ratios = [wall / p for wall, p in zip(walls, plain, strict=True)]
        servers = [server for _, _, server in timings if server is not None]
        server = f"{statistics.median(servers) * 1000:5.0f}" if servers else "  n/a"
        print(f"  {name:<18} {min(walls) * 1000:6.0f} / {statistics.median(walls) * 1000:6.0f}"
              f"   cpu {statistics.median(cpu for _, cpu, _ in timings) * 1000:5.0f}"
              f" + {server}   {statistics.median(ratios):4.2f}x ({min(ratios):4.2f}x)")
    print(f"after the run: {machine()}")


async def run_postgres(n: int, seed: int, keep: bool, reuse: str | None, rounds: int) -> None:
    name = reuse or f"gridops_review_bench_{uuid.uuid4().hex[:8]}"
    admin = make_url(BASE_URL).set(drivername="postgresql").render_as_string(
        hide_password=False)
    url = make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database=DatabaseSettings(url=url))
    if reuse:  # measure a database kept by an earlier run (--keep)
        report("postgresql", n, 0.0, await measure(settings, rounds))
        return
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    print(f"scratch database {name}")
    try:
        grids, items = await prepare(settings)
        t0 = time.perf_counter()
        await fill_postgres(url, Generator(n, seed, grids, items))
        fill = time.perf_counter() - t0
        report("postgresql", n, fill, await measure(settings, rounds))
    finally:
        if not keep:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


async def run_sqlite(n: int, seed: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        settings = Settings(_env_file=None,
                            database=DatabaseSettings(url=f"sqlite+aiosqlite:///{path}"))
        grids, items = await prepare(settings)
        t0 = time.perf_counter()
        fill_sqlite(path, Generator(n, seed, grids, items))
        fill = time.perf_counter() - t0
        report("sqlite", n, fill, await measure(settings, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--incidents", type=int, default=None)
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--reuse", help="measure this kept PostgreSQL database, no generation")
    parser.add_argument("--rounds", type=int, default=5, help="timed turns of every contender")
    args = parser.parse_args()
    if args.backend == "postgres":
        asyncio.run(run_postgres(args.incidents or 1_000_000, args.seed, args.keep, args.reuse,
                                 args.rounds))
    else:
        asyncio.run(run_sqlite(args.incidents or 100_000, args.seed, args.rounds))


if __name__ == "__main__":
    main()
