from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent


async def feed(session: AsyncSession, *, after_id: int | None = None,
               updated_after: datetime | None = None, action: str | None = None,
               incident_id: uuid.UUID | None = None, actor_subject: str | None = None,
               limit: int = 100) -> Sequence[AuditEvent]:
    """Events in id order, for a client following the feed with a cursor (the last id seen)."""
    query = select(AuditEvent).order_by(AuditEvent.id).limit(limit)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    if updated_after is not None:
        query = query.where(AuditEvent.at > updated_after)
    if action:
        query = query.where(AuditEvent.action == action)
    if incident_id:
        query = query.where(AuditEvent.incident_id == incident_id)
    if actor_subject:
        query = query.where(AuditEvent.actor_subject == actor_subject)
    return (await session.scalars(query)).all()


async def timeline(session: AsyncSession, incident_id: uuid.UUID) -> Sequence[AuditEvent]:
    return (await session.scalars(select(AuditEvent).where(AuditEvent.incident_id == incident_id)
                                  .order_by(AuditEvent.seq))).all()
