"""Write messages in the caller's transaction; list parked ones; replay them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.auth.actor import Actor
from gridops.errors import Conflict, NotFound
from gridops.outbox.models import OutboxMessage


async def enqueue(session: AsyncSession, topic: str, payload: dict[str, Any], *,
                  ordering_key: str, now: datetime,
                  incident_id: uuid.UUID | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, payload=payload, ordering_key=ordering_key,
                            incident_id=incident_id, created_at=now, available_at=now,
                            event_id=uuid.uuid4(), state="pending", attempts=0)
    session.add(message)
    await session.flush()
    return message


async def listing(session: AsyncSession, *, state: str | None, topic: str | None,
                  after_id: int | None, limit: int) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id).limit(limit)
    if state:
        query = query.where(OutboxMessage.state == state)
    if topic:
        query = query.where(OutboxMessage.topic == topic)
    if after_id is not None:
        query = query.where(OutboxMessage.id > after_id)
    return (await session.scalars(query)).all()


async def depth(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(OutboxMessage.state, func.count())
                                 .group_by(OutboxMessage.state))
    return {state: int(n) for state, n in rows.all()}


async def replay(session: AsyncSession, message_id: int, *, actor: Actor,
                 now: datetime) -> OutboxMessage:
    """Put a parked message back in the queue, keeping its event_id so receivers can dedupe."""
    message = await session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound(f"outbox message {message_id} not found")
    if message.state != "parked":
        raise Conflict(f"only parked messages can be replayed; this one is {message.state}")
    message.state, message.attempts, message.available_at = "pending", 0, now
    await session.flush()
    await audit.record(session, "outbox.replayed", actor=actor, at=now, stream="outbox",
                       changes={"message_id": message.id, "event_id": str(message.event_id),
                                "topic": message.topic, "last_error": message.last_error})
    return message
