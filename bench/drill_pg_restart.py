"""Drill: PostgreSQL goes away under load and comes back.

    .venv/bin/python bench/drill_pg_restart.py [--seconds 45] [--down 6] [--users 8]

`gridops serve --workers 2` (embedded sweeper and outbox) under the load mix. A third of the way
in, the local cluster is stopped (`pg_ctlcluster --skip-systemctl-redirect 15 main stop -m fast`),
held down `--down` seconds, and started again (`--down 0`: one `restart`). The cluster is started
again whatever happens to this script.
Pass: while the database is down (from 1 s after the stop returned) every answer is 503 with
`Retry-After` (no 500, no dropped connection); after it is back the service answers 2xx again by
itself within seconds (no restart of gridops); no half-written incident (each has its
`incident.received` event, each dispatched one its two clocks); every acknowledged creation is
stored; the audit chains verify.

The cluster is shared: the drill waits (up to 2 minutes) until no other database is busy, and
says so. `--force` skips the wait.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import Counter

import _server as srv
import httpx
from _load import closed_loop
from _mix import Mix

CLUSTER = ("15", "main")
GRACE = 1.0


def pg_ctl(action: str) -> float:
    t0 = time.monotonic()
    argv = ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, action]
    if action in ("stop", "restart"):
        argv += ["-m", "fast"]
    subprocess.run(argv, check=True, capture_output=True)
    return time.monotonic() - t0


def pg_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


async def wait_quiet(db: srv.Database, within: float) -> int:
    """Seconds waited until no other database has an active query (other people's tests)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < within:
        busy = int(await db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname <> $1 "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'", db.name))
        if busy == 0:
            break
        await asyncio.sleep(2)
    return int(time.monotonic() - t0)


async def outage(down: float, marks: dict[str, float], delay: float) -> None:
    await asyncio.sleep(delay)
    try:
        marks["stop"] = time.monotonic()
        if down <= 0:
            pg_ctl("restart")
            marks["start"] = marks["up"] = time.monotonic()
            return
        pg_ctl("stop")
        marks["down"] = time.monotonic()
        await asyncio.sleep(down)
        marks["start"] = time.monotonic()
        pg_ctl("start")
        marks["up"] = time.monotonic()
    finally:
        if not pg_up():
            pg_ctl("start")


async def run(seconds: float, down: float, users: int, force: bool) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    db = stack.db
    try:
        srv.prepare(db)
        server = stack.serve("pgrestart-gridops", 2)
        await srv.wait_ready(server)
        mix = Mix()
        async with httpx.AsyncClient(base_url=server.base) as client:
            await mix.probe(client)
        waited = 0 if force else await wait_quiet(db, 120)
        seen: list[tuple[float, int, str | None]] = []

        async def on_response(response: httpx.Response) -> None:
            seen.append((time.monotonic(), response.status_code,
                         response.headers.get("retry-after")))

        marks: dict[str, float] = {}
        recorder, _ = await asyncio.gather(
            closed_loop(server.base, mix, users=users, seconds=seconds, on_response=on_response),
            outage(down, marks, seconds / 3))
        if not pg_up():
            pg_ctl("start")

        # "Down" = from 1 s after stop returned until start was called: the client notes an
        # answer when its event loop gets to it, so one sent just before the stop may be noted
        # a little after (this process shares the two cores with everything else).
        during = [(s, r) for t, s, r in seen
                  if marks.get("down", 1e18) + GRACE <= t < marks["start"]]
        after_up = [(t, s) for t, s, _ in seen if t >= marks["up"]]
        first_ok = next((t for t, s in after_up if s < 500), None)
        recovery = (first_ok - marks["up"]) if first_ok is not None else float("inf")
        late_errors = [s for t, s in after_up if s >= 500 and first_ok and t > first_ok + 5]
        bad_down = [(s, r) for s, r in during if s != 503 or not r]
        statuses = Counter(s for _, s, _ in seen)

        half = int(await db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM incident i WHERE NOT EXISTS (SELECT 1 FROM audit_event a "
            "WHERE a.incident_id = i.id AND a.action = 'incident.received') OR (i.state = "
            "'dispatched' AND (SELECT count(*) FROM sla_clock c WHERE c.incident_id = i.id) < 2)"))
        ids = {str(r["id"]) for r in await db.fetch("SELECT id FROM incident")}
        missing = [t for t, i in mix.acknowledged.items() if i not in ids]
        async with httpx.AsyncClient(base_url=server.base) as client:
            verify = await client.get("/api/v1/audit/verify",
                                      headers={"Authorization": f"Bearer {mix.roles['auditor']}"})
        audit_ok = verify.status_code == 200 and verify.json().get("ok") is True
        five = Counter(s for s, _ in during)

        print(f"waited {waited} s for a quiet cluster; {recorder.count} requests in "
              f"{seconds:.0f} s; answers by status {dict(statuses)}; transport failures "
              f"{dict(recorder.failures) or 'none'}")
        if "down" in marks:
            print(f"stop took {marks['down'] - marks['stop']:.1f} s, down {down:.0f} s, start "
                  f"took {marks['up'] - marks['start']:.1f} s")
        print(f"while down: {len(during)} answers {dict(five)}, without Retry-After "
              f"{sum(1 for s, r in during if s == 503 and not r)}; first 2xx/4xx "
              f"{recovery:.2f} s after the cluster was up; 5xx later than 5 s after that: "
              f"{len(late_errors)}")
        refused = {f"{label} {status}": n for (label, status), n in recorder.statuses.items()
                   if 400 <= status < 500}
        print(f"4xx by call: {refused or 'none'}")
        print(f"half-written incidents {half}; acknowledged creations {len(mix.acknowledged)}, "
              f"missing {len(missing)}; audit verify {verify.status_code} {verify.text[:120]}")
        ok = (not bad_down and recovery < 10 and not late_errors and half == 0 and not missing
              and audit_ok and not recorder.failures and 500 not in statuses)
        print(f"{'PASS' if ok else 'FAIL'} drill_pg_restart: {len(during)} answers while down, "
              f"all 503 with Retry-After: {not bad_down}; back {recovery:.2f} s after PostgreSQL;"
              f" half-written {half}; lost {len(missing)}; audit {'ok' if audit_ok else 'BROKEN'}")
        return ok
    finally:
        if not pg_up():
            pg_ctl("start")
        stack.close()
        await srv.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=45.0)
    parser.add_argument("--down", type=float, default=6.0)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--force", action="store_true", help="do not wait for a quiet cluster")
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.seconds, args.down, args.users, args.force)) else 1)


if __name__ == "__main__":
    main()
