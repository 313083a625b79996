from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Channel = Literal["grid_app", "hotline_12345", "wechat", "walk_in", "open311"]


class LatLon(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class PreviewIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"text": "清石路菜市场门口有人推三轮车卖水果，占了半边路，电动车都过不去",
         "channel": "wechat", "grid_code": "430204001001001"},
        {"text": "小区3栋楼道里堆满了纸箱和旧家具，消防通道都堵了", "channel": "grid_app",
         "item_code_hint": "SJ01101", "location": {"lat": 27.87, "lon": 113.16}},
    ]})

    text: str = Field(min_length=1, max_length=5000, description="the complaint as written")
    channel: Channel | None = None
    location: LatLon | None = None
    grid_code: str | None = Field(None, max_length=24)
    street_code: str | None = Field(None, max_length=16,
                                    description="when known without a grid")
    item_code_hint: str | None = Field(None, max_length=16,
                                       description="the item the reporter picked in the app")
    category: str | None = Field(None, max_length=100,
                                 description="the hotline platform's own category text")


class CandidateOut(BaseModel):
    item_code: str
    item_name: str
    unit_code: str
    score: float


class DeadlinesOut(BaseModel):
    basis: Literal["working", "continuous"]
    sign_hours: float
    resolve_hours: float
    sign_due_at: datetime
    resolve_due_at: datetime


class PreviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "unit_code": "UMLE", "item_code": "SJ05001", "item_name": "占道经营",
        "needs_triage": False, "confidence": 0.91, "matched": ["推三轮车卖", "占了半边路"],
        "candidates": [{"item_code": "SJ05001", "item_name": "占道经营", "unit_code": "UMLE",
                        "score": 3.4}],
        "ruleset_version": 3, "street_code": None, "kind": "event", "level": "unit",
        "urgency": "normal", "co_units": ["STR"],
        "deadlines": {"basis": "working", "sign_hours": 2, "resolve_hours": 24,
                      "sign_due_at": "2026-11-24T04:00:00Z",
                      "resolve_due_at": "2026-11-27T02:00:00Z"},
        "reasons": ["SJ05001 占道经营: matched 推三轮车卖、占了半边路 (score 3.40)",
                    "only unit UMLE matched; confidence 0.91 (threshold 0.60)"]}]})

    unit_code: str | None
    item_code: str | None
    item_name: str | None
    needs_triage: bool
    confidence: float
    matched: list[str]
    candidates: list[CandidateOut]
    ruleset_version: int
    street_code: str | None
    grid_code: str | None = None
    kind: str | None = None
    level: str | None = None
    urgency: str | None = None
    co_units: list[str] = []
    deadlines: DeadlinesOut | None = None
    reasons: list[str]


class RulesetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    label: str
    checksum: str
    item_count: int
    created_at: datetime
    created_by: str
    activated_at: datetime | None
    active: bool


class RulesetDetail(RulesetOut):
    items: list[dict[str, Any]]


class LoadOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "version": 4, "label": "石峰区事项处置标准 2026 版", "item_count": 285,
        "checksum": "9f2c…", "created": True, "active": True, "units": {"UMLE": 41, "STR": 22}}]})

    version: int
    label: str
    item_count: int
    checksum: str
    created: bool
    active: bool
    units: dict[str, int]


class ReplayIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"version": 4, "days": 30, "limit": 1000},
        {"table": {"label": "石峰区事项处置标准 2026 修订", "declared_count": 285,
                   "items": ["…"]}, "days": 7},
    ]})

    version: int | None = Field(None, ge=1, le=2**31 - 1, description="a stored version to try")
    table: dict[str, Any] | None = Field(None, description="or a whole table, not stored")
    days: float = Field(30, gt=0, le=366, description="replay incidents of the last N days")
    limit: int = Field(1000, ge=1, le=20000)


class ChangeOut(BaseModel):
    incident_id: str
    text: str
    before_unit: str
    before_item: str | None
    after_unit: str
    after_item: str | None
    after_item_name: str | None
    after_confidence: float
    reference_unit: str | None
    reasons: list[str]


class MoveOut(BaseModel):
    from_: str = Field(alias="from")
    to: str
    count: int

    model_config = ConfigDict(populate_by_name=True)


class ReplayOut(BaseModel):
    active_version: int | None
    candidate_version: int | None
    candidate_label: str
    since: datetime
    replayed: int
    unit_changed: int
    item_changed: int
    to_triage: int
    from_triage: int
    fixed: int = Field(description="now agree with the dispatcher-confirmed unit")
    broken: int = Field(description="no longer agree with the dispatcher-confirmed unit")
    matrix: list[MoveOut]
    examples: list[ChangeOut]


class SuggestionOut(BaseModel):
    phrase: str
    texts: int
    for_item: str | None


class ConfusionOut(BaseModel):
    chosen_unit: str
    correct_unit: str
    count: int
    correct_items: dict[str, int]
    chosen_items: dict[str, int]
    examples: list[str]
    suggested_phrases: list[SuggestionOut]
