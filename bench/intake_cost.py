"""What one create (or one webhook order) costs, measured in-process, one call at a time.

    .venv/bin/python bench/intake_cost.py [--mode create|hotline] [--calls 500] [--profile FILE]
    .venv/bin/python bench/intake_cost.py --against /tmp/before/src [--turns 4] [--calls 1000]
        [--this /tmp/after/src]
    .venv/bin/python bench/intake_cost.py --keep, then --reuse gridops_cost_bench_xxxxxxxx

A scratch database (migrated, demo district) and the app in this process behind
httpx.ASGITransport: no HTTP server, no load engine competing for the cores. Creates are grid
workers' reports (as bench/create_bench.py sends them); hotline calls are signed batches of 100 new
orders (as bench/hotline_bench.py sends them). Prints, per create or per order: the API's CPU
(time.process_time around the ASGI call only), the statements sent (SQLAlchemy's engine events,
and asyncpg's query logger for those sent to asyncpg directly), the round trips to PostgreSQL
(those statements plus BEGIN, COMMIT, ROLLBACK and any pool ping, which the logger sees), the
CPU of the PostgreSQL backend (from /proc, same host), the WAL written and the garbage
collector's runs (a full one pauses every request in flight).
`--profile` writes a cProfile of the measured calls (API side only).

`--against SRC` measures this tree and another checkout's `src` (say `git archive <commit> src`
unpacked in /tmp) in turns on one database, each turn in a fresh process, and prints the median
of each side: the before/after of a change with the table, the host's load and PostgreSQL's
caches shared. Incidents pile up across turns (each adds `--calls` creates), fairly for both.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import _server as srv
import httpx
from hotline_bench import SECRET, Orders, signed
from sqlalchemy import event
from sqlalchemy.engine import make_url

FIGURES = ("api_ms", "pg_ms", "wal_bytes", "statements", "round_trips", "gc_ms")


class Collections:
    """The garbage collector's runs while measuring: how many of each generation, and their
    CPU (this process's; the app's collections run inside its calls)."""

    def __init__(self) -> None:
        self.runs, self.cpu, self._started = [0, 0, 0], [0.0, 0.0, 0.0], 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.runs[info["generation"]] += 1
            self.cpu[info["generation"]] += time.process_time() - self._started


class Metered:
    """The app, with the CPU spent inside it counted (calls are made one at a time)."""

    def __init__(self, app: Any) -> None:
        self.app, self.cpu = app, 0.0
        self.profile: cProfile.Profile | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.process_time()
        if self.profile:
            self.profile.enable()
        try:
            await self.app(scope, receive, send)
        finally:
            if self.profile:
                self.profile.disable()
            self.cpu += time.process_time() - started


async def _caller(mode: str, client: httpx.AsyncClient,
                  db: srv.Database) -> tuple[Callable[[], Awaitable[None]], int]:
    if mode == "create":
        bodies = srv.Bodies()
        headers = {p.grid_code: {"Authorization": f"Bearer {srv.grid_worker_token(p.grid_code)}",
                                 "Content-Type": "application/json"} for p in bodies.points}

        async def create() -> None:
            body, point, _ = bodies.next()
            response = await client.post("/api/v1/incidents", content=json.dumps(body),
                                         headers=headers[point.grid_code])
            assert response.status_code == 201, response.text
        return create, 1
    points = [(r["centroid_lat"], r["centroid_lon"])
              for r in await db.fetch("SELECT centroid_lat, centroid_lon FROM grid")]
    orders = Orders(points, f"C{os.getpid()}")

    async def batch() -> None:
        body, headers = signed(orders.batch())
        response = await client.post("/webhooks/12345", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {"created"}
    return batch, 100


# What asyncpg's query logger sees that is not a statement of the app's own.
_CONTROL = {"", "BEGIN", "COMMIT", "ROLLBACK"}


def _count_traffic(engine: Any, statements: Counter[str], simple: Counter[str]) -> None:
    """Statements through SQLAlchemy, and what asyncpg's query logger sees of the rest:
    BEGIN, COMMIT, a ping's `;`, and the statements the app sends to asyncpg itself
    (`gridops.db.driver_rows`), which SQLAlchemy does not see."""
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *args: statements.update([" ".join(sql.split()[:3])]))
    logged: set[int] = set()

    def checkout(dbapi_conn: Any, *_: Any) -> None:
        driver = dbapi_conn.driver_connection
        if id(driver) not in logged:
            logged.add(id(driver))
            driver.add_query_logger(lambda record: simple.update([record.query.strip()[:24]]))
    event.listen(engine.sync_engine.pool, "checkout", checkout, insert=True)


async def measure(mode: str, calls: int, db: srv.Database,
                  profile: str | None) -> dict[str, Any]:
    os.environ.update(srv.gridops_env(db, GRIDOPS_WORKER__EMBEDDED="false",
                                      GRIDOPS_HOTLINE__SECRET=SECRET))
    from gridops.main import create_app
    from gridops.settings import Settings

    app = create_app(Settings())
    metered = Metered(app)
    statements: Counter[str] = Counter()
    simple: Counter[str] = Counter()
    async with app.router.lifespan_context(app):
        _count_traffic(app.state.engine, statements, simple)
        transport = httpx.ASGITransport(app=metered)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            call, unit = await _caller(mode, client, db)
            for _ in range(30 if mode == "create" else 3):  # caches, pool, prepared plans
                await call()
            backends = [r["pid"] for r in await db.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 "
                "AND pid <> pg_backend_pid()", db.name)]
            pg = sum(srv.process_cpu(pid) for pid in backends)
            wal = await db.scalar("SELECT pg_current_wal_lsn()::text")
            statements.clear()
            simple.clear()
            metered.cpu = 0.0
            collections = Collections()
            gc.callbacks.append(collections)
            metered.profile = cProfile.Profile() if profile else None
            started = time.perf_counter()
            for _ in range(calls):
                await call()
            wall = time.perf_counter() - started
            gc.callbacks.remove(collections)
            pg = sum(srv.process_cpu(pid) for pid in backends) - pg
            wal_bytes = float(await db.scalar(  # type: ignore[arg-type]
                f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal}')"))
    if metered.profile and profile:
        metered.profile.dump_stats(profile)
    per = calls * unit
    return {"mode": mode, "calls": calls, "unit": unit, "wall_s": wall,
            "api_ms": 1000 * metered.cpu / per, "pg_ms": 1000 * pg / per,
            "wal_bytes": wal_bytes / per,
            "statements": (sum(statements.values()) + sum(
                n for q, n in simple.items() if q.rstrip(";").upper() not in _CONTROL)) / calls,
            "round_trips": (sum(statements.values()) + sum(simple.values())) / calls,
            "traffic": {k: n / calls for k, n in (statements + simple).most_common()},
            "load": os.getloadavg()[0], "gc_runs": collections.runs,
            "gc_ms": 1000 * sum(collections.cpu) / per,
            "gc_full_ms": 1000 * collections.cpu[2]}


def report(f: dict[str, Any], label: str = "") -> None:
    what = "create" if f["mode"] == "create" else "order"
    print(f"{label}{f['mode']}: {f['calls']} calls of {f['unit']} in {f['wall_s']:.1f} s; "
          f"per {what}: API CPU {f['api_ms']:.2f} ms, PostgreSQL CPU {f['pg_ms']:.2f} ms "
          f"(backend, from /proc), WAL {f['wal_bytes']:,.0f} bytes; per call "
          f"{f['statements']:.2f} statements, {f['round_trips']:.2f} round trips; garbage "
          f"collector {f['gc_ms']:.3f} ms per {what} (runs by generation {f['gc_runs']}, "
          f"full ones {f['gc_full_ms']:.0f} ms in all); "
          f"load {f['load']:.1f}", flush=True)


async def _prepared(reuse: str | None) -> srv.Database:
    if reuse:
        return srv.Database(reuse, make_url(srv.BASE_URL).set(database=reuse).render_as_string(
            hide_password=False))
    db = await srv.create_database("gridops_cost_bench")
    srv.prepare(db)
    return db


def _turn(args: argparse.Namespace, db: srv.Database, src: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if src:
        env["PYTHONPATH"] = src
    done = subprocess.run(
        [sys.executable, str(Path(__file__)), "--mode", args.mode, "--calls", str(args.calls),
         "--reuse", db.name, "--json"], env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"turn with {src or 'this tree'} failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


async def in_turns(args: argparse.Namespace) -> None:
    db = await _prepared(args.reuse)
    sides = {"this": args.this, "against": args.against}
    seen: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    try:
        for turn in range(args.turns):
            # Alternate which side goes first, so that neither always gets the warmer host.
            order = list(sides.items()) if turn % 2 == 0 else list(sides.items())[::-1]
            for side, src in order:
                figures = await asyncio.to_thread(_turn, args, db, src)
                seen[side].append(figures)
                report(figures, f"turn {turn + 1} {side:7s} ")
    finally:
        if not args.reuse and not args.keep:
            await srv.drop_database(db)
    print(f"\nmedians over {args.turns} turns on {db.name} ({args.this or 'this tree'} vs "
          f"{args.against}):")
    medians = {side: {k: statistics.median(f[k] for f in seen[side]) for k in FIGURES}
               for side in sides}
    for k in FIGURES:
        this, other = medians["this"][k], medians["against"][k]
        print(f"  {k:12s} this {this:10.2f}   against {other:10.2f}   "
              f"this/against {this / other if other else float('nan'):.2f}")
    print("  traffic per call, this tree:", seen["this"][-1]["traffic"])
    print("  traffic per call, against:  ", seen["against"][-1]["traffic"])


async def once(args: argparse.Namespace) -> None:
    db = await _prepared(args.reuse)
    try:
        figures = await measure(args.mode, args.calls, db, args.profile)
    finally:
        if not args.reuse and not args.keep:
            await srv.drop_database(db)
        elif args.keep:
            print(f"kept database {db.name}", file=sys.stderr)
    if args.json:
        print(json.dumps(figures))
        return
    report(figures)
    for text, n in figures["traffic"].items():
        print(f"  {n:5.2f} × {text}")
    if args.profile:
        print(f"profile written to {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["create", "hotline"], default="create")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", help="write a cProfile of the measured calls here")
    parser.add_argument("--keep", action="store_true", help="leave the scratch database")
    parser.add_argument("--reuse", help="measure on this kept database (not dropped)")
    parser.add_argument("--against", help="another tree's src/: measure both in turns")
    parser.add_argument("--turns", type=int, default=4, help="with --against")
    parser.add_argument("--this", help="with --against: measure this src/ instead of the "
                        "checkout's (others' unfinished edits in a shared checkout stay out)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(in_turns(args) if args.against else once(args))


if __name__ == "__main__":
    main()
