from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class StreetOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "430204001", "name": "田心街道", "district_code": "430204",
         "communities": 10, "grids": 48}]})

    code: str
    name: str
    district_code: str
    communities: int = Field(description="communities (社区/村) in the street")
    grids: int = Field(description="grids (网格) in the street")


class CommunityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"code": "430204001001", "name": "北门社区", "street_code": "430204001", "grids": 5}]})

    code: str
    name: str
    street_code: str
    grids: int


class GridOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"code": "430204001001001", "name": "北门社区第1网格", "community_code": "430204001001",
         "street_code": "430204001", "households": 412, "centroid_lat": 27.8712,
         "centroid_lon": 113.1634, "polygon": None}]})

    code: str
    name: str
    community_code: str
    street_code: str
    households: int | None
    centroid_lat: float
    centroid_lon: float
    polygon: dict[str, Any] | None = Field(
        None, description="GeoJSON Polygon (lon, lat); only with `geometry=true` in lists")


class GridPage(BaseModel):
    items: list[GridOut]
    total: int = Field(description="grids matching the filters, over all pages")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at "
                                                "the end")


class WorkerOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"post": "A", "name": "王建国", "phone": "139****4821",
         "subject": "gw-430204001001001-a"}]})

    post: str = Field(description="A (专职) or B (兼职) post of the grid")
    name: str
    phone: str | None = Field(description="masked unless the caller is a dispatcher or admin")
    subject: str = Field(description="the login (`sub` claim) of the worker")


class GridDetailOut(GridOut):
    workers: list[WorkerOut]


class LocateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"grid_code": "430204004002004", "grid_name": "明星社区第4网格",
         "community_code": "430204004002", "community_name": "明星社区",
         "street_code": "430204004", "street_name": "铜塘湾街道", "distance_m": 0.0}]})

    grid_code: str
    grid_name: str
    community_code: str
    community_name: str
    street_code: str
    street_name: str
    distance_m: float = Field(description="0 inside the grid; otherwise how far outside the "
                                          "point lies (only with `tolerance_m`)")


class UnitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"code": "UMLE", "name_zh": "区城市管理和综合执法局",
         "name_en": "Urban Management and Law Enforcement Bureau",
         "owns_examples": "占道经营 店外经营 违规户外广告"}]})

    code: str
    name_zh: str
    name_en: str
    owns_examples: str
