"""Drain the outbox: claim, deliver outside any transaction, record the outcome.

Order per key: a message is claimable only when every earlier message with its ordering key has
been delivered, so one incident's updates reach the receiver in the order they happened; a parked
message holds back the later ones of its key until an admin replays it. Delivery is at least once
(a crash between delivery and the outcome's commit re-delivers); receivers drop repeats by event_id.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from gridops.outbox.models import OutboxMessage
from gridops.settings import OutboxSettings

log = logging.getLogger("gridops.outbox")

Deliverer = Callable[[OutboxMessage], Awaitable[None]]


class DeliveryError(Exception):
    """The receiver refused or could not be reached; the message is retried later."""


@dataclass
class DrainReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    parked: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)


def _claimable(now: datetime) -> ColumnElement[bool]:
    earlier = aliased(OutboxMessage)
    blocked = exists().where(and_(earlier.ordering_key == OutboxMessage.ordering_key,
                                  earlier.id < OutboxMessage.id,
                                  earlier.state != "delivered"))
    return and_(OutboxMessage.state == "pending", OutboxMessage.available_at <= now, ~blocked)


async def claim(session: AsyncSession, now: datetime, cfg: OutboxSettings,
                topics: list[str]) -> list[OutboxMessage]:
    rows = (await session.scalars(
        select(OutboxMessage).where(_claimable(now), OutboxMessage.topic.in_(topics))
        .order_by(OutboxMessage.id).limit(cfg.batch)
        .with_for_update(skip_locked=True))).all()
    lease_until = now + timedelta(seconds=cfg.lease_seconds)
    for message in rows:
        message.available_at = lease_until
        message.attempts += 1
    await session.flush()
    return list(rows)


def backoff(attempts: int, cfg: OutboxSettings, rng: random.Random | None = None) -> float:
    base = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** max(0, attempts - 1))
    # Full jitter keeps many failing messages from retrying in lockstep.
    return (rng or random).uniform(base / 2, base)


async def drain(sessionmaker: async_sessionmaker[AsyncSession], now: datetime,
                cfg: OutboxSettings, deliverers: Mapping[str, Deliverer],
                stop: asyncio.Event | None = None) -> DrainReport:
    report = DrainReport()
    async with sessionmaker() as session, session.begin():
        claimed = await claim(session, now, cfg, list(deliverers))
    report.claimed = len(claimed)
    # A claim holds at most one message per key (the earliest undelivered), so no two
    # messages of one incident are ever in flight together.
    for index, message in enumerate(claimed):
        if stop is not None and stop.is_set():
            # Shutting down: hand the rest back at once instead of letting their leases run.
            await _release(sessionmaker, claimed[index:], now)
            report.released = len(claimed) - index
            break
        try:
            await deliverers[message.topic](message)
            outcome = "delivered"
        except Exception as exc:  # any failure is a failed attempt, recorded on the row
            outcome = "failed"
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            report.errors.append(message.last_error)
        await _record(sessionmaker, message, outcome, now, cfg, report)
    return report


async def _release(sessionmaker: async_sessionmaker[AsyncSession],
                   messages: list[OutboxMessage], now: datetime) -> None:
    async with sessionmaker() as session, session.begin():
        for message in messages:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                                  .values(available_at=now, attempts=message.attempts - 1))


async def _record(sessionmaker: async_sessionmaker[AsyncSession], message: OutboxMessage,
                  outcome: str, now: datetime, cfg: OutboxSettings, report: DrainReport) -> None:
    values: dict[str, object]
    if outcome == "delivered":
        values = {"state": "delivered", "delivered_at": now, "last_error": None}
        report.delivered += 1
    elif message.attempts >= cfg.max_attempts:
        values = {"state": "parked", "last_error": message.last_error}
        report.parked += 1
        log.warning("outbox message parked", extra={"outbox_id": message.id,
                                                    "topic": message.topic})
    else:
        values = {"available_at": now + timedelta(seconds=backoff(message.attempts, cfg)),
                  "last_error": message.last_error}
        report.retried += 1
    async with sessionmaker() as session, session.begin():
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == message.id)
                              .values(**values))
