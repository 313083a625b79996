"""Request bodies of the lifecycle actions, and the view of units' requests (退单, 延期, 挂起).

Every body may carry the incident's `version` instead of an `If-Match` header."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_UNIT = Field(pattern=r"^[A-Z]{2,5}$", description="A receiving unit's code (departments.csv).",
              examples=["UMLE"])


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(str_strip_whitespace=True, extra="forbid",
                      json_schema_extra={"examples": list(examples)})


class ActionIn(BaseModel):
    model_config = _examples({"version": 3, "note": "已电话联系承办单位"})

    version: int | None = Field(None, ge=1, description="The incident's version as last read "
                                "(alternatively the `If-Match: \"<version>\"` header).")
    note: str | None = Field(None, max_length=2000)


class _Routed(ActionIn):
    unit_code: str = _UNIT
    street_code: str | None = Field(None, max_length=16, description="For unit STR: the street "
                                    "office that owns the order (属地); default the grid's street.")
    item_code: str | None = Field(None, max_length=16, pattern=r"^[A-Z]{2}[0-9]{3,8}$",
                                  description="The item standard; required when the incident "
                                  "has none yet (it sets the deadlines).")
    co_units: list[str] = Field(default_factory=list, max_length=10,
                                description="Co-handling units (协办).")


class DispatchIn(_Routed):
    model_config = _examples({"version": 1, "unit_code": "UMLE", "item_code": "SJ05001",
                              "note": "占道经营，派城管执法局处置"},
                             {"version": 1, "unit_code": "STR", "street_code": "430204003",
                              "co_units": ["HURD"], "note": "属地街道牵头"})

    urgent: bool | None = Field(None, description="Override the urgency (紧急) of the order.")


class RedispatchIn(_Routed):
    model_config = _examples({"version": 4, "unit_code": "HURD", "item_code": "BJ01002",
                              "reason": "井盖属住建局管养，改派"})

    reason: str = Field(min_length=2, max_length=2000)


class ReturnIn(ActionIn):
    model_config = _examples({"version": 2, "reason": "该路段不属我单位管养范围，请改派住建局"})

    reason: str = Field(min_length=2, max_length=2000)


class ReturnDecisionIn(ActionIn):
    """Approve back to triage, approve and redispatch at once to `unit_code`, or reject."""

    model_config = _examples({"version": 3, "approve": True, "unit_code": "HURD",
                              "note": "退单理由成立，改派住建局"},
                             {"version": 3, "approve": True, "note": "退回待研判"},
                             {"version": 3, "approve": False, "note": "属于你单位职责，请签收办理"})

    approve: bool
    unit_code: str | None = Field(None, pattern=r"^[A-Z]{2,5}$")
    street_code: str | None = Field(None, max_length=16)
    item_code: str | None = Field(None, max_length=16, pattern=r"^[A-Z]{2}[0-9]{3,8}$")

    @model_validator(mode="after")
    def _redispatch_only_when_approved(self) -> ReturnDecisionIn:
        if not self.approve and (self.unit_code or self.street_code or self.item_code):
            raise ValueError("a rejected return keeps its unit: give no unit_code")
        return self


class ExtensionIn(ActionIn):
    model_config = _examples({"version": 5, "hours": 16,
                              "reason": "需协调产权单位，材料采购需两个工作日"})

    hours: float = Field(gt=0, le=2000, description="Extra time asked, in working hours "
                         "(continuous hours for urgent orders).")
    reason: str = Field(min_length=2, max_length=2000)


class DecisionIn(ActionIn):
    model_config = _examples({"version": 6, "approve": True, "note": "同意"},
                             {"version": 6, "approve": False, "note": "理由不充分，请按期办结"})

    approve: bool


class ExtensionDecisionIn(DecisionIn):
    model_config = _examples({"version": 6, "approve": True, "hours": 8,
                              "note": "同意延期一个工作日"})

    hours: float | None = Field(None, gt=0, le=2000, description="Hours granted when approving; "
                                "default the hours asked.")


class SuspensionIn(ActionIn):
    model_config = _examples({"version": 5, "reason": "涉及司法诉讼，待法院判决后处理"})

    reason: str = Field(min_length=2, max_length=2000)


class ResolveIn(ActionIn):
    model_config = _examples({"version": 7,
                              "result": "已清理占道摊点，并对经营者进行教育劝导，现场恢复通行。"})

    result: str = Field(min_length=2, max_length=4000, description="What was done (办结反馈).")


class VerifyIn(ActionIn):
    model_config = _examples({"version": 8, "result": "pass", "note": "现场核查已整改到位"},
                             {"version": 8, "result": "fail", "note": "摊点仍在，未整改"})

    result: Literal["pass", "fail"]

    @model_validator(mode="after")
    def _fail_says_why(self) -> VerifyIn:
        if self.result == "fail" and not self.note:
            raise ValueError("a failed check needs a note saying what is still wrong")
        return self


class CallbackIn(ActionIn):
    model_config = _examples({"version": 8, "resolved": True, "satisfaction": "satisfied",
                              "comment": "处理及时，满意"},
                             {"version": 8, "resolved": False, "satisfaction": "unsatisfied",
                              "attributable": True, "comment": "问题仍未解决"})

    resolved: bool = Field(description="Does the caller say the problem is solved (解决)?")
    satisfaction: Literal["satisfied", "basic", "unsatisfied"] = Field(
        description="满意 / 基本满意 / 不满意")
    attributable: bool = Field(True, description="Whether dissatisfaction is the unit's to answer "
                               "for; if so the order goes back as rework (重办).")
    comment: str | None = Field(None, max_length=2000)


class ReasonIn(ActionIn):
    model_config = _examples({"version": 9, "reason": "群众反映问题反弹，重新办理"})

    reason: str = Field(min_length=2, max_length=2000)


class MessageIn(ActionIn):
    """Urge (催办), supervise (督办): a message to the unit that holds the order."""

    model_config = _examples({"version": 4, "note": "请于今日下班前签收并反馈处理进度"})

    note: str = Field(min_length=2, max_length=2000)


class MergeIn(ActionIn):
    model_config = _examples({"version": 1, "into_id": "5b0f3c52-6f0e-4d8b-9a51-0d6f8e0c2a11",
                              "note": "同一地点同一诉求，合并办理"})

    into_id: uuid.UUID = Field(description="The open incident that carries on.")


class CommentIn(ActionIn):
    model_config = _examples({"version": 4, "text": "已与社区对接，明日上午现场查看"})

    text: str = Field(min_length=1, max_length=4000)


class RequestOut(BaseModel):
    """A unit's request and, once decided, the dispatcher's decision."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    incident_id: uuid.UUID
    kind: str = Field(description="return | extension | suspension")
    state: str = Field(description="pending | approved | rejected | cancelled")
    unit_code: str | None
    reason: str
    hours: float | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
