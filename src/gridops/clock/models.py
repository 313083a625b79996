from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gridops.db import Base, UTCDateTime

_UNBREACHED = "outcome IS NULL AND breached_at IS NULL"
_UNWARNED = "outcome IS NULL AND warned_at IS NULL"
_ESCALATING = "outcome IS NULL AND breached_at IS NOT NULL AND kind = 'resolve'"


class SlaClock(Base):
    """One deadline of an incident: sign-for (签收) or resolve (办结); a new round per rework."""

    __tablename__ = "sla_clock"
    __table_args__ = (
        Index("ix_sla_clock_open_due", "outcome", "due_at"),
        # The sweeper's three scans, each over only the clocks it may still act on, in its
        # keyset order: not yet overdue-flagged, not yet warned, overdue resolve clocks by level.
        # Without them the due-soon scan read the whole table and the overdue scan re-read every
        # clock already flagged.
        Index("ix_sla_clock_sweep_overdue", "due_at", "id",
              postgresql_where=text(_UNBREACHED), sqlite_where=text(_UNBREACHED)),
        Index("ix_sla_clock_sweep_due_soon", "due_soon_at", "id",
              postgresql_where=text(_UNWARNED), sqlite_where=text(_UNWARNED)),
        Index("ix_sla_clock_sweep_escalation", "escalation_level", "due_at", "id",
              postgresql_where=text(_ESCALATING), sqlite_where=text(_ESCALATING)),
        Index("ix_sla_clock_incident_kind", "incident_id", "kind", "round"),
        # The weekly review: deadlines that fell in a week; rounds stopped in it or open at its end.
        Index("ix_sla_clock_due_at", "due_at"),
        Index("ix_sla_clock_kind_stopped", "kind", "stopped_at"),
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
