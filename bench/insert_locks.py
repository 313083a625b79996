"""What the foreign keys of `incident` to the shared rows cost a create's one statement under
concurrency: the same INSERT with and without the keys to `ruleset`, `unit` and `grid`.

    .venv/bin/python bench/insert_locks.py [--users 16] [--seconds 8] [--rounds 4]

Every create's statement checks its foreign keys, and a check share-locks the row it finds: the
one active `ruleset` row for every create, the few busiest `unit` rows for most. Share locks of
concurrent transactions on one row make a MultiXact. Does that cost PostgreSQL enough to give up
the keys? On a scratch database (migrated, demo district), one create is made through the app
in-process to capture its statement and parameters (`inserts.insert_all`, PostgreSQL); then
`--users` connections replay it with fresh ids for `--seconds`, the keys dropped and added back
round by round in turns. Prints, per round, the inserts per second and the CPU of the PostgreSQL
backends per insert (from /proc, same host), the MultiXact SLRU pages touched per insert
(`pg_stat_slru`, cluster-wide: other databases' traffic counts too), and the medians with and
without the keys.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import _server as srv
import asyncpg
from intake_cost import measure
from sqlalchemy.dialects import postgresql

KEYS = ("ALTER TABLE incident ADD FOREIGN KEY (ruleset_version) REFERENCES ruleset (version), "
        "ADD FOREIGN KEY (unit_code) REFERENCES unit (code), "
        "ADD FOREIGN KEY (grid_code) REFERENCES grid (code)")
MULTIXACT_PAGES = ("SELECT coalesce(sum(blks_hit + blks_read + blks_zeroed), 0) FROM pg_stat_slru "
                   "WHERE name LIKE 'MultiXact%'")
SHARED_KEYS = ("SELECT conname FROM pg_constraint WHERE conrelid = 'incident'::regclass "
               "AND contype = 'f' AND confrelid IN "
               "('ruleset'::regclass, 'unit'::regclass, 'grid'::regclass)")


def capture() -> tuple[list[dict[str, Any]], Any]:
    """Wrap `inserts._pg_params` so the next create hands over its statement's parameters."""
    from gridops.incidents import inserts

    seen: list[dict[str, Any]] = []
    params_of = inserts._pg_params

    def keep(rows: inserts.Rows) -> dict[str, Any]:
        seen.append(params_of(rows))
        return seen[-1]

    return seen, keep


def fresh(params: dict[str, Any], names: tuple[str, ...]) -> list[Any]:
    """The captured parameters with a new incident id (and new clock ids)."""
    p, new = dict(params), uuid.uuid4()
    p["i_id"] = [new]
    for name in ("c_incident_id", "e_incident_id", "m_incident_id"):
        p[name] = [new] * len(p[name])
    p["c_id"] = [uuid.uuid4() for _ in p["c_id"]]
    p["e_stream"] = [f"incident:{new}"] * len(p["e_stream"])
    return [p[n] for n in names]


async def replay(dsn: str, sql: str, params: dict[str, Any], names: tuple[str, ...],
                 users: int, seconds: float) -> tuple[float, float, float]:
    conns = [await asyncpg.connect(dsn) for _ in range(users)]
    try:
        for conn in conns:  # prepared, planned
            await conn.fetch(sql, *fresh(params, names))
        pids = [conn.get_server_pid() for conn in conns]
        before = sum(srv.process_cpu(pid) for pid in pids)
        pages = int(await conns[0].fetchval(MULTIXACT_PAGES))
        stop, count = time.perf_counter() + seconds, 0

        async def loop(conn: asyncpg.Connection) -> None:
            nonlocal count
            while time.perf_counter() < stop:
                await conn.fetch(sql, *fresh(params, names))
                count += 1

        await asyncio.gather(*(loop(conn) for conn in conns))
        cpu = sum(srv.process_cpu(pid) for pid in pids) - before
        pages = int(await conns[0].fetchval(MULTIXACT_PAGES)) - pages
        return count / seconds, 1000 * cpu / max(1, count), pages / max(1, count)
    finally:
        for conn in conns:
            await conn.close()


async def set_keys(dsn: str, present: bool) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for (name,) in await conn.fetch(SHARED_KEYS):
            await conn.execute(f'ALTER TABLE incident DROP CONSTRAINT "{name}"')
        if present:
            await conn.execute(KEYS)
    finally:
        await conn.close()


async def run(users: int, seconds: float, rounds: int) -> None:
    from gridops.incidents import inserts

    db = await srv.create_database("gridops_locks")
    try:
        srv.prepare(db)
        seen, keep = capture()
        inserts._pg_params = keep  # type: ignore[assignment]
        await measure("create", 1, db, None)
        params = seen[-1]
        sql, names = inserts._pg_compiled(postgresql.asyncpg.dialect())
        dsn = db.dsn.replace("postgresql+asyncpg://", "postgresql://")
        cpu: dict[bool, list[float]] = {True: [], False: []}
        for r in range(rounds):
            for present in ((True, False) if r % 2 == 0 else (False, True)):
                await set_keys(dsn, present)
                rate, ms, pages = await replay(dsn, sql, params, names, users, seconds)
                cpu[present].append(ms)
                print(f"round {r + 1} {'with' if present else 'without':7s} keys, {users} users: "
                      f"{rate:7.1f} inserts/s, PostgreSQL {ms:.3f} ms and {pages:.2f} MultiXact "
                      "SLRU pages per insert", flush=True)
        with_keys, without = statistics.median(cpu[True]), statistics.median(cpu[False])
        print(f"median PostgreSQL CPU per insert: with the keys {with_keys:.3f} ms, without "
              f"{without:.3f} ms ({without - with_keys:+.3f} ms)")
    finally:
        await srv.drop_database(db)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(run(args.users, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
