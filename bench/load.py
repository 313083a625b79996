"""A command centre's day, compressed: the realistic mix of bench/_mix.py against gridops on
PostgreSQL, with signed 12345 batches and a receiver for the outbound updates.

    .venv/bin/python bench/load.py              # 10 minutes (issue 7)
    .venv/bin/python bench/load.py --quick      # 60 seconds
    .venv/bin/python bench/load.py --minutes 3 --users 12

`gridops serve --workers 2` on a scratch database (demo district and rule table), the embedded
sweeper and outbox drain on, deliveries to bench/_receiver.py. Virtual users send their next call
when the last one answered (closed loop, 127.0.0.1 only, bounded in time). Reported: throughput,
p50/p95/p99 per kind of call, errors (5xx and transport failures: must be 0), 4xx by kind, the
RSS of every server process after the warm-up and at the end (growth must stay within 10%),
then, after the load: every hotline update delivered exactly once and the audit chains verified.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter

import _server as srv
import httpx
from _load import Recorder, closed_loop
from _mix import Hotline, Mix, hotline_batches
from _receiver import read

RSS_GROWTH_LIMIT = 0.10


def rss(process: srv.Process) -> dict[int, float]:
    return {pid: srv.rss_mib(pid) for pid in [process.pid, *process.workers()]}


async def drained(db: srv.Database, within: float) -> dict[str, int]:
    """Wait until the outbox has nothing pending (or `within` seconds); its states then."""
    deadline = time.monotonic() + within
    while True:
        rows = await db.fetch("SELECT state, count(*) AS n FROM outbox_message GROUP BY state")
        states = {r["state"]: int(r["n"]) for r in rows}
        if not states.get("pending") or time.monotonic() > deadline:
            return states
        await asyncio.sleep(1)


def print_table(recorder: Recorder) -> None:
    print(f"{'call':10s} {'n':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}")
    for label in sorted(recorder.latencies):
        s = recorder.summary(label)
        print(f"{label:10s} {s['n']:7.0f} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} "
              f"{s['p99_ms']:8.1f} {s['max_ms']:8.1f}")
    s = recorder.summary()
    print(f"{'all':10s} {s['n']:7.0f} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} "
          f"{s['p99_ms']:8.1f} {s['max_ms']:8.1f}")


async def run(seconds: float, users: int, workers: int, every: float, size: int) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    try:
        srv.prepare(stack.db)
        receiver, record = stack.receiver("load-receiver")
        await srv.wait_ready(receiver, "/")
        server = stack.serve("load-gridops", workers, **stack.callbacks(receiver))
        await srv.wait_ready(server)
        mix, hotline = Mix(), Hotline()
        async with httpx.AsyncClient(base_url=server.base) as client:
            await mix.probe(client)
        warmup = min(60.0, max(10.0, seconds / 10))
        await closed_loop(server.base, mix, users=users, seconds=warmup)
        rss_start = rss(server)

        recorder = Recorder()
        load = closed_loop(server.base, mix, users=users, seconds=seconds)
        batches = hotline_batches(server.base, hotline, recorder, every=every, size=size,
                                  seconds=seconds)
        main, _ = await asyncio.gather(load, batches)
        rss_end = rss(server)

        outbox = await drained(stack.db, within=90)
        received = [r for r in read(record) if r["path"] == "/hotline"]
        ids = Counter(r["event_id"] for r in received)
        expected = int(await stack.db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM outbox_message WHERE topic = 'hotline.update'"))
        async with httpx.AsyncClient(base_url=server.base) as client:
            verify = await client.get("/api/v1/audit/verify",
                                      headers={"Authorization": f"Bearer {mix.roles['auditor']}"})
        incidents = int(await stack.db.scalar("SELECT count(*) FROM incident"))  # type: ignore[arg-type]

        for label, n in recorder.latencies.items():  # webhook batches into the main table
            main.latencies[label].extend(n)
        main.statuses.update(recorder.statuses)
        main.failures.update(recorder.failures)
        print(f"\n{seconds:.0f} s, {users} users, {workers} uvicorn workers, board "
              f"{'in' if mix.board else 'NOT SERVED'}, actions "
              f"{'in' if mix.actions else 'NOT SERVED'}; {incidents} incidents at the end")
        print(f"throughput {main.count / seconds:.1f} req/s ({main.count} requests)")
        print_table(main)
        by_status = Counter({f"{label} {status}": n for (label, status), n in main.statuses.items()
                             if status >= 400})
        print(f"4xx/5xx by call: {dict(by_status) or 'none'}; transport failures: "
              f"{dict(main.failures) or 'none'}")
        print(f"webhook orders: {dict(hotline.statuses)}")
        growth = {pid: (rss_end[pid] - rss_start[pid]) / rss_start[pid] for pid in rss_start
                  if pid in rss_end}
        for pid in rss_start:
            print(f"process {pid}: RSS {rss_start[pid]:.1f} MiB after warm-up -> "
                  f"{rss_end.get(pid, float('nan')):.1f} MiB at the end "
                  f"({growth.get(pid, float('nan')):+.1%})")
        duplicates = sum(n - 1 for n in ids.values() if n > 1)
        print(f"outbox {outbox}; hotline updates: {expected} written, {len(ids)} distinct "
              f"received, {duplicates} received twice; audit verify "
              f"{verify.status_code} {verify.text[:200]}")
        errors = main.errors
        rss_ok = all(g <= RSS_GROWTH_LIMIT for g in growth.values())
        delivered_ok = len(ids) == expected and outbox.get("parked", 0) == 0
        ok = errors == 0 and rss_ok and delivered_ok and verify.status_code == 200 and \
            verify.json().get("ok") is True
        worst = max(growth.values(), default=0.0)
        print(f"{'PASS' if ok else 'FAIL'} load: {main.count / seconds:.1f} req/s, p99 "
              f"{main.summary()['p99_ms']:.0f} ms, errors {errors}, worst RSS growth "
              f"{worst:+.1%}, hotline updates {len(ids)}/{expected} once each, audit "
              f"{'ok' if verify.status_code == 200 and verify.json().get('ok') else 'NOT ok'}")
        return ok
    finally:
        stack.close()
        await srv.drop_database(stack.db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="60 seconds")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-every", type=float, default=5.0, help="seconds between batches")
    parser.add_argument("--batch-size", type=int, default=20, help="orders per batch")
    args = parser.parse_args()
    seconds = 60.0 if args.quick else args.minutes * 60
    ok = asyncio.run(run(seconds, args.users, args.workers, args.batch_every, args.batch_size))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
