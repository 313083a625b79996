from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.audit.service import stream_of
from gridops.auth.actor import Actor, Role

DISPATCHER = Actor("d-1", Role.dispatcher, name="值班长")


async def _history(session: AsyncSession, now: datetime, incident_id: uuid.UUID,
                   n: int = 5) -> None:
    for i in range(n):
        await audit.record(session, f"test.step{i}", actor=DISPATCHER,
                           at=now + timedelta(minutes=i), stream=stream_of(incident_id),
                           changes={"i": i, "text": "井盖缺失 😀 <b>"})


async def _bypass_triggers(session: AsyncSession) -> None:
    """Tamper as a database administrator would: around the append-only triggers."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
    else:
        await session.execute(text("DROP TRIGGER audit_event_no_update"))
        await session.execute(text("DROP TRIGGER audit_event_no_delete"))


async def test_chain_links_each_event_to_the_previous(session: AsyncSession,
                                                      now: datetime) -> None:
    stream = uuid.uuid4()
    await _history(session, now, stream)
    report = await audit.verify(session)
    assert report.ok
    assert report.events >= 5


async def test_the_database_refuses_updates_and_deletes(session: AsyncSession,
                                                        now: datetime) -> None:
    await _history(session, now, uuid.uuid4(), n=1)
    for statement in ("UPDATE audit_event SET note = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_an_edited_and_a_deleted_event_are_both_detected(
        session: AsyncSession, now: datetime, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]]) -> None:
    edited, deleted = uuid.uuid4(), uuid.uuid4()
    await _history(session, now, edited)
    await _history(session, now, deleted)
    await session.flush()
    await _bypass_triggers(session)
    await session.execute(text("UPDATE audit_event SET note = 'rewritten' "
                               "WHERE stream = :s AND seq = 3"), {"s": stream_of(edited)})
    await session.execute(text("DELETE FROM audit_event WHERE stream = :s AND seq = 2"),
                          {"s": stream_of(deleted)})
    await session.commit()  # the request's session must see it (savepoint released)

    response = await client.get("/api/v1/audit/verify", headers=auth("auditor"))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    found = {(b["stream"], b["seq"]): b["problem"] for b in body["breaks"]}
    assert "edited" in found[(stream_of(edited), 3)]
    assert "missing" in found[(stream_of(deleted), 3)]
    assert body["first_break"] == body["breaks"][0]


async def test_feed_follows_with_a_cursor(session: AsyncSession, now: datetime,
                                          client: httpx.AsyncClient,
                                          auth: Callable[..., dict[str, str]]) -> None:
    await _history(session, now, uuid.uuid4(), n=5)
    await session.commit()
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await client.get("/api/v1/audit/events", params=params, headers=auth("auditor"))
        assert page.status_code == 200
        seen += [e["id"] for e in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 5
    assert seen == sorted(seen)
    refused = await client.get("/api/v1/audit/events", headers=auth("unit_operator", unit="PSB"))
    assert refused.status_code == 403
    bad = await client.get("/api/v1/audit/events?cursor=abc", headers=auth("auditor"))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


async def test_an_event_recorded_with_a_local_time_still_verifies(session: AsyncSession,
                                                                  now: datetime) -> None:
    from zoneinfo import ZoneInfo

    shanghai = now.astimezone(ZoneInfo("Asia/Shanghai"))
    stream = uuid.uuid4()
    await audit.record(session, "test.local", actor=DISPATCHER, at=shanghai,
                       stream=stream_of(stream))
    session.expire_all()
    assert (await audit.verify(session, stream=stream_of(stream))).ok
