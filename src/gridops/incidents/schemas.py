"""Request and response models of incident intake and reads.

`IncidentOut.build` is the one place a stored incident becomes what a client sees: the caller's
name and phone are masked or hidden per role (`gridops.auth.privacy`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gridops.auth.actor import Actor
from gridops.auth.privacy import mask_name, mask_phone, sees_caller
from gridops.clock.schemas import ClockView

if TYPE_CHECKING:
    from gridops.incidents.models import Attachment, Incident

State = Literal["triage", "dispatched", "in_progress", "suspended", "resolved", "closed",
                "merged", "voided"]
OPEN_STATES: tuple[str, ...] = ("triage", "dispatched", "in_progress", "suspended", "resolved")
Channel = Literal["grid_app", "hotline_12345", "wechat", "walk_in", "open311"]
# What a person may choose when creating through the API; hotline and Open311 come by adapters.
ApiChannel = Literal["grid_app", "wechat", "walk_in"]
Urgency = Literal["normal", "urgent"]


class Location(BaseModel):
    """A WGS 84 point as a phone reports it."""

    lat: float = Field(ge=-90, le=90, examples=[27.8712])
    lon: float = Field(ge=-180, le=180, examples=[113.1345])


def _printable(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; other control characters are noise from broken clients.
    if value and any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("control characters are not allowed")
    return value


class ReporterIn(BaseModel):
    name: str | None = Field(None, max_length=64, examples=["王建国"])
    phone: str | None = Field(None, max_length=32, pattern=r"^[0-9+\- ]{3,32}$",
                              examples=["13812341234"])
    confidential: bool = Field(False, description="The caller asked for confidentiality (保密): "
                               "only dispatchers and the hotline see name and phone.")

    @field_validator("name")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _printable(value)


class IncidentIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [
            {"text": "建设路与新华路交叉口有流动摊贩占道经营，影响行人通行。",
             "title": "路口占道经营", "address": "石峰区建设路与新华路交叉口",
             "location": {"lat": 27.8712, "lon": 113.1345},
             "reporter": {"name": "王建国", "phone": "13812341234", "confidential": False}},
            {"text": "楼道里堆放杂物已清理完毕。", "grid_code": "430204003001001",
             "resolved_on_spot": True},
        ]},
    )

    text: str = Field(min_length=1, max_length=4000, description="What is wrong, as reported.")
    title: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=300)
    location: Location | None = None
    grid_code: str | None = Field(None, max_length=24, pattern=r"^[0-9A-Za-z]+$")
    item_code_hint: str | None = Field(None, max_length=16, pattern=r"^[A-Z]{2}[0-9]{3,8}$",
                                       description="The reporter's guess of the item standard.")
    category: str | None = Field(None, max_length=100,
                                 description="The source system's category (e.g. 12345 诉求分类); "
                                 "a routing hint.")
    source_kind: str | None = Field(None, max_length=8, examples=["投诉"])
    urgent: bool | None = Field(None, description="Force 紧急 (true) or normal (false); "
                                "by default the item standard decides.")
    reporter: ReporterIn | None = None
    resolved_on_spot: bool = Field(False, description="A grid worker fixed it at once (就地解决): "
                                   "the incident goes straight to verification.")
    channel: ApiChannel | None = Field(None, description="For dispatchers entering a walk-in or "
                                       "WeChat report on someone's behalf; default grid_app.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value

    @field_validator("text", "title", "address", "category", "source_kind")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        return _printable(value)


class CandidateOut(BaseModel):
    item_code: str
    item_name: str
    unit_code: str
    score: float


class RoutingOut(BaseModel):
    """The router's decision as recorded at intake (or a dispatcher's routing later)."""

    item_code: str | None = None
    item_name: str | None = None
    unit_code: str | None = None
    street_code: str | None = None
    confidence: float | None = None
    matched: list[str] = []
    candidates: list[CandidateOut] = []
    ruleset_version: int | None = None
    needs_triage: bool = False
    reasons: list[str] = []


class ReporterOut(BaseModel):
    name: str | None
    phone: str | None
    confidential: bool
    masked: bool = Field(description="True when name and phone are masked or hidden for you.")


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    purpose: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class IncidentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b0f3c52-6f0e-4d8b-9a51-0d6f8e0c2a11", "channel": "grid_app",
        "text": "建设路与新华路交叉口有流动摊贩占道经营，影响行人通行。",
        "grid_code": "430204003001001", "community_code": "430204003001",
        "street_code": "430204003", "item_code": "SJ05001", "item_name": "占道经营",
        "unit_code": "UMLE", "state": "dispatched", "urgency": "normal", "version": 1,
        "routing": {"item_code": "SJ05001", "item_name": "占道经营", "unit_code": "UMLE",
                    "confidence": 0.92, "matched": ["占道经营", "流动摊贩"],
                    "needs_triage": False, "ruleset_version": 3, "reasons": []},
        "reporter": {"name": "王**", "phone": "138****1234", "confidential": False,
                     "masked": True},
    }]})

    id: uuid.UUID
    channel: str
    external_id: str | None
    external_version: int | None
    title: str | None
    text: str
    address: str | None
    location: Location | None
    grid_code: str | None
    community_code: str | None
    street_code: str | None
    item_hint: str | None
    source_category: str | None
    source_received_at: datetime | None = Field(description=(
        "When the 12345 hotline took the call, as it sent it; null for other channels. Shown "
        "only: gridops' clocks run from its own receipt (`created_at`)."))
    source_deadline: datetime | None = Field(description=(
        "The 12345 hotline's own deadline (办结时限), as last sent; null when none. Shown only: "
        "gridops' resolve deadline is the `resolve` clock's, from the item standard."))
    item_code: str | None
    item_name: str | None
    kind: str | None
    level: str | None
    unit_code: str | None
    assigned_street_code: str | None
    co_units: list[str]
    urgency: str
    ruleset_version: int | None
    routing: RoutingOut
    state: str
    prior_state: str | None
    version: int
    clocks: list[ClockView]
    rework_count: int
    return_count: int
    extension_count: int
    reporter: ReporterOut | None
    created_by: str
    resolved_on_spot: bool
    resolution_text: str | None
    callback_resolved: bool | None
    callback_satisfaction: str | None
    merged_into_id: uuid.UUID | None
    possible_duplicates: list[uuid.UUID]
    attachments: list[AttachmentOut]
    created_at: datetime
    updated_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def build(cls, incident: Incident, *, actor: Actor, clocks: list[ClockView] | None = None,
              attachments: list[Attachment] | None = None) -> IncidentOut:
        i = incident
        location = Location(lat=i.lat, lon=i.lon) if i.lat is not None and i.lon is not None \
            else None
        return cls(
            id=i.id, channel=i.channel, external_id=i.external_id,
            external_version=i.external_version, title=i.title, text=i.text, address=i.address,
            location=location, grid_code=i.grid_code, community_code=i.community_code,
            street_code=i.street_code, item_hint=i.item_hint, source_category=i.source_category,
            source_received_at=i.source_received_at, source_deadline=i.source_deadline,
            item_code=i.item_code, item_name=i.item_name, kind=i.kind, level=i.level,
            unit_code=i.unit_code, assigned_street_code=i.assigned_street_code,
            co_units=list(i.co_units or []), urgency=i.urgency,
            ruleset_version=i.ruleset_version, routing=_routing(i.routing),
            state=i.state, prior_state=i.prior_state, version=i.version, clocks=clocks or [],
            rework_count=i.rework_count, return_count=i.return_count,
            extension_count=i.extension_count, reporter=reporter_view(i, actor),
            created_by=i.created_by, resolved_on_spot=i.resolved_on_spot,
            resolution_text=i.resolution_text, callback_resolved=i.callback_resolved,
            callback_satisfaction=i.callback_satisfaction, merged_into_id=i.merged_into_id,
            possible_duplicates=[uuid.UUID(str(d)) for d in (i.possible_duplicates or [])],
            attachments=[AttachmentOut.model_validate(a) for a in attachments or []],
            created_at=i.created_at, updated_at=i.updated_at, dispatched_at=i.dispatched_at,
            accepted_at=i.accepted_at, resolved_at=i.resolved_at, closed_at=i.closed_at,
        )


def _routing(data: dict[str, Any] | None) -> RoutingOut:
    return RoutingOut.model_validate(data or {})


def reporter_view(incident: Incident, actor: Actor) -> ReporterOut | None:
    """Full for roles that need the caller; hidden when confidential; otherwise masked."""
    name, phone = incident.reporter_name, incident.reporter_phone
    if not name and not phone:
        return None
    confidential = incident.reporter_confidential
    if sees_caller(actor, confidential=confidential, reported_by=incident.created_by):
        return ReporterOut(name=name, phone=phone, confidential=confidential, masked=False)
    if confidential:
        return ReporterOut(name=None, phone=None, confidential=True, masked=True)
    return ReporterOut(name=mask_name(name), phone=mask_phone(phone), confidential=False,
                       masked=True)


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                    "the end.")


class EventOut(BaseModel):
    """One entry of an incident's audit timeline."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    action: str
    actor_role: str
    actor_unit: str | None
    actor_subject: str
    from_state: str | None
    to_state: str | None
    note: str | None
    changes: dict[str, Any]
    hash: str
