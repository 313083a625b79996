"""Updates to the hotline, through the real outbox drain, to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.auth.actor import Role
from gridops.incidents import actions
from gridops.incidents.action_schemas import (
    ActionIn,
    ExtensionDecisionIn,
    ExtensionIn,
    ResolveIn,
    ReturnDecisionIn,
    ReturnIn,
)
from gridops.incidents.models import Attachment
from gridops.outbox.jobs import DrainReport, drain
from gridops.outbox.models import OutboxMessage
from gridops.settings import OutboxSettings, Settings
from gridops.worker import deliverers
from tests.hotline.conftest import Post, incident_of, order, outage, results_by_no
from tests.hotline.receiver import Receiver

STEP = timedelta(seconds=10)  # past the longest backoff below: every retry is due next round


@pytest.fixture
async def receiver(settings: Settings) -> AsyncIterator[Receiver]:
    r = Receiver(settings.hotline.secret.get_secret_value())
    yield r
    r.stop()


def _wired(settings: Settings, receiver: Receiver) -> Settings:
    hotline = settings.hotline.model_copy(update={"callback_url": receiver.url,
                                                  "callback_timeout_seconds": 2.0})
    return settings.model_copy(update={"hotline": hotline})


async def _messages(session: AsyncSession) -> list[OutboxMessage]:
    rows = await session.scalars(select(OutboxMessage).where(
        OutboxMessage.topic == "hotline.update").order_by(OutboxMessage.id)
        .execution_options(populate_existing=True))
    return list(rows)


async def _photo(session: AsyncSession, incident_id: uuid.UUID, now: datetime) -> None:
    session.add(Attachment(id=uuid.uuid4(), incident_id=incident_id, purpose="resolve",
                           filename="after.jpg", content_type="image/jpeg", size=1,
                           sha256="0" * 64, storage_key="k", uploaded_by="test", created_at=now))


async def _life(session: AsyncSession, post: Post, ctx: Callable[..., actions.Ctx],
                now: datetime) -> dict[str, list[str]]:
    """Three hotline orders living through every event the hotline hears about."""
    results_by_no(await post([order("L1"), outage("L2"), order("L3")]))
    a, b, c = [(await incident_of(session, no)).id for no in ("L1", "L2", "L3")]
    unit, dispatcher = ctx(Role.unit_operator, "UMLE"), ctx(Role.dispatcher, None)
    await actions.accept(session, a, ActionIn(), unit)
    await actions.request_extension(session, a, ExtensionIn(hours=8, reason="需协调产权单位"),
                                    unit)
    await actions.decide_extension(session, a, ExtensionDecisionIn(approve=True), dispatcher)
    await _photo(session, a, now)
    later = ctx(Role.unit_operator, "UMLE", at=now + timedelta(minutes=5))
    await actions.resolve(session, a, ResolveIn(result="已清理占道摊点"), later)
    await actions.request_return(session, c, ReturnIn(reason="不属我单位职责"), unit)
    await actions.decide_return(session, c, ReturnDecisionIn(approve=True), dispatcher)
    await session.commit()
    results_by_no(await post([order("L1", 2, "callback", resolved=True,
                                    satisfaction="satisfied"),
                              outage("L2", 2, "withdrawn")]))
    return {str(a): ["dispatched", "accepted", "extended", "resolved", "closed"],
            str(b): ["dispatched", "voided"], str(c): ["dispatched", "returned"]}


async def test_receiver_down_then_up_gets_every_update_once_in_order(
        post: Post, district: None, session: AsyncSession, now: datetime,
        sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
        ctx: Callable[..., actions.Ctx], receiver: Receiver) -> None:
    expected = await _life(session, post, ctx, now)
    cfg = OutboxSettings(max_attempts=6, backoff_base_seconds=1, backoff_max_seconds=8)
    t = now + timedelta(minutes=10)
    async with httpx.AsyncClient() as http:
        targets = deliverers(_wired(settings, receiver), http)

        async def round_() -> DrainReport:
            nonlocal t
            report = await drain(sessionmaker, t, cfg, targets)
            t += STEP
            return report

        for _ in range(2):  # nobody listening: connection refused
            report = await round_()
            assert (report.claimed, report.delivered, report.retried) == (3, 0, 3)
        receiver.start()
        receiver.failing = True  # up, but answering 503
        report = await round_()
        assert (report.delivered, report.retried, report.parked) == (0, 3, 0)
        rows = await _messages(session)
        assert [r.attempts for r in rows if r.attempts] == [3, 3, 3]
        assert {r.last_error for r in rows if r.attempts} == {
            "DeliveryError: hotline answered 503"}
        assert receiver.accepted == []
        receiver.failing = False
        for _ in range(10):
            if not (await round_()).claimed:
                break
    rows = await _messages(session)
    assert {r.state for r in rows} == {"delivered"}
    assert receiver.refused_signatures == 0
    assert set(receiver.deliveries.values()) == {1}  # exactly once per event_id
    assert set(receiver.deliveries) == {str(r.event_id) for r in rows}
    got: dict[str, list[str]] = {}
    for update in receiver.accepted:
        got.setdefault(update["incident_id"], []).append(update["event"])
    assert got == expected
    first = receiver.accepted[0]
    assert {"event_id", "sequence", "order_no", "incident_id", "event", "state", "at",
            "unit_code", "unit_name", "note", "resolve_due_at", "source_deadline"} <= set(first)
    assert first["order_no"] in {"L1", "L2", "L3"}
    for incident_id in expected:
        sequences = [u["sequence"] for u in receiver.accepted if u["incident_id"] == incident_id]
        assert sequences == sorted(sequences)


async def test_parked_after_max_attempts_then_replayed_by_an_admin(
        post: Post, district: None, session: AsyncSession, now: datetime,
        sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
        ctx: Callable[..., actions.Ctx], receiver: Receiver, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]]) -> None:
    results_by_no(await post([order("K1")]))
    incident = await incident_of(session, "K1")
    await actions.accept(session, incident.id, ActionIn(), ctx(Role.unit_operator, "UMLE"))
    await session.commit()
    # The platform rotated its secret and nobody told us: every delivery is refused.
    right_secret = receiver.secret
    receiver.secret = b"the-platforms-new-secret"
    receiver.start()
    cfg = OutboxSettings(max_attempts=3, backoff_base_seconds=1, backoff_max_seconds=4)
    t = now + timedelta(minutes=1)
    async with httpx.AsyncClient() as http:
        targets = deliverers(_wired(settings, receiver), http)
        reports = []
        for _ in range(5):
            reports.append(await drain(sessionmaker, t, cfg, targets))
            t += STEP
        first, second = await _messages(session)
        assert (first.state, first.attempts) == ("parked", 3)
        assert first.last_error == "DeliveryError: hotline answered 401"
        assert (second.state, second.attempts) == ("pending", 0)  # held back behind it
        assert [r.parked for r in reports] == [0, 0, 1, 0, 0]
        assert receiver.refused_signatures == 3

        listed = await client.get("/api/v1/outbox/messages",
                                  params={"state": "parked", "topic": "hotline.update"},
                                  headers=auth("admin"))
        assert listed.status_code == 200, listed.text
        assert [m["id"] for m in listed.json()["items"]] == [first.id]

        receiver.secret = right_secret  # fixed on the platform's side
        assert (await drain(sessionmaker, t, cfg, targets)).claimed == 0  # still parked
        replay = await client.post(f"/api/v1/outbox/messages/{first.id}/replay",
                                   headers=auth("admin"))
        assert replay.status_code == 200, replay.text
        for _ in range(3):
            await drain(sessionmaker, t, cfg, targets)
            t += STEP
    assert [u["event"] for u in receiver.accepted] == ["dispatched", "accepted"]
    assert [u["event_id"] for u in receiver.accepted] == [str(first.event_id),
                                                         str(second.event_id)]
    assert {r.state for r in await _messages(session)} == {"delivered"}


async def test_no_callback_url_is_a_failed_attempt_not_a_silent_drop(
        post: Post, district: None, session: AsyncSession, now: datetime,
        sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    results_by_no(await post([order("N1")]))
    async with httpx.AsyncClient() as http:
        targets: dict[str, Any] = deliverers(settings, http)  # callback_url unset
        report = await drain(sessionmaker, now, OutboxSettings(), targets)
    assert (report.delivered, report.retried) == (0, 1)
    [message] = await _messages(session)
    assert message.state == "pending"
    assert "CALLBACK_URL" in (message.last_error or "")
