"""The load engine shared by the benchmarks and drills: asyncio + httpx against 127.0.0.1, bounded
in requests in flight and in time.

- `closed_loop`: N virtual users, each sending its next request when the last one answered; the
  completion rate is the sustained throughput at that concurrency.
- `open_loop`: requests start on a fixed schedule whatever the answers do; latency is counted from
  the scheduled start, so a stalled server cannot hide its queue (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from _server import percentile

# A request: given a client, do one call and return (label, status).
Call = Callable[[httpx.AsyncClient], Awaitable[tuple[str, int]]]
MAX_IN_FLIGHT = 256
PER_CLIENT = 8  # open loop: connections per httpx client


@dataclass
class Recorder:
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport errors, by type
    dropped: int = 0  # open loop: not started because MAX_IN_FLIGHT were already waiting
    unfinished: int = 0  # open loop: still waiting for an answer when the run was cut off
    # open loop: how late the load engine started calls (its own lag, in seconds); a late start
    # counts in the latency, so a lagging engine shows up here and not as the server's fault
    lags: list[float] = field(default_factory=list)

    def add(self, label: str, status: int, seconds: float) -> None:
        self.latencies[label].append(seconds)
        self.statuses[(label, status)] += 1

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    def all_latencies(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    @property
    def count(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors(self) -> int:
        """Answers of 5xx, transport failures and dropped starts. 4xx are the caller's doing
        and are reported by label (a lost race of two actions is a correct 409)."""
        server = sum(n for (_, status), n in self.statuses.items() if status >= 500)
        return server + sum(self.failures.values()) + self.dropped + self.unfinished

    def problems(self) -> dict[str, int]:
        """Everything but 2xx answers, by kind: `status 503`, a transport failure's type,
        `dropped` (not started), `unfinished` (no answer when the run ended)."""
        found: Counter[str] = Counter()
        for (_, status), n in self.statuses.items():
            if status >= 300:
                found[f"status {status}"] += n
        found.update(self.failures)
        found["dropped"] += self.dropped
        found["unfinished"] += self.unfinished
        return {k: v for k, v in found.items() if v}

    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self, label: str | None = None) -> dict[str, float]:
        values = self.latencies[label] if label else self.all_latencies()
        return {"n": len(values), "p50_ms": percentile(values, 0.50) * 1000,
                "p95_ms": percentile(values, 0.95) * 1000,
                "p99_ms": percentile(values, 0.99) * 1000,
                "max_ms": max(values, default=float("nan")) * 1000}


async def _one(client: httpx.AsyncClient, call: Call, recorder: Recorder, t0: float,
               lag: bool = False) -> None:
    if lag:
        recorder.lags.append(time.perf_counter() - t0)
    try:
        label, status = await call(client)
    except httpx.HTTPError as exc:
        recorder.failures[type(exc).__name__] += 1
        return
    recorder.add(label, status, time.perf_counter() - t0)


def client(base: str, connections: int, timeout: float = 30.0,
           on_response: Callable[[httpx.Response], Awaitable[None]] | None = None,
           ) -> httpx.AsyncClient:
    # Idle connections are closed before uvicorn's 5 s keep-alive timeout closes them: reusing
    # one the server is closing at that moment fails the call (ReadError) for no fault of its.
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                          keepalive_expiry=2.0)
    hooks = {"response": [on_response]} if on_response else {}
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout, event_hooks=hooks)


async def closed_loop(base: str, call: Call, *, users: int, seconds: float,
                      max_requests: int = 10_000_000,
                      on_response: Callable[[httpx.Response], Awaitable[None]] | None = None,
                      users_per_client: int | None = None) -> Recorder:
    """`users_per_client` spreads the users over several httpx clients (one client's CPU per
    call grows with the calls in it); by default they all share one client."""
    recorder = Recorder()
    deadline = time.perf_counter() + seconds
    budget = iter(range(max_requests))
    per_client = users_per_client or users

    async def user(c: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline and next(budget, None) is not None:
            await _one(c, call, recorder, time.perf_counter())

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client(base, per_client,
                                                          on_response=on_response))
                   for _ in range(-(-users // per_client))]
        recorder.started = time.perf_counter()
        await asyncio.gather(*(user(clients[n // per_client]) for n in range(users)))
    recorder.finished = time.perf_counter()
    return recorder


async def open_loop(base: str, call: Call, *, rate: float, seconds: float) -> Recorder:
    recorder = Recorder()
    tasks: set[asyncio.Task[None]] = set()
    # Calls go round several clients of a few connections each: one httpx client's CPU per call
    # grows with the calls waiting in it (≈2 ms at 16, ≈6 ms at 64 in flight, measured), so one
    # client of MAX_IN_FLIGHT connections starved the servers of CPU exactly when they fell
    # behind, and a short stall snowballed until calls were dropped.
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(client(base, PER_CLIENT))
                   for _ in range(MAX_IN_FLIGHT // PER_CLIENT)]
        start = recorder.started = time.perf_counter()
        for i in range(int(rate * seconds)):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(tasks) >= MAX_IN_FLIGHT:
                recorder.dropped += 1
                continue
            c = clients[i % len(clients)]
            task = asyncio.create_task(_one(c, call, recorder, scheduled, lag=True))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        recorder.unfinished = len(tasks)
        left = list(tasks)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
    recorder.finished = time.perf_counter()
    return recorder
