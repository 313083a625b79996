from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gridops.db import Base, UTCDateTime


class SlaClock(Base):
    """One deadline of an incident: sign-for (签收) or resolve (办结); a new round per rework."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        # The sweeper's scans: running clocks by due time.
        Index("ix_sla_clock_open_due", "outcome", "due_at"),
        Index("ix_sla_clock_incident_kind", "incident_id", "kind", "round"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id"))
    kind: Mapped[str] = mapped_column(String(8))  # sign | resolve
    round: Mapped[int] = mapped_column(default=1)
    basis: Mapped[str] = mapped_column(String(12))  # working | continuous
    limit_minutes: Mapped[float] = mapped_column(Float)
    extended_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    unit_code: Mapped[str | None] = mapped_column(String(8), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_soon_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    paused_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    outcome: Mapped[str | None] = mapped_column(String(8), default=None)  # met | missed | void
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)  # 0, 1 unit, 2 street, 3 district
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
