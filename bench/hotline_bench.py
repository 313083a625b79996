"""Hotline webhook throughput on PostgreSQL with two uvicorn workers, beside the single-incident
endpoint, then the ten-fold replay check.

    .venv/bin/python bench/hotline_bench.py [--seconds 20] [--concurrency 4]
        [--single-concurrency 16] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

A fresh database is created, migrated and loaded with `gridops migrate` + `gridops demo`, then
`gridops serve --workers 2` starts on a free port (the outbox worker runs apart, as in production
on PostgreSQL, so it is off here). For a fixed time, signed batches of 100 new orders are posted
by `--concurrency` senders; then, against the same server, single incidents are posted to
`POST /api/v1/incidents` by `--single-concurrency` senders. Prints orders/second (created), the
single endpoint's incidents/second and their ratio; then posts one batch ten times and checks
that each of its orders made exactly one incident. Target: ≥ 1,500 orders/s. The database is
dropped at the end (`--keep` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _server as srv
import asyncpg  # type: ignore[import-untyped]
import httpx

from gridops.auth.tokens import mint
from gridops.hotline.signing import sign
from gridops.settings import AuthSettings

TARGET = 1500.0
BATCH = 100
SECRET = "bench-hotline-secret"
GRIDOPS = Path(sys.executable).with_name("gridops")

TEXTS = [
    ("占道经营", "建设路口有流动摊贩占道经营，影响行人通行，早晚高峰特别严重"),
    ("井盖缺失", "人行道上的井盖不见了，晚上路过很危险，请尽快处理"),
    ("路灯不亮", "小区门口那排路灯已经一个星期不亮了，晚上黑漆漆的"),
    ("噪音扰民", "楼下饭店油烟和噪音很大，晚上十一点还在吵"),
    ("停水", "我们小区今天早上开始停水了，也没有提前通知"),
    ("停电", "整栋楼突然停电了，电梯里可能有人"),
    ("垃圾", "垃圾桶满了好几天没人清运，臭味很大"),
    ("燃气", "楼道里闻到很重的煤气味，担心燃气泄漏"),
    ("违建", "隔壁在楼顶搭建违章建筑，已经施工好几天"),
    ("消防通道", "小区消防通道被私家车长期占用"),
    ("邻里纠纷", "楼上邻居装修把我家天花板弄漏水了，协商不成"),
    ("树木", "路边的大树倒了压在人行道上"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    return sum(map(srv.process_cpu, [pid, *srv.children(pid)]))


class BackendCpu:
    """CPU of the PostgreSQL backends serving the bench database (from /proc, same host):
    what a phase cost the database, beside the API's own CPU."""

    def __init__(self, db: asyncpg.Connection, name: str) -> None:
        self.db, self.name = db, name
        self.start: dict[int, float] = {}

    async def _pids(self) -> list[int]:
        rows = await self.db.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 "
                                   "AND pid <> pg_backend_pid()", self.name)
        return [r["pid"] for r in rows]

    async def begin(self) -> None:
        self.start = {pid: srv.process_cpu(pid) for pid in await self._pids()}

    async def seconds(self) -> float:
        # A backend started during the phase counts from zero.
        return sum(srv.process_cpu(pid) - self.start.get(pid, 0.0) for pid in await self._pids())


def run(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(GRIDOPS), *args], env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


class Orders:
    """Fresh, varied orders: texts across units, points in real grids, distinct callers."""

    def __init__(self, points: list[tuple[float, float]], tag: str) -> None:
        self.points, self.tag, self.seq = points, tag, 0
        self.rng = random.Random(7)

    def one(self) -> dict[str, Any]:
        self.seq += 1
        title, text = self.rng.choice(TEXTS)
        lat, lon = self.rng.choice(self.points)
        return {
            "order_no": f"{self.tag}{self.seq:09d}", "version": 1, "event": "created",
            "received_at": datetime.now(UTC).isoformat(), "channel": "phone",
            "urgency": "normal", "kind": "投诉", "title": title, "content": text,
            "address": "石峰区", "location": {"lat": lat + self.rng.uniform(-4e-4, 4e-4),
                                              "lon": lon + self.rng.uniform(-4e-4, 4e-4)},
            "caller": {"name": "张三", "phone": f"139{self.seq:08d}", "confidential": False}}

    def batch(self) -> list[dict[str, Any]]:
        return [self.one() for _ in range(BATCH)]


