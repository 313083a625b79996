"""Drill: graceful shutdown of the API and of the worker on SIGTERM.

    .venv/bin/python bench/drill_sigterm.py [--requests 30] [--delay 0.5]

API: `gridops serve --workers 2`; `--requests` creates are sent at once over warmed keep-alive
connections and SIGTERM reaches uvicorn 100 ms later. Pass: every request the server had begun is
finished and answered (stored == answered 201: nothing done without an answer); a request still
unread in its socket when the signal came is closed unprocessed (uvicorn's behaviour; the client
sees a connection error and retries, safely with its Idempotency-Key); exit code 0 within
uvicorn's graceful timeout (20 s).
Worker: `gridops worker` drains 40 hotline updates to a receiver that takes `--delay` seconds per
delivery; SIGTERM arrives while deliveries are in flight. Pass: it exits with code 0, holds no
connection and no lock afterwards, and leaves no message claimed-but-unfinished (a lease that
would delay the message until it expires): every message is delivered or back to plain pending.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time

import _server as srv
import httpx
from _mix import API, Hotline, Mix
from _receiver import read


async def api_part(stack: srv.Stack, count: int) -> tuple[bool, str]:
    server = stack.serve("sigterm-api", 2, embedded=False)
    await srv.wait_ready(server)
    mix = Mix()
    bodies = [mix.bodies.next() for _ in range(count)]
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=30) as client:
        await asyncio.gather(*(client.get("/healthz") for _ in range(count)))  # warm connections

        async def create(body: dict[str, object], grid: str) -> int | str:
            try:
                response = await client.post(API, json=body, headers=mix._auth("grid", grid))
                return response.status_code
            except httpx.HTTPError as exc:
                return type(exc).__name__

        tasks = [asyncio.create_task(create(b, p.grid_code)) for b, p, _ in bodies]
        await asyncio.sleep(0.1)
        t0 = time.monotonic()
        server.popen.send_signal(signal.SIGTERM)
        answers = await asyncio.gather(*tasks)
    try:
        code = server.popen.wait(30)
    except subprocess.TimeoutExpired:
        code = None
    exited = time.monotonic() - t0
    tags = [t for _, _, t in bodies]
    assert stack.db is not None
    stored = int(await stack.db.scalar(  # type: ignore[arg-type]
        "SELECT count(*) FROM incident WHERE substring(text from '编号([0-9a-f]+-[0-9]+)') "
        "= ANY($1::text[])", tags))
    created = sum(1 for a in answers if a == 201)
    others = [a for a in answers if a != 201]
    closed = sum(1 for a in others if isinstance(a, str))
    ok = created == stored and closed == len(others) and created > 0 and code == 0
    return ok, (f"API: {count} creates sent, SIGTERM 100 ms later: {created} answered 201 and "
                f"{stored} stored; {closed} closed unprocessed ({sorted(set(map(str, others)))}"
                f"); exit code {code} after {exited:.1f} s")


async def worker_part(stack: srv.Stack, delay: float) -> tuple[bool, str]:
    assert stack.db is not None
    db = stack.db
    receiver, record = stack.receiver("sigterm-receiver", delay=delay)
    await srv.wait_ready(receiver, "/")
    env = stack.callbacks(receiver)
    server = stack.serve("sigterm-api2", 1, embedded=False, **env)
    await srv.wait_ready(server)
    hotline = Hotline()
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        await hotline.send(client, 40)
    worker = stack.worker("sigterm-worker", GRIDOPS_OUTBOX__INTERVAL_SECONDS="0.5", **env)
    for _ in range(600):  # until deliveries are in flight
        if read(record):
            break
        await asyncio.sleep(0.1)
    t0 = time.monotonic()
    worker.popen.send_signal(signal.SIGTERM)
    try:
        code = worker.popen.wait(60)
    except subprocess.TimeoutExpired:
        code = None
    exited = time.monotonic() - t0
    rows = await db.fetch("SELECT state, (available_at > now()) AS leased, count(*) AS n FROM "
                          "outbox_message GROUP BY 1, 2")
    stranded = sum(int(r["n"]) for r in rows if r["state"] == "pending" and r["leased"])
    states = {f"{r['state']}{' (leased)' if r['leased'] else ''}": int(r["n"]) for r in rows}
    connections = int(await db.scalar(  # type: ignore[arg-type]
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()"
        " AND application_name NOT LIKE 'uvicorn%'", db.name))
    server.stop()
    leftover = int(await db.scalar(  # type: ignore[arg-type]
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        db.name))
    received = len(read(record))
    ok = code == 0 and stranded == 0 and leftover == 0
    return ok, (f"worker: SIGTERM with deliveries in flight ({delay} s each): exit code {code} "
                f"after {exited:.1f} s; {received} delivered by then; outbox {states}; claimed "
                f"but unfinished {stranded}; connections left {leftover} (with API up: "
                f"{connections})")


async def run(count: int, delay: float) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    try:
        srv.prepare(stack.db)
        api_ok, api_line = await api_part(stack, count)
        print(api_line)
        worker_ok, worker_line = await worker_part(stack, delay)
        print(worker_line)
        ok = api_ok and worker_ok
        print(f"{'PASS' if ok else 'FAIL'} drill_sigterm: API finished its in-flight requests: "
              f"{api_ok}; worker released its claims and connections: {worker_ok}")
        return ok
    finally:
        stack.close()
        await srv.drop_database(stack.db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.requests, args.delay)) else 1)


if __name__ == "__main__":
    main()
