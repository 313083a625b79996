"""Idempotency keys under real concurrency: two transactions that commit, on the test database
itself (cleaned up afterwards). On PostgreSQL the second insert waits on the unique index and
loses with an IntegrityError; on SQLite the second transaction waits for the write lock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridops.errors import Conflict
from gridops.incidents import idempotency
from gridops.incidents.models import IdempotencyRecord


@pytest.fixture
async def maker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as conn:
        await conn.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.subject.like("race-%")))


async def test_racing_requests_with_one_key_run_once(
        maker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    subject = f"race-{uuid.uuid4().hex[:8]}"
    claimed = asyncio.Event()

    async def first() -> idempotency.Claim:
        async with maker() as s, s.begin():
            claim = await idempotency.claim(s, subject=subject, key="k1", fingerprint="h",
                                            now=now)
            claimed.set()
            # Hold the claim uncommitted while the second request arrives.
            await asyncio.sleep(0.3)
            await idempotency.complete(s, claim, 201, {"id": "first"})
            return claim

    async def second() -> idempotency.Claim:
        await claimed.wait()
        async with maker() as s, s.begin():
            return await idempotency.claim(s, subject=subject, key="k1", fingerprint="h",
                                           now=now)

    a, b = await asyncio.gather(first(), second())
    assert not a.replay
    assert b.replay
    assert (b.status_code, b.response) == (201, {"id": "first"})


async def test_a_claim_rolled_back_frees_the_key(
        maker: async_sessionmaker[AsyncSession], now: datetime) -> None:
    subject = f"race-{uuid.uuid4().hex[:8]}"

    async def failing_request() -> None:
        async with maker() as s, s.begin():
            await idempotency.claim(s, subject=subject, key="k2", fingerprint="h", now=now)
            raise RuntimeError("the intake failed")

    with pytest.raises(RuntimeError):
        await failing_request()
    async with maker() as s, s.begin():
        claim = await idempotency.claim(s, subject=subject, key="k2", fingerprint="h", now=now)
        assert not claim.replay
        await idempotency.complete(s, claim, 201, {"id": "second"})
    async with maker() as s, s.begin():
        with pytest.raises(Conflict):
            await idempotency.claim(s, subject=subject, key="k2", fingerprint="other", now=now)


def test_fingerprint_ignores_key_order_but_not_content_or_files() -> None:
    h = idempotency.request_hash
    assert h({"a": 1, "b": "路灯"}) == h({"b": "路灯", "a": 1})
    assert h({"a": 1}) != h({"a": 2})
    assert h({"a": 1}, ["x"]) != h({"a": 1}, ["y"])
    assert h({"a": 1}, ["x", "y"]) != h({"a": 1}, ["y", "x"])
