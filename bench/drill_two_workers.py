"""Drill: two API processes and two `gridops worker` processes against one PostgreSQL.

    .venv/bin/python bench/drill_two_workers.py [--minutes 5] [--users 6]

Two `gridops serve --workers 1` processes (embedded loops off) share the load mix; two
`gridops worker` processes run the sweeper every 2 s and the outbox drain every second, both
delivering to bench/_receiver.py. So that deadlines fall due during the run, every 5 s a slice
of running clocks is moved: some to fall due soon, some due within seconds, some already days
late (escalation to street and district) — the drill's only stand-in for the passing of time.
Pass: no clock is flagged twice for the same thing (audit events per clock, round, action and
escalation level), one notification per flag, every outbox message delivered and none received
twice (receiver, by event_id), no message left pending or parked, audit chains verify.
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

FAST = {"GRIDOPS_SLA__SWEEP_INTERVAL_SECONDS": "2", "GRIDOPS_OUTBOX__INTERVAL_SECONDS": "1",
        "GRIDOPS_LOG_LEVEL": "WARNING"}
RUNNING = "outcome IS NULL AND paused_at IS NULL AND warned_at IS NULL AND breached_at IS NULL"
SHIFTS = [
    # due soon now, due in 20 seconds
    f"UPDATE sla_clock SET due_soon_at = now() - interval '1 second', due_at = now() + "
    f"interval '20 seconds' WHERE id IN (SELECT id FROM sla_clock WHERE {RUNNING} "
    f"ORDER BY random() LIMIT 15)",
    # due within 20 seconds
    f"UPDATE sla_clock SET due_soon_at = now() - interval '1 second', due_at = now() + "
    f"random() * interval '20 seconds' WHERE id IN (SELECT id FROM sla_clock WHERE {RUNNING} "
    f"ORDER BY random() LIMIT 15)",
    # days late: breached and escalated to the top level at once
    f"UPDATE sla_clock SET due_soon_at = now() - interval '6 days', due_at = now() - "
    f"interval '5 days' WHERE id IN (SELECT id FROM sla_clock WHERE {RUNNING} "
    f"AND kind = 'resolve' ORDER BY random() LIMIT 5)",
]
TWICE = """
SELECT incident_id, changes->>'clock' AS clock, changes->>'round' AS round, action,
       changes->>'to_level' AS level, count(*) AS n
FROM audit_event WHERE action LIKE 'sla.%'
GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1"""


async def time_passes(db: srv.Database, seconds: float) -> int:
    moved = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(5)
        conn = await db.connect()
        try:
            for sql in SHIFTS:
                moved += int((await conn.execute(sql)).split()[-1])
        finally:
            await conn.close()
    return moved


async def settle(db: srv.Database, within: float) -> dict[str, int]:
    deadline = time.monotonic() + within
    while True:
        rows = await db.fetch("SELECT state, count(*) AS n FROM outbox_message GROUP BY state")
        states = {r["state"]: int(r["n"]) for r in rows}
        if not states.get("pending") or time.monotonic() > deadline:
            return states
        await asyncio.sleep(1)


async def run(seconds: float, users: int) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    db = stack.db
    try:
        srv.prepare(db)
        receiver, record = stack.receiver("two-receiver")
        await srv.wait_ready(receiver, "/")
        env = {**stack.callbacks(receiver), **FAST}
        apis = [stack.serve(f"two-api{i}", 1, embedded=False, **env) for i in (1, 2)]
        workers = [stack.worker(f"two-worker{i}", **env) for i in (1, 2)]
        await asyncio.gather(*(srv.wait_ready(a) for a in apis))
        mix, hotline = Mix(), Hotline()
        async with httpx.AsyncClient(base_url=apis[0].base) as client:
            await mix.probe(client)
        rec = Recorder()  # the webhook batches
        loads = [closed_loop(a.base, mix, users=max(1, users // 2), seconds=seconds)
                 for a in apis]
        results = await asyncio.gather(
            *loads, time_passes(db, seconds),
            hotline_batches(apis[1].base, hotline, rec, every=5, size=10,
                            seconds=seconds))
        recorders, moved = results[:2], results[2]
        await asyncio.sleep(25)  # the last clocks moved fall due, and are swept
        await settle(db, 120)
        alive = [w.popen.poll() is None for w in workers]
        codes = [w.stop() for w in workers]
        outbox = await settle(db, 0)

        twice = await db.fetch(TWICE)
        flags = Counter({r["action"]: int(r["n"]) for r in await db.fetch(
            "SELECT action, count(*) AS n FROM audit_event WHERE action LIKE 'sla.%' "
            "GROUP BY action")})
        notifications = int(await db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM outbox_message WHERE topic = 'notification'"))
        received = read(record)
        per_event = Counter(r["event_id"] for r in received)
        again = sum(1 for n in per_event.values() if n > 1)
        total = int(await db.scalar("SELECT count(*) FROM outbox_message"))  # type: ignore[arg-type]
        async with httpx.AsyncClient(base_url=apis[0].base) as client:
            verify = await client.get("/api/v1/audit/verify",
                                      headers={"Authorization": f"Bearer {mix.roles['auditor']}"})
        audit_ok = verify.status_code == 200 and verify.json().get("ok") is True
        errors = sum(r.errors for r in recorders) + rec.errors
        requests = sum(r.count for r in recorders) + rec.count
        failed_jobs = sum(w.log_path.read_text(errors="replace").count("job failed")
                          for w in workers if w.log_path)

        print(f"{requests} requests over 2 APIs in {seconds:.0f} s, errors {errors}; "
              f"{moved} clock deadlines moved; workers alive to the end {alive}, exit codes "
              f"{codes}, failed job runs {failed_jobs}")
        print(f"sweeper flags {dict(flags)}; notifications written {notifications}")
        print(f"outbox {outbox}; deliveries received {len(received)} ({len(per_event)} distinct "
              f"of {total} messages, {again} twice); audit verify {verify.status_code} "
              f"{verify.text[:120]}")
        for row in twice[:5]:
            print(f"  acted twice: {dict(row)}")
        ok = (not twice and sum(flags.values()) == notifications and sum(flags.values()) > 0
              and len(per_event) == total and again == 0 and not outbox.get("pending")
              and not outbox.get("parked") and audit_ok and errors == 0 and all(alive)
              and failed_jobs == 0)
        print(f"{'PASS' if ok else 'FAIL'} drill_two_workers: {sum(flags.values())} clock flags,"
              f" {len(twice)} acted twice; {len(per_event)}/{total} messages delivered, "
              f"{again} twice; errors {errors}; audit {'ok' if audit_ok else 'BROKEN'}")
        return ok
    finally:
        stack.close()
        await srv.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=6)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.minutes * 60, args.users)) else 1)


if __name__ == "__main__":
    main()
