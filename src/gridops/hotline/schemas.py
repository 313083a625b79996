"""The 12345 hotline platform's webhook format, as the platform defines it (issue 5).

The batch envelope is validated as a whole (1..500 orders, else 422); each order is validated on
its own, so one malformed order is answered `rejected` with its reasons while the others go on.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

MAX_ORDERS = 500

Event = Literal["created", "updated", "withdrawn", "callback"]
Status = Literal["created", "updated", "duplicate", "stale", "rejected"]
Satisfaction = Literal["satisfied", "basic", "unsatisfied"]
# Fields a created or updated order must carry; a withdrawal or a callback may omit them.
_CONTENT = ("channel", "urgency", "kind", "title", "content", "address", "caller")


class HotlineLocation(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Caller(BaseModel):
    name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)
    confidential: bool = False


class Order(BaseModel):
    """One work order (工单) event from the hotline platform."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", json_schema_extra={
        "examples": [{
            "order_no": "2026112300123", "version": 1, "event": "created",
            "received_at": "2026-11-23T09:12:00+08:00", "channel": "phone",
            "urgency": "normal", "kind": "投诉", "title": "路口占道经营",
            "content": "建设路与新华路交叉口有流动摊贩占道经营，影响行人通行。",
            "address": "石峰区建设路与新华路交叉口",
            "location": {"lat": 27.8712, "lon": 113.1345}, "category": "城市管理/占道经营",
            "caller": {"name": "王建国", "phone": "13812341234", "confidential": False}}]})

    order_no: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    version: int = Field(ge=0, le=2**31 - 1, description="Grows with each change of the order.")
    event: Event
    received_at: AwareDatetime
    channel: Literal["phone", "web", "wechat", "app"] | None = None
    urgency: Literal["urgent", "normal"] | None = None
    kind: Literal["咨询", "求助", "投诉", "举报", "建议", "表扬"] | None = None
    title: str | None = Field(None, max_length=200)
    content: str | None = Field(None, min_length=1, max_length=4000)
    address: str | None = Field(None, max_length=300)
    location: HotlineLocation | None = None
    category: str | None = Field(None, max_length=100)
    deadline: AwareDatetime | None = None
    caller: Caller | None = None
    resolved: bool | None = None
    satisfaction: Satisfaction | None = None
    comment: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _fields_of_the_event(self) -> Order:
        if self.event in ("created", "updated"):
            missing = [name for name in _CONTENT if getattr(self, name) is None]
            if missing:
                raise ValueError(f"a {self.event} order needs {', '.join(missing)}")
        if self.event == "callback" and (self.resolved is None or self.satisfaction is None):
            raise ValueError("a callback needs resolved and satisfaction")
        return self


class Batch(BaseModel):
    """The envelope: orders are kept raw here and validated one by one."""

    orders: list[Any] = Field(min_length=1, max_length=MAX_ORDERS)


class BatchDoc(BaseModel):
    """What the request body looks like (for the OpenAPI document)."""

    orders: list[Order] = Field(min_length=1, max_length=MAX_ORDERS)


class Result(BaseModel):
    order_no: str | None
    version: int | None
    status: Status
    incident_id: uuid.UUID | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list, description="Why an order was "
                                         "rejected: `{loc, msg, type}` entries.")


class BatchResult(BaseModel):
    results: list[Result] = Field(description="One per order, in the order they were sent.")
