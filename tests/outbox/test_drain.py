from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.outbox import service as outbox
from gridops.outbox.jobs import DeliveryError, backoff, drain
from gridops.outbox.models import OutboxMessage
from gridops.settings import OutboxSettings

CFG = OutboxSettings(max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=10)


async def _enqueue(sessionmaker: async_sessionmaker[AsyncSession], now: datetime,
                   keys: list[str]) -> None:
    async with sessionmaker() as session, session.begin():
        for n, key in enumerate(keys):
            await outbox.enqueue(session, "t", {"n": n, "key": key}, ordering_key=key, now=now)


async def test_delivers_in_order_per_key_and_marks_delivered(
        sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    await _enqueue(sessionmaker, now, ["a", "b", "a", "a", "b"])
    seen: list[tuple[str, int]] = []

    async def deliver(message: OutboxMessage) -> None:
        seen.append((message.ordering_key, message.payload["n"]))

    for _ in range(4):
        await drain(sessionmaker, now, CFG, {"t": deliver})
    assert [n for k, n in seen if k == "a"] == [0, 2, 3]
    assert [n for k, n in seen if k == "b"] == [1, 4]
    async with sessionmaker() as session:
        states = (await session.scalars(select(OutboxMessage.state))).all()
    assert set(states) == {"delivered"}


async def test_failure_backs_off_blocks_its_key_then_parks(
        sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    await _enqueue(sessionmaker, now, ["k", "k", "other"])
    delivered: list[int] = []

    async def deliver(message: OutboxMessage) -> None:
        if message.ordering_key == "k":
            raise DeliveryError("receiver down")
        delivered.append(message.payload["n"])

    t = now
    for _ in range(CFG.max_attempts):
        report = await drain(sessionmaker, t, CFG, {"t": deliver})
        t += timedelta(seconds=CFG.backoff_max_seconds + 1)
    assert delivered == [2]  # the other key is not held back
    async with sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [r.state for r in rows] == ["parked", "pending", "delivered"]
    assert rows[0].attempts == CFG.max_attempts
    assert rows[0].last_error == "DeliveryError: receiver down"
    assert rows[1].attempts == 0  # never tried: its predecessor is not delivered
    assert report.parked == 1


async def test_replay_requeues_a_parked_message_with_its_event_id(
        client: httpx.AsyncClient, auth: Callable[..., dict[str, str]],
        sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    async with sessionmaker() as session, session.begin():
        message = await outbox.enqueue(session, "t", {}, ordering_key="x", now=now)
        message.state, message.attempts = "parked", 3
    event_id = message.event_id
    listed = await client.get("/api/v1/outbox/messages?state=parked", headers=auth("admin"))
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["items"]] == [message.id]
    refused = await client.post(f"/api/v1/outbox/messages/{message.id}/replay",
                                headers=auth("dispatcher"))
    assert refused.status_code == 403
    response = await client.post(f"/api/v1/outbox/messages/{message.id}/replay",
                                 headers=auth("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "pending"
    assert response.json()["event_id"] == str(event_id)
    again = await client.post(f"/api/v1/outbox/messages/{message.id}/replay",
                              headers=auth("admin"))
    assert again.status_code == 409
    missing = await client.post("/api/v1/outbox/messages/999999/replay", headers=auth("admin"))
    assert missing.status_code == 404


def test_backoff_grows_exponentially_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    cfg = OutboxSettings(backoff_base_seconds=2, backoff_max_seconds=60)
    firsts = [backoff(1, cfg, rng) for _ in range(50)]
    assert all(1 <= b <= 2 for b in firsts)
    assert all(16 <= backoff(5, cfg, rng) <= 32 for _ in range(50))
    assert all(30 <= backoff(20, cfg, rng) <= 60 for _ in range(50))


async def test_a_stop_signal_hands_claimed_messages_back_untried(
        sessionmaker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    import asyncio

    await _enqueue(sessionmaker, now, ["a", "b", "c"])
    stop = asyncio.Event()
    delivered: list[str] = []

    async def deliver(message: OutboxMessage) -> None:
        delivered.append(message.ordering_key)
        stop.set()  # SIGTERM arrives while the first delivery is in flight

    report = await drain(sessionmaker, now, CFG, {"t": deliver}, stop)
    assert delivered == ["a"]
    assert (report.delivered, report.released) == (1, 2)
    async with sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.state, r.attempts, r.available_at) for r in rows[1:]] == [
        ("pending", 0, now), ("pending", 0, now)]