def signed(orders: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"orders": orders}, ensure_ascii=False).encode()
    ts = int(time.time())
    return body, {"Content-Type": "application/json", "X-Hotline-Timestamp": str(ts),
                  "X-Hotline-Signature": sign(SECRET, ts, body)}


async def timed(seconds: float, senders: int,
                send: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    """Units done by `senders` loops of `send` until the time is up."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            n = await send()  # not `done += await ...`: that reads `done` before awaiting
            done += n

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(senders)))
    return done, time.perf_counter() - start


async def _sql(url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def bench(args: argparse.Namespace) -> bool:
    name = f"gridops_bench_{uuid.uuid4().hex[:8]}"
    root = args.admin_url.rsplit("/", 1)[0]
    asyncio.run(_sql(args.admin_url, f'CREATE DATABASE "{name}"'))
    env = {**os.environ,
           "GRIDOPS_DATABASE__URL": f"{root.replace('postgresql://', 'postgresql+asyncpg://')}"
                                    f"/{name}",
           "GRIDOPS_DATABASE__POOL_SIZE": "20", "GRIDOPS_WORKER__EMBEDDED": "false",
           "GRIDOPS_HOTLINE__SECRET": SECRET, "GRIDOPS_LOG_LEVEL": "WARNING",
           "GRIDOPS_ENVIRONMENT": "dev"}
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        run(env, "migrate")
        run(env, "demo")
        points = [(r["centroid_lat"], r["centroid_lon"]) for r in asyncio.run(
            _sql(f"{root}/{name}", "SELECT centroid_lat, centroid_lon FROM grid"))]
        server = subprocess.Popen([str(GRIDOPS), "serve", "--host", "127.0.0.1", "--port",
                                   str(port), "--workers", "2"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        args.server_pid = server.pid
        return asyncio.run(_measure(args, f"http://127.0.0.1:{port}", points, f"{root}/{name}"))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if args.keep:
            print(f"kept database {name}")
        else:
            asyncio.run(_sql(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _measure(args: argparse.Namespace, base: str, points: list[tuple[float, float]],
                   db_url: str) -> bool:
    db = await asyncpg.connect(db_url)
    try:
        return await _phases(args, base, points, db)
    finally:
        await db.close()


async def _phases(args: argparse.Namespace, base: str, points: list[tuple[float, float]],
                  db: asyncpg.Connection) -> bool:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await _ready(client)
        orders = Orders(points, "H")
        statuses: Counter[str] = Counter()

        async def post_batch() -> int:
            body, headers = signed(orders.batch())
            response = await client.post("/webhooks/12345", content=body, headers=headers)
            if response.status_code != 200:
                statuses[f"http {response.status_code}"] += BATCH
                return 0
            got = Counter(r["status"] for r in response.json()["results"])
            statuses.update(got)
            return got["created"]

        token = mint(AuthSettings(), subject="bench-dispatcher", role="dispatcher",
                     now=datetime.now(UTC), ttl_minutes=120)
        single = Orders(points, "S")
        single_codes: Counter[int] = Counter()

        async def post_single() -> int:
            o = single.one()
            data = {"text": o["content"], "title": o["title"], "address": o["address"],
                    "location": o["location"], "reporter": {"name": "张三",
                                                            "phone": o["caller"]["phone"]}}
            response = await client.post("/api/v1/incidents", json=data,
                                         headers={"Authorization": f"Bearer {token}"})
            single_codes[response.status_code] += 1
            return int(response.status_code == 201)

        await timed(2, args.concurrency, post_batch)  # warm up both workers
        await timed(2, args.single_concurrency, post_single)
        statuses.clear()
        single_codes.clear()
        load_before = os.getloadavg()[0]
        backends = BackendCpu(db, await db.fetchval("SELECT current_database()"))
        cpu = cpu_seconds(args.server_pid)
        await backends.begin()
        created, elapsed = await timed(args.seconds, args.concurrency, post_batch)
        cpu_hotline = cpu_seconds(args.server_pid) - cpu
        pg_hotline = await backends.seconds()
        rate = created / elapsed
        cpu = cpu_seconds(args.server_pid)
        await backends.begin()
        singles, single_elapsed = await timed(args.seconds, args.single_concurrency, post_single)
        cpu_single = cpu_seconds(args.server_pid) - cpu
        pg_single = await backends.seconds()
        single_rate = singles / single_elapsed
        load_after = os.getloadavg()[0]
        ok_replay, replay_line = await _replay(client, orders, db)
    print(f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, "
          f"{(await db.fetchval('SHOW server_version'))} PostgreSQL")
    print(f"hotline webhook : {created} orders created in {elapsed:.1f} s = {rate:,.0f} orders/s "
          f"({args.concurrency} senders × batches of {BATCH}); statuses {dict(statuses)}")
    print(f"single endpoint : {singles} incidents in {single_elapsed:.1f} s = "
          f"{single_rate:,.0f} incidents/s ({args.single_concurrency} senders); "
          f"codes {dict(single_codes)}")
    print(f"ratio           : {rate / single_rate:.1f}× the single-incident endpoint")
    print(f"server CPU      : {1000 * cpu_hotline / max(1, created):.1f} ms per order (webhook), "
          f"{1000 * cpu_single / max(1, singles):.1f} ms per incident (single endpoint), "
          f"both uvicorn workers, PostgreSQL not included; load average {load_before:.1f} "
          f"→ {load_after:.1f}")
    print(f"PostgreSQL CPU  : {1000 * pg_hotline / max(1, created):.2f} ms per order (webhook), "
          f"{1000 * pg_single / max(1, singles):.2f} ms per incident (single endpoint), "
          f"the backends serving the bench database")
    print(replay_line)
    ok = rate >= TARGET and ok_replay and set(statuses) == {"created"}
    print(f"{'PASS' if ok else 'FAIL'}: {rate:,.0f} orders/s (target ≥ {TARGET:,.0f}), "
          f"replay {'one incident per order' if ok_replay else 'BROKEN'}")
    return ok


async def _ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("the server did not start")


async def _replay(client: httpx.AsyncClient, orders: Orders,
                  db: asyncpg.Connection) -> tuple[bool, str]:
    batch = orders.batch()
    rounds = []
    for _ in range(10):
        body, headers = signed(batch)
        response = await client.post("/webhooks/12345", content=body, headers=headers)
        rounds.append(Counter(r["status"] for r in response.json()["results"]))
    numbers = [o["order_no"] for o in batch]
    per_order = await db.fetch(
        "SELECT external_id, count(*) AS n FROM incident WHERE channel = 'hotline_12345' "
        "AND external_id = ANY($1::text[]) GROUP BY external_id", numbers)
    ok = (len(per_order) == BATCH and all(r["n"] == 1 for r in per_order)
          and rounds[0] == {"created": BATCH}
          and all(r == {"duplicate": BATCH} for r in rounds[1:]))
    return ok, (f"replay         : one batch of {BATCH} posted 10×: first {dict(rounds[0])}, "
                f"then {dict(sum(rounds[1:], Counter()))}; incidents for those orders: "
                f"{sum(r['n'] for r in per_order)} ({'ok' if ok else 'WRONG'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--single-concurrency", type=int, default=16)
    parser.add_argument("--admin-url", default=os.environ.get(
        "GRIDOPS_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true")
    ok = bench(parser.parse_args())
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
