"""The weekly review as JSON."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from gridops.review.metrics import Card
from gridops.review.service import Hotspot, OverdueItem, Review


class CardOut(BaseModel):
    """One unit's (street's, community's, grid's) week. Rates are null when nothing was due."""

    key: str = Field(description="Unit code (STR/<street> per street office), or place code")
    name: str
    received: int = Field(description="受理数: created in the week (not merged or voided)")
    merged: int
    voided: int
    sign_due: int = Field(description="Sign-for deadlines that fell in the week")
    sign_met: int
    dispatches: int
    returns: int = Field(description="Approved returns (退单) by this unit")
    resolve_due: int = Field(description="Resolve deadlines that fell in the week")
    resolve_met: int
    extensions: int = Field(description="Approved extensions (延期)")
    resolutions: int = Field(description="Resolutions reported (办结反馈)")
    reworks: int = Field(description="返工/重办: failed check, unsatisfied callback, reopen")
    rated: int = Field(description="Callbacks (回访) recorded")
    cb_resolved: int
    satisfied: int = Field(description="满意 + 基本满意")
    completed: int = Field(description="Resolve rounds finished in the week")
    open_end: int = Field(description="Resolve rounds open at week end")
    overdue_open: int = Field(description="超期未办结 at week end, not covered by an extension")
    covered: int = Field(description="Past the original deadline, covered by an extension")
    repeats: int = Field(description="重复诉求 within the window after this unit's closure")
    sign_rate: float | None = Field(description="签收及时率")
    dispatch_accuracy: float | None = Field(description="派单准确率")
    on_time_rate: float | None = Field(description="按期办结率")
    rework_rate: float | None
    extension_rate: float | None
    resolution_rate: float | None = Field(description="解决率")
    satisfaction_rate: float | None = Field(description="满意率")
    close_rate: float | None = Field(description="办结率: completed ÷ (completed + open at end)")
    overdue_rate: float | None = Field(description="overdue open ÷ open at week end")
    handling_median: float | None = Field(description="办理时长 median, working hours")
    handling_p90: float | None = Field(description="办理时长 p90 (nearest rank), working hours")
    score: float | None = Field(description="Composite score 0–100 (weights: settings)")
    rank: int | None

    @classmethod
    def of(cls, card: Card) -> CardOut:
        return cls.model_validate(card.figures())


class HotspotOut(BaseModel):
    code: str
    name: str
    count: int
    previous: int = Field(description="The previous week's count (items)")

    @classmethod
    def of(cls, h: Hotspot) -> HotspotOut:
        return cls(code=h.code, name=h.name, count=h.count, previous=h.previous)


class OverdueOut(BaseModel):
    incident_id: uuid.UUID
    title: str
    item_name: str | None
    state: str
    unit: str
    unit_name: str
    grid_code: str | None
    deadline: datetime = Field(description="The resolve deadline in force at week end")
    overdue_hours: float = Field(description="Past the original deadline at week end")
    covered_by: str | None = Field(description="'extension' or null (逾期清零 needs none left)")
    extended_hours: float

    @classmethod
    def of(cls, o: OverdueItem) -> OverdueOut:
        return cls(incident_id=o.incident_id, title=o.title, item_name=o.item_name,
                   state=o.state, unit=o.unit, unit_name=o.unit_name, grid_code=o.grid_code,
                   deadline=o.deadline, overdue_hours=round(o.overdue_hours, 2),
                   covered_by=o.covered_by, extended_hours=round(o.extended_hours, 2))


class HotspotsOut(BaseModel):
    top_items: list[HotspotOut]
    top_grids: list[HotspotOut]
    rising_items: list[HotspotOut]


class ReviewOut(BaseModel):
    week: str = Field(examples=["2026-W47"])
    start: datetime = Field(description="Monday 00:00 local, in UTC")
    end: datetime = Field(description="The next Monday 00:00 local (exclusive)")
    as_of: datetime = Field(description="Nothing after this moment is judged")
    scope: str
    district: CardOut = Field(description="The whole district (or the part you may see)")
    cards: list[CardOut]
    red: list[CardOut] = Field(description="红榜: the five best units")
    black: list[CardOut] = Field(description="黑榜: the five worst units")
    hotspots: HotspotsOut
    overdue: list[OverdueOut] = Field(description="逾期清零: open past the deadline at week end")
    weights: dict[str, float]

    @classmethod
    def of(cls, r: Review, weights: dict[str, float]) -> ReviewOut:
        return cls(
            week=r.week.label, start=r.week.start, end=r.week.end, as_of=r.cut, scope=r.scope,
            district=CardOut.of(r.district), cards=[CardOut.of(c) for c in r.cards],
            red=[CardOut.of(c) for c in r.red], black=[CardOut.of(c) for c in r.black],
            hotspots=HotspotsOut(top_items=[HotspotOut.of(h) for h in r.top_items],
                                 top_grids=[HotspotOut.of(h) for h in r.top_grids],
                                 rising_items=[HotspotOut.of(h) for h in r.rising_items]),
            overdue=[OverdueOut.of(o) for o in r.overdue], weights=dict(weights))
