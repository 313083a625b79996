"""What one create (or one webhook order) costs, measured in-process, one call at a time.

    .venv/bin/python bench/intake_cost.py [--mode create|hotline] [--calls 500] [--profile FILE]

A scratch database (migrated, demo district) and the app in this process behind
httpx.ASGITransport: no HTTP server, no load engine competing for the cores. Creates are grid
workers' reports (as bench/create_bench.py sends them); hotline calls are signed batches of 100 new
orders (as bench/hotline_bench.py sends them). Prints, per create or per order: the API's CPU
(time.process_time around the ASGI call only), the statements sent (engine events; BEGIN, COMMIT
and the pool's pre-ping are not among them), the CPU of the PostgreSQL backend (from /proc, same
host) and the WAL written. `--profile` writes a cProfile of the measured calls (API side only).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import _server as srv
import httpx
from hotline_bench import SECRET, Orders, signed
from sqlalchemy import event


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
    orders = Orders(points, "C")

    async def batch() -> None:
        body, headers = signed(orders.batch())
        response = await client.post("/webhooks/12345", content=body, headers=headers)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {"created"}
    return batch, 100


async def run(mode: str, calls: int, profile: str | None) -> None:
    db = await srv.create_database("gridops_cost_bench")
    try:
        srv.prepare(db)
        os.environ.update(srv.gridops_env(db, GRIDOPS_WORKER__EMBEDDED="false",
                                          GRIDOPS_HOTLINE__SECRET=SECRET))
        from gridops.main import create_app
        from gridops.settings import Settings

        app = create_app(Settings())
        metered = Metered(app)
        async with app.router.lifespan_context(app):
            statements: Counter[str] = Counter()
            event.listen(app.state.engine.sync_engine, "before_cursor_execute",
                         lambda conn, cursor, sql, *args: statements.update(
                             [" ".join(sql.split()[:3])]))
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
                metered.cpu = 0.0
                metered.profile = cProfile.Profile() if profile else None
                started = time.perf_counter()
                for _ in range(calls):
                    await call()
                wall = time.perf_counter() - started
                pg = sum(srv.process_cpu(pid) for pid in backends) - pg
                wal_bytes = float(await db.scalar(  # type: ignore[arg-type]
                    f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal}')"))
        per = calls * unit
        what = "create" if mode == "create" else "order"
        print(f"{mode}: {calls} calls of {unit} in {wall:.1f} s; per {what}: API CPU "
              f"{1000 * metered.cpu / per:.2f} ms, PostgreSQL CPU {1000 * pg / per:.2f} ms "
              f"(backend, from /proc), WAL {wal_bytes / per:,.0f} bytes, "
              f"{sum(statements.values()) / calls:.2f} statements per call; load "
              f"{os.getloadavg()[0]:.1f}")
        for text, n in statements.most_common():
            print(f"  {n / calls:5.2f} × {text}")
        if metered.profile and profile:
            metered.profile.dump_stats(profile)
            print(f"profile written to {profile}")
    finally:
        await srv.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["create", "hotline"], default="create")
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--profile", help="write a cProfile of the measured calls here")
    args = parser.parse_args()
    asyncio.run(run(args.mode, args.calls, args.profile))


if __name__ == "__main__":
    main()
