"""Drill: `kill -9` of uvicorn workers while incidents are being created.

    .venv/bin/python bench/drill_kill9.py [--seconds 40] [--kills 3] [--users 12]

`gridops serve --workers 2` on a scratch database. Virtual users create incidents (each with a
unique tagged text and an `Idempotency-Key`), read and act as in the load mix; every few seconds
one uvicorn worker is killed with SIGKILL (uvicorn starts a new one). A create that got no answer
is retried with the same key and body, as a phone app would; the answer is then either the
incident created before the crash (replayed) or a new one.
Pass: every acknowledged creation (201) is in the database exactly once, no tagged text is stored
twice, every incident has its `incident.received` event, `GET /api/v1/audit/verify` is ok, and
the service answered again after each kill.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from collections import Counter

import _server as srv
import httpx
from _load import closed_loop
from _mix import API, Mix, _record

TAG_SQL = r"SELECT substring(text from '编号([0-9a-f]+-[0-9]+)') AS tag, id FROM incident"


class IdempotentMix(Mix):
    """Creates carry Idempotency-Key = the tag; unanswered ones are retried until answered."""

    retried: int = 0
    replayed: int = 0

    async def create(self, client: httpx.AsyncClient) -> tuple[str, int]:
        body, point, tag = self.bodies.next()
        headers = {**self._auth("grid", point.grid_code), "Idempotency-Key": f"drill-{tag}"}
        for attempt in range(20):
            try:
                response = await client.post(API, json=body, headers=headers)
            except httpx.TransportError:
                self.retried += 1
                await asyncio.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code == 201:
                document = response.json()
                self.acknowledged[tag] = document["id"]
                self.replayed += response.headers.get("Idempotent-Replayed") == "true"
                self._remember(_record(document))
            return "create", response.status_code
        raise httpx.TransportError(f"no answer for {tag} after 20 attempts")


async def killer(server: srv.Process, kills: int, every: float,
                 log: list[tuple[int, float]]) -> None:
    expected = len(server.workers())
    for _ in range(kills):
        await asyncio.sleep(every)
        # uvicorn replaces a dead worker; kill only when it has, so one stays up meanwhile.
        for _ in range(600):
            if len(server.workers()) >= expected:
                break
            await asyncio.sleep(0.2)
        victim = server.workers()[-1]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        # The service must answer again (the other worker at once, a new one soon after).
        async with httpx.AsyncClient(base_url=server.base, timeout=2) as client:
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        log.append((victim, time.monotonic() - t0))


async def run(seconds: float, kills: int, users: int) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    try:
        srv.prepare(stack.db)
        server = stack.serve("kill9-gridops", 2)
        await srv.wait_ready(server)
        mix = IdempotentMix()
        async with httpx.AsyncClient(base_url=server.base) as client:
            await mix.probe(client)
        before = server.workers()
        log: list[tuple[int, float]] = []
        recorder, _ = await asyncio.gather(
            closed_loop(server.base, mix, users=users, seconds=seconds),
            killer(server, kills, seconds / (kills + 1), log))
        await srv.wait_ready(server)
        after = server.workers()

        rows = await stack.db.fetch(TAG_SQL)
        stored = Counter(r["tag"] for r in rows if r["tag"])
        by_tag = {r["tag"]: str(r["id"]) for r in rows if r["tag"]}
        missing = [t for t in mix.acknowledged if t not in stored]
        wrong = [t for t, i in mix.acknowledged.items() if t in by_tag and by_tag[t] != i]
        twice = [t for t, n in stored.items() if n > 1]
        unaudited = int(await stack.db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM incident i WHERE NOT EXISTS (SELECT 1 FROM audit_event a "
            "WHERE a.incident_id = i.id AND a.action = 'incident.received')"))
        async with httpx.AsyncClient(base_url=server.base) as client:
            verify = await client.get("/api/v1/audit/verify",
                                      headers={"Authorization": f"Bearer {mix.roles['auditor']}"})
        audit_ok = verify.status_code == 200 and verify.json().get("ok") is True
        server_errors = {k: n for k, n in recorder.statuses.items() if k[1] >= 500}

        print(f"{recorder.count} requests in {seconds:.0f} s with {users} users; workers "
              f"{before} -> {after}; killed {[pid for pid, _ in log]}, service answering again "
              f"after {', '.join(f'{s * 1000:.0f} ms' for _, s in log)}")
        print(f"creates acknowledged {len(mix.acknowledged)}, retried after a crash "
              f"{mix.retried}, answered by replay {mix.replayed}; stored tagged incidents "
              f"{len(stored)}; missing {len(missing)}, other id {len(wrong)}, stored twice "
              f"{len(twice)}; without incident.received {unaudited}")
        print(f"answers >= 500: {server_errors or 'none'}; transport failures of reads and "
              f"actions (not retried): {dict(recorder.failures) or 'none'}")
        print(f"audit verify: {verify.status_code} {verify.text[:160]}")
        ok = (not missing and not wrong and not twice and unaudited == 0 and audit_ok
              and not server_errors and len(log) == kills and len(after) == len(before))
        print(f"{'PASS' if ok else 'FAIL'} drill_kill9: {kills} workers killed, "
              f"{len(mix.acknowledged)} acknowledged creations all stored once "
              f"(missing {len(missing)}, twice {len(twice)}), audit "
              f"{'ok' if audit_ok else 'BROKEN'}, back within "
              f"{max((s for _, s in log), default=0) * 1000:.0f} ms")
        return ok
    finally:
        stack.close()
        await srv.drop_database(stack.db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--users", type=int, default=12)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.seconds, args.kills, args.users)) else 1)


if __name__ == "__main__":
    main()
