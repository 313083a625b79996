from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gridops.db import Base, PortableJSON, UTCDateTime


class Ruleset(Base):
    """One version of the item-standard table; exactly one is active."""

    __tablename__ = "ruleset"
    __table_args__ = (
        # NULLs never collide, so a plain unique index allows exactly one TRUE row.
        Index("uq_ruleset_active", "active", unique=True),
    )

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    item_count: Mapped[int]
    # The whole table as loaded: {"label", "declared_count", "items": [...]}.
    source: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # TRUE for the active version, NULL otherwise.
    active: Mapped[bool | None] = mapped_column(Boolean, default=None)


class RoutingCorrection(Base):
    """A dispatcher's correction of the router: a labelled example for rule authors."""

    __tablename__ = "routing_correction"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # triage | redispatch | return
    text: Mapped[str] = mapped_column(Text)
    ruleset_version: Mapped[int | None] = mapped_column(ForeignKey("ruleset.version"))
    chosen_unit: Mapped[str | None] = mapped_column(String(8))
    chosen_item: Mapped[str | None] = mapped_column(String(16))
    correct_unit: Mapped[str] = mapped_column(String(8), index=True)
    correct_item: Mapped[str | None] = mapped_column(String(16))
    confidence: Mapped[float | None] = mapped_column(Float)
    actor_subject: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
