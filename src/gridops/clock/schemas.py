from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

ClockStatus = Literal["running", "due_soon", "overdue", "paused", "met", "missed", "void"]


class ClockView(BaseModel):
    """One deadline as seen now. Minutes are working minutes, or plain minutes when the basis is
    continuous (urgent, 紧急)."""

    kind: Literal["sign", "resolve"]
    round: int
    basis: Literal["working", "continuous"]
    unit_code: str | None
    started_at: datetime
    due_at: datetime
    status: ClockStatus
    working_minutes_left: float = Field(description="Negative when overdue.")
    extended_minutes: float
    escalation_level: int = Field(description="督办 level: 0 none, 1 unit, 2 street, 3 district.")


class BoardIncident(BaseModel):
    incident_id: uuid.UUID
    title: str | None
    item_name: str | None
    state: str
    unit_code: str | None
    street_code: str | None
    kind: Literal["sign", "resolve"]
    status: Literal["due_soon", "overdue"]
    due_at: datetime
    working_minutes_left: float
    escalation_level: int


class BoardGroup(BaseModel):
    code: str | None = Field(description="Unit code or street code; null when unassigned.")
    overdue: int
    due_soon: int
    incidents: list[BoardIncident]


class SlaBoard(BaseModel):
    """The command-centre screen (指挥大屏): what is late or about to be, by unit and by street."""

    at: datetime
    overdue: int
    due_soon: int
    by_unit: list[BoardGroup]
    by_street: list[BoardGroup]
