from __future__ import annotations

from pydantic import BaseModel, Field


class Service(BaseModel):
    service_code: str = Field(examples=["SJ05001"])
    service_name: str = Field(examples=["占道经营"])
    description: str = Field(examples=["在城市道路、广场等公共场所摆摊设点、占道经营的。"])
    metadata: bool = False
    type: str = "realtime"
    keywords: str = Field(examples=["占道经营,摆摊设点,流动摊贩"])
    group: str = Field(examples=["街面秩序"])


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str
    required: bool
    datatype_description: str | None = None
    order: int
    description: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(examples=["open"])
    status_notes: str | None = Field(None, examples=["已派单至区城市管理和综合执法局，待签收"])
    service_name: str | None = None
    service_code: str | None = None
    description: str | None = None
    agency_responsible: str | None = Field(None, examples=["区城市管理和综合执法局"])
    service_notice: str | None = None
    requested_datetime: str
    updated_datetime: str
    expected_datetime: str | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None = None
    account_id: str | None = None


class Open311Error(BaseModel):
    code: int
    description: str
