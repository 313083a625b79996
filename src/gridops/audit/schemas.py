from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    stream: str
    seq: int
    incident_id: uuid.UUID | None
    at: datetime
    actor_role: str
    actor_unit: str | None
    actor_subject: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None
    changes: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class BreakOut(BaseModel):
    stream: str
    seq: int
    event_id: int | None
    problem: str


class VerifyOut(BaseModel):
    ok: bool
    streams: int
    events: int
    first_break: BreakOut | None
    breaks: list[BreakOut]
