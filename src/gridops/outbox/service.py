"""Write messages in the caller's transaction; the worker delivers them (see outbox/jobs.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.outbox.models import OutboxMessage


async def enqueue(session: AsyncSession, topic: str, payload: dict[str, Any], *,
                  ordering_key: str, now: datetime,
                  incident_id: uuid.UUID | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, payload=payload, ordering_key=ordering_key,
                            incident_id=incident_id, created_at=now, available_at=now,
                            event_id=uuid.uuid4())
    session.add(message)
    await session.flush()
    return message
