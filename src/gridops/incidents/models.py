from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gridops.db import Base, PortableJSON, UTCDateTime
from gridops.incidents.schemas import OPEN_STATES

# The states in which an incident can still be a possible duplicate, as SQL: the partial indexes
# below hold only those rows, and the duplicate search names the states in the same literal
# form so that the planner can use them (a bound list could not prove the predicate).
OPEN = f"state IN ({', '.join(repr(state) for state in OPEN_STATES)})"


class Incident(Base):
    """A work order (工单) from intake to close."""

    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index("ix_incident_state_unit", "state", "unit_code"),
        Index("ix_incident_created_at", "created_at"),
        Index("ix_incident_item_grid_created", "item_code", "grid_code", "created_at"),
        # The duplicate search at intake: open incidents of an item near a point, or from a
        # phone. Without them each create read every incident of its item.
        Index("ix_incident_open_item_place", "item_code", "lat", "lon",
              postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
        Index("ix_incident_open_phone_item", "reporter_phone", "item_code",
              postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # grid_app | hotline_12345 | wechat | walk_in | open311
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    external_version: Mapped[int | None] = mapped_column(default=None)
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grid.code"), index=True, default=None)
    community_code: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    street_code: Mapped[str | None] = mapped_column(String(16), index=True, default=None)
    item_hint: Mapped[str | None] = mapped_column(String(16), default=None)
    source_category: Mapped[str | None] = mapped_column(String(100), default=None)
    source_kind: Mapped[str | None] = mapped_column(String(8), default=None)  # hotline 诉求类型
    # The 12345 hotline's own times, as it sent them (null for other channels): when it took the
    # call and its 办结时限. Shown only; gridops' clocks run from its own receipt and the item
    # standard.
    source_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    source_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # Routing outcome (or the dispatcher's decision): one accountable unit.
    item_code: Mapped[str | None] = mapped_column(String(16), default=None)
    item_name: Mapped[str | None] = mapped_column(String(64), default=None)
    kind: Mapped[str | None] = mapped_column(String(8), default=None)  # asset | event
    level: Mapped[str | None] = mapped_column(String(12), default=None)
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"), index=True,
                                                   default=None)
    # For unit STR: the street office that owns the order (属地).
    assigned_street_code: Mapped[str | None] = mapped_column(String(16), index=True,
                                                             default=None)
    co_units: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    urgency: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    ruleset_version: Mapped[int | None] = mapped_column(ForeignKey("ruleset.version"),
                                                        default=None)
    routing: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    confidence: Mapped[float | None] = mapped_column(Float, default=None)

    state: Mapped[str] = mapped_column(String(16), index=True)
    prior_state: Mapped[str | None] = mapped_column(String(16), default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)

    reporter_name: Mapped[str | None] = mapped_column(String(64), default=None)
    reporter_phone: Mapped[str | None] = mapped_column(String(32), default=None)
    reporter_confidential: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(64))  # actor subject
    resolved_on_spot: Mapped[bool] = mapped_column(default=False)

    resolution_text: Mapped[str | None] = mapped_column(Text, default=None)
    callback_resolved: Mapped[bool | None] = mapped_column(default=None)
    callback_satisfaction: Mapped[str | None] = mapped_column(String(12), default=None)
    callback_comment: Mapped[str | None] = mapped_column(Text, default=None)

    rework_count: Mapped[int] = mapped_column(default=0)
    return_count: Mapped[int] = mapped_column(default=0)
    extension_count: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incident.id"),
                                                             default=None)
    # Ids of open incidents this one may duplicate, flagged at intake.
    possible_duplicates: Mapped[list[str]] = mapped_column(PortableJSON, default=list)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True, default=None)

    # Every UPDATE checks and bumps `version`: of two concurrent writers, one gets StaleDataError.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Attachment(Base):
    __tablename__ = "attachment"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(12))  # report | resolve | verify | comment
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IncidentRequest(Base):
    """A request a dispatcher decides: return (退单), extension (延期), suspension (挂起)."""

    __tablename__ = "incident_request"
    __table_args__ = (
        Index("ix_incident_request_kind_state", "kind", "state"),
        # The weekly review: extensions approved in a week.
        Index("ix_incident_request_kind_decided", "kind", "decided_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # return | extension | suspension
    state: Mapped[str] = mapped_column(String(10), default="pending")  # pending|approved|rejected
    unit_code: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    hours: Mapped[float | None] = mapped_column(Float, default=None)  # extension, working hours
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("subject", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subject: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
