"""Drill: the 12345 platform's callback endpoint is down for minutes.

    .venv/bin/python bench/drill_receiver_down.py [--down 150] [--orders 40]

`gridops serve --workers 2` (embedded outbox drain, default retry settings) with its callback URL
pointing at bench/_receiver.py, which is NOT running at first. Signed webhook batches bring
`--orders` hotline orders; each is then signed for, resolved and checked on site, so every
incident owes the platform four updates in order (dispatched, accepted, resolved, closed).
After `--down` seconds the receiver starts on the same port.
Pass: while it is down nothing is lost or parked (the outbox holds every update as pending);
once it is up, every update arrives, exactly once, and for each incident in the order the
changes happened (outbox sequence and event order); figures: how long until all were delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter, defaultdict

import _server as srv
import httpx
from _mix import Hotline, Mix, _record
from _receiver import read

EVENTS = ("dispatched", "accepted", "resolved", "closed")


async def outbox_states(db: srv.Database) -> dict[str, int]:
    rows = await db.fetch("SELECT state, count(*) AS n FROM outbox_message "
                          "WHERE topic = 'hotline.update' GROUP BY state")
    return {r["state"]: int(r["n"]) for r in rows}


async def walk(mix: Mix, client: httpx.AsyncClient, incident_id: str) -> list[int]:
    """Sign for, resolve and verify one incident; the statuses of the steps."""
    response = await client.get(f"/api/v1/incidents/{incident_id}",
                                headers=mix._auth("dispatcher"))
    incident = _record(response.json())
    steps = {"triage": mix._dispatch, "dispatched": mix._accept,
             "in_progress": mix._resolve, "resolved": mix._verify}
    statuses: list[int] = []
    while incident.state in steps and len(statuses) < 5:
        _, response = await steps[incident.state](client, incident)
        statuses.append(response.status_code)
        if response.status_code != 200:
            break
        incident = _record(response.json())
    return statuses


async def run(down: float, orders: int) -> bool:
    stack = srv.Stack(db=await srv.create_database())
    assert stack.db is not None
    db = stack.db
    try:
        srv.prepare(db)
        port = srv.free_port()
        callbacks = {"GRIDOPS_HOTLINE__CALLBACK_URL": f"http://127.0.0.1:{port}/hotline",
                     "GRIDOPS_OUTBOX__NOTIFICATION_URL": f"http://127.0.0.1:{port}/notify"}
        server = stack.serve("rxdown-gridops", 2, **callbacks)
        await srv.wait_ready(server)
        mix, hotline = Mix(), Hotline()
        t_down = time.monotonic()
        created: list[str] = []
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            while len(created) < orders:
                await hotline.send(client, min(20, orders - len(created)))
                created = [str(r["id"]) for r in await db.fetch(
                    "SELECT id FROM incident WHERE channel = 'hotline_12345' ORDER BY created_at")]
            steps: Counter[int] = Counter()
            for incident_id in created:
                steps.update(await walk(mix, client, incident_id))
        written = int(await db.scalar(  # type: ignore[arg-type]
            "SELECT count(*) FROM outbox_message WHERE topic = 'hotline.update'"))
        await asyncio.sleep(max(0.0, down - (time.monotonic() - t_down)))
        held = await outbox_states(db)
        attempts = await db.fetch("SELECT max(attempts) AS most, min(attempts) AS least FROM "
                                  "outbox_message WHERE topic = 'hotline.update'")

        receiver, record = stack.receiver("rxdown-receiver", port)
        t_up = time.monotonic()
        await srv.wait_ready(receiver, "/")
        drained_after = None
        while time.monotonic() - t_up < 900:
            states = await outbox_states(db)
            if states.get("delivered", 0) == written:
                drained_after = time.monotonic() - t_up
                break
            await asyncio.sleep(1)
        final = await outbox_states(db)

        received = [r for r in read(record) if r["path"] == "/hotline"]
        per_event = Counter(r["event_id"] for r in received)
        twice = sum(1 for n in per_event.values() if n > 1)
        by_incident: dict[str, list[dict[str, object]]] = defaultdict(list)
        for r in received:
            by_incident[r["payload"]["incident_id"]].append(r)
        out_of_order = 0
        for updates in by_incident.values():
            sequences = [u["sequence"] for u in updates]
            events = [u["payload"]["event"] for u in updates]
            known = [e for e in events if e in EVENTS]
            if sequences != sorted(sequences) or known != sorted(known, key=EVENTS.index):
                out_of_order += 1
        unsigned = sum(1 for r in received if not r["signed"])

        print(f"{len(created)} hotline incidents; lifecycle steps {dict(steps)}; "
              f"{written} updates written while the receiver was down")
        print(f"after {down:.0f} s down: outbox {held} (attempts per message "
              f"{attempts[0]['least']}..{attempts[0]['most']})")
        print(f"receiver up: all delivered after "
              f"{drained_after if drained_after is None else round(drained_after, 1)} s; outbox "
              f"{final}; received {len(received)} ({len(per_event)} distinct, {twice} twice, "
              f"{unsigned} badly signed) for {len(by_incident)} incidents, out of order "
              f"{out_of_order}")
        ok = (held.get("pending", 0) == written and not held.get("parked")
              and drained_after is not None and len(per_event) == written and twice == 0
              and out_of_order == 0 and unsigned == 0 and written >= 3 * len(created))
        print(f"{'PASS' if ok else 'FAIL'} drill_receiver_down: {written} updates held "
              f"{down:.0f} s ({held.get('pending', 0)} pending, {held.get('parked', 0)} parked), "
              f"then delivered in {drained_after or float('nan'):.1f} s, each once "
              f"({twice} twice), in order per incident ({out_of_order} out of order)")
        return ok
    finally:
        stack.close()
        await srv.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--down", type=float, default=150.0, help="seconds the receiver is down")
    parser.add_argument("--orders", type=int, default=40)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.down, args.orders)) else 1)


if __name__ == "__main__":
    main()
