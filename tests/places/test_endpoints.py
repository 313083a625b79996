"""The /places API: who may read, masking of workers' phones, locate, pagination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gridops.places.pack import DEMO_PACK, read_pack

BASE = "/api/v1/places"
Auth = Callable[..., dict[str, str]]


@pytest.mark.parametrize("path", ["/streets", "/streets/430204001/communities", "/grids",
                                  "/grids/430204001001001", "/locate?lat=27.87&lon=113.13",
                                  "/units"])
async def test_every_endpoint_needs_a_token(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(BASE + path)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unauthorized")
    bad = await client.get(BASE + path, headers={"Authorization": "Bearer not-a-jwt"})
    assert bad.status_code == 401


async def test_streets_and_their_communities(client: httpx.AsyncClient, auth: Auth,
                                             demo_pack: Any) -> None:
    response = await client.get(f"{BASE}/streets", headers=auth("leader"))
    assert response.status_code == 200
    streets = response.json()
    assert [s["name"] for s in streets] == ["田心街道", "响石岭街道", "清水塘街道",
                                            "铜塘湾街道", "井龙街道"]
    assert sum(s["communities"] for s in streets) == 45
    assert sum(s["grids"] for s in streets) == 232
    response = await client.get(f"{BASE}/streets/430204005/communities",
                                headers=auth("grid_worker", grid="430204005002001"))
    assert response.status_code == 200
    communities = response.json()
    assert communities[1]["name"] == "龙头铺村"
    assert sum(c["grids"] for c in communities) == streets[4]["grids"]
    missing = await client.get(f"{BASE}/streets/430204999/communities", headers=auth("admin"))
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")


async def test_grids_are_paginated_and_filtered_without_polygons(
        client: httpx.AsyncClient, auth: Auth, demo_pack: Any) -> None:
    headers = auth("unit_operator", unit="UMLE")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{BASE}/grids", params=params, headers=headers)).json()
        assert page["total"] == 232
        assert all(g["polygon"] is None for g in page["items"])
        seen += [g["code"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 232
    assert seen == sorted(seen)
    page = (await client.get(f"{BASE}/grids", headers=headers,
                             params={"community": "430204001001", "geometry": "true"})).json()
    assert page["total"] == len(page["items"]) > 0
    assert all(g["community_code"] == "430204001001" for g in page["items"])
    assert all(g["polygon"]["type"] == "Polygon" for g in page["items"])
    page = (await client.get(f"{BASE}/grids", headers=headers,
                             params={"street": "430204002", "limit": 5})).json()
    assert page["total"] == 48
    assert {g["street_code"] for g in page["items"]} == {"430204002"}
    bad = await client.get(f"{BASE}/grids", headers=headers, params={"limit": 0})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("role", "scope", "sees_phone"), [
    ("dispatcher", {}, True),
    ("admin", {}, True),
    ("grid_worker", {"grid": "430204001001001"}, False),
    ("unit_operator", {"unit": "PSB"}, False),
    ("leader", {}, False),
    ("auditor", {}, False),
])
async def test_grid_workers_phones_are_masked_for_roles_that_do_not_dispatch(
        client: httpx.AsyncClient, auth: Auth, demo_pack: Any, role: str,
        scope: dict[str, str], sees_phone: bool) -> None:
    response = await client.get(f"{BASE}/grids/430204001001001", headers=auth(role, **scope))
    assert response.status_code == 200
    grid = response.json()
    assert grid["polygon"]["type"] == "Polygon"
    assert [w["post"] for w in grid["workers"]] == ["A", "B"]
    for worker in grid["workers"]:
        phone = worker["phone"]
        assert len(phone) == 11
        if sees_phone:
            assert "*" not in phone
        else:
            assert phone[3:7] == "****"
        assert worker["subject"].startswith("gw-430204001001001-")


async def test_unknown_grid_is_404(client: httpx.AsyncClient, auth: Auth,
                                   demo_pack: Any) -> None:
    response = await client.get(f"{BASE}/grids/000", headers=auth("dispatcher"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_locate_a_point_and_a_point_outside(client: httpx.AsyncClient, auth: Auth,
                                                  demo_pack: Any) -> None:
    headers = auth("grid_worker", grid="430204004002004")
    response = await client.get(f"{BASE}/locate", params={"lat": 27.87, "lon": 113.13},
                                headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "grid_code": "430204004002004", "grid_name": "明星社区第4网格",
        "community_code": "430204004002", "community_name": "明星社区",
        "street_code": "430204004", "street_name": "铜塘湾街道", "distance_m": 0.0}
    outside = await client.get(f"{BASE}/locate", params={"lat": 28.2, "lon": 112.9},
                               headers=headers)
    assert outside.status_code == 404
    assert outside.headers["content-type"] == "application/problem+json"
    assert outside.json()["type"].endswith("/not-found")
    invalid = await client.get(f"{BASE}/locate", params={"lat": 127.87, "lon": 113.13},
                               headers=headers)
    assert invalid.status_code == 422


async def test_locate_tolerates_gps_drift_only_when_asked(client: httpx.AsyncClient,
                                                          auth: Auth, demo_pack: Any) -> None:
    pack = read_pack(DEMO_PACK)
    top = max(pack.grids, key=lambda g: g.polygon.bounds[3])
    lon, lat = max(top.polygon.exterior.coords, key=lambda c: c[1])
    params: dict[str, Any] = {"lat": lat + 50 / 111_320, "lon": lon}  # 50 m north of the edge
    headers = auth("dispatcher")
    assert (await client.get(f"{BASE}/locate", params=params, headers=headers)).status_code == 404
    near = await client.get(f"{BASE}/locate", params=params | {"tolerance_m": 100},
                            headers=headers)
    assert near.status_code == 200
    assert near.json()["grid_code"] == top.code
    assert 45 < near.json()["distance_m"] < 55
    too_far = await client.get(f"{BASE}/locate", params=params | {"tolerance_m": 20},
                               headers=headers)
    assert too_far.status_code == 404
    capped = await client.get(f"{BASE}/locate", params=params | {"tolerance_m": 5000},
                              headers=headers)
    assert capped.status_code == 422


async def test_units_are_the_23_receiving_units(client: httpx.AsyncClient, auth: Auth,
                                                demo_pack: Any) -> None:
    response = await client.get(f"{BASE}/units", headers=auth("auditor"))
    assert response.status_code == 200
    units = {u["code"]: u for u in response.json()}
    assert len(units) == 23
    assert units["STR"]["name_zh"] == "街道办事处(属地)"
    assert units["PSB"]["name_en"].startswith("Public Security")
