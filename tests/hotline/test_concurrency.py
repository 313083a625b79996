"""Concurrent deliveries of the same orders on PostgreSQL, through real separate connections and
real commits (a fresh database of its own: the usual fixtures share one rolled-back connection)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gridops import deps
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.db import create_sessionmaker
from gridops.incidents.models import Incident
from gridops.main import create_app
from gridops.outbox.models import OutboxMessage
from gridops.places import service as places
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.conftest import DEMO_PACK, scratch_database
from tests.hotline.conftest import order, outage, signed
from tests.routing.routing_sample import full_document

pytestmark = pytest.mark.postgres


@pytest.fixture
async def own_db(settings: Settings, now: datetime) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    async with scratch_database(settings, pool_size=12) as (own, engine):
        async with create_sessionmaker(engine).begin() as session:
            await places.load_pack(session, DEMO_PACK, now=now)
            await routing.load_table(session, full_document(), actor=SYSTEM, now=now)
        yield own, engine


@pytest.fixture
async def real_client(own_db: tuple[Settings, AsyncEngine],
                      now: datetime) -> AsyncIterator[httpx.AsyncClient]:
    own, engine = own_db
    app = create_app(own)
    app.state.sessionmaker = create_sessionmaker(engine)  # each request: its own connection
    app.dependency_overrides[deps.utcnow] = lambda: now
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


async def _send(client: httpx.AsyncClient, orders: list[dict[str, Any]], now: datetime,
                settings: Settings) -> list[dict[str, Any]]:
    body, headers = signed({"orders": orders}, now=now, settings=settings)
    response = await client.post("/webhooks/12345", content=body, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


async def _counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with create_sessionmaker(engine)() as session:
        incidents = await session.scalar(select(func.count()).select_from(Incident))
        received = await session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "incident.received"))
        updates = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return int(incidents or 0), int(received or 0), int(updates or 0)


async def test_same_order_in_parallel_makes_one_incident(
        real_client: httpx.AsyncClient, own_db: tuple[Settings, AsyncEngine],
        now: datetime, settings: Settings) -> None:
    own, engine = own_db
    answers = await asyncio.gather(*(_send(real_client, [order("2026112499001")], now, own)
                                     for _ in range(8)))
    statuses = Counter(a[0]["status"] for a in answers)
    assert statuses == {"created": 1, "duplicate": 7}
    assert len({a[0]["incident_id"] for a in answers}) == 1
    assert await _counts(engine) == (1, 1, 1)


async def test_overlapping_batches_in_any_order_neither_deadlock_nor_duplicate(
        real_client: httpx.AsyncClient, own_db: tuple[Settings, AsyncEngine],
        now: datetime) -> None:
    own, engine = own_db
    orders = [(outage if n % 3 == 0 else order)(f"20261124{n:05d}") for n in range(30)]
    rng = random.Random(5)
    batches = [rng.sample(orders, len(orders)) for _ in range(6)]
    answers = await asyncio.gather(*(_send(real_client, b, now, own) for b in batches))
    created = Counter(r["order_no"] for a in answers for r in a if r["status"] == "created")
    assert set(created.values()) == {1}
    assert len(created) == 30
    assert {r["status"] for a in answers for r in a} == {"created", "duplicate"}
    assert await _counts(engine) == (30, 30, 30)


async def test_parallel_updates_of_one_order_apply_once_each(
        real_client: httpx.AsyncClient, own_db: tuple[Settings, AsyncEngine],
        now: datetime) -> None:
    own, engine = own_db
    await _send(real_client, [order("2026112499002")], now, own)
    update = outage("2026112499002", version=2, event="updated")
    answers = await asyncio.gather(*(_send(real_client, [update], now, own) for _ in range(6)))
    assert Counter(a[0]["status"] for a in answers) == {"updated": 1, "duplicate": 5}
    async with create_sessionmaker(engine)() as session:
        actions = list(await session.scalars(select(AuditEvent.action).where(
            AuditEvent.action.in_(("incident.updated", "incident.routed")))))
    assert sorted(actions) == ["incident.routed", "incident.updated"]
