from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridops.audit.models import BigId
from gridops.db import Base, PortableJSON, UTCDateTime


class OutboxMessage(Base):
    """Written in the same transaction as the change it announces; the worker delivers it."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_state_available", "state", "available_at"),
        Index("ix_outbox_message_key_id", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Stable id the receiver uses to drop repeats.
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    topic: Mapped[str] = mapped_column(String(32))  # hotline.update | notification
    # Messages with one key are delivered in id order (one incident's updates).
    ordering_key: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|delivered|parked
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
