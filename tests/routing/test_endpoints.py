import json
from collections.abc import Callable
from datetime import datetime

import httpx
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.routing.models import Ruleset
from gridops.routing.scoring import Weights
from tests.routing.routing_sample import full_document
from tests.routing.test_service import add_units, make_incident, revised

Auth = Callable[..., dict[str, str]]
PROBLEM = "application/problem+json"
BASE = "https://gridops.example/problems/"


async def upload(client: httpx.AsyncClient, auth: Auth, document: object,
                 activate: bool = True) -> httpx.Response:
    return await client.post(f"/api/v1/rulesets?activate={str(activate).lower()}",
                             content=json.dumps(document, ensure_ascii=False).encode(),
                             headers={**auth("admin"), "content-type": "application/json"})


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_preview_needs_a_token_and_writes_nothing(client: httpx.AsyncClient, auth: Auth,
                                                        session: AsyncSession) -> None:
    body = {"text": "小区从早上开始停电了", "channel": "wechat"}
    refused = await client.post("/api/v1/routing/preview", json=body)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert (await upload(client, auth, full_document())).status_code == 201
    events = await count(session, AuditEvent)
    response = await client.post("/api/v1/routing/preview", json=body,
                                 headers=auth("grid_worker", grid="430204001001001"))
    assert response.status_code == 200
    answer = response.json()
    assert (answer["unit_code"], answer["item_code"], answer["item_name"]) == ("PWR", "SJ09002",
                                                                              "停电")
    assert answer["needs_triage"] is False
    assert answer["ruleset_version"] == 1
    assert answer["matched"] == ["停电"]
    assert answer["candidates"][0] == {"item_code": "SJ09002", "item_name": "停电",
                                       "unit_code": "PWR", "score": Weights().strong}
    # 停电 is urgent: continuous clock, 0.5 h to sign
    assert answer["deadlines"]["basis"] == "continuous"
    assert answer["deadlines"]["sign_due_at"] == "2026-11-24T02:30:00Z"
    assert answer["reasons"]
    normal = (await client.post("/api/v1/routing/preview", json={"text": "小区停水了"},
                                headers=auth("leader"))).json()
    # Tuesday 10:00 Shanghai + 2 working hours = 12:00 = 04:00Z; 24 working hours = 3 days
    assert normal["deadlines"]["basis"] == "working"
    assert normal["deadlines"]["sign_due_at"] == "2026-11-24T04:00:00Z"
    assert normal["deadlines"]["resolve_due_at"] == "2026-11-27T02:00:00Z"
    assert await count(session, AuditEvent) == events


async def test_preview_triage_for_a_street_matter_without_place(client: httpx.AsyncClient,
                                                                auth: Auth) -> None:
    await upload(client, auth, full_document())
    response = await client.post("/api/v1/routing/preview", headers=auth("dispatcher"),
                                 json={"text": "楼上邻居吵架，邻里纠纷好几天了"})
    answer = response.json()
    assert answer["needs_triage"] is True
    assert answer["unit_code"] is None
    assert answer["candidates"][0]["unit_code"] == "STR"
    assert answer["deadlines"] is None
    located = await client.post("/api/v1/routing/preview", headers=auth("dispatcher"),
                                json={"text": "楼上邻居吵架，邻里纠纷好几天了",
                                      "street_code": "430204001"})
    assert (located.json()["unit_code"], located.json()["street_code"]) == ("STR", "430204001")


async def test_preview_without_an_active_table_is_503(client: httpx.AsyncClient,
                                                      auth: Auth) -> None:
    response = await client.post("/api/v1/routing/preview", json={"text": "停电"},
                                 headers=auth("leader"))
    assert response.status_code == 503
    assert response.json()["type"] == BASE + "unavailable"


async def test_only_admins_upload_and_bad_tables_list_every_problem(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession) -> None:
    document = full_document()
    forbidden = await client.post("/api/v1/rulesets", json=document,
                                  headers=auth("dispatcher"))
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == BASE + "forbidden"
    document["items"][3] = {**document["items"][3], "code": "XX1", "resolve_hours": 0}
    document["items"][4] = {**document["items"][4], "phrases": []}
    bad = await upload(client, auth, document)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == PROBLEM
    problems = bad.json()["errors"]
    assert len(problems) == 3
    assert any("'XX1' does not match" in p for p in problems)
    assert any("resolve_hours 0 outside" in p for p in problems)
    assert any("no phrase" in p for p in problems)
    assert await count(session, Ruleset) == 0
    unsupported = await client.post("/api/v1/rulesets", content=b"x",
                                     headers={**auth("admin"), "content-type": "image/png"})
    assert unsupported.status_code == 415


async def test_yaml_upload_versions_activation_and_reading_old_versions(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession) -> None:
    raw = yaml.safe_dump(full_document(), allow_unicode=True).encode()
    first = await client.post("/api/v1/rulesets", content=raw,
                              headers={**auth("admin"), "content-type": "application/yaml"})
    assert first.status_code == 201
    assert first.json()["version"] == 1
    second = await upload(client, auth, revised(full_document()), activate=False)
    assert (second.json()["version"], second.json()["active"]) == (2, False)
    same = await upload(client, auth, revised(full_document()), activate=False)
    assert (same.json()["version"], same.json()["created"]) == (2, False)

    activated = await client.post("/api/v1/rulesets/2/activate", headers=auth("admin"))
    assert activated.status_code == 200
    assert activated.json()["active"] is True
    listing = (await client.get("/api/v1/rulesets", headers=auth("auditor"))).json()
    assert [(r["version"], r["active"]) for r in listing] == [(2, True), (1, False)]
    old = await client.get("/api/v1/rulesets/1", headers=auth("auditor"))
    assert old.status_code == 200
    assert len(old.json()["items"]) == 115
    assert (await client.get("/api/v1/rulesets/7", headers=auth("admin"))).status_code == 404
    assert (await client.post("/api/v1/rulesets/1/activate",
                              headers=auth("leader"))).status_code == 403
    flags = dict((await session.execute(select(Ruleset.version, Ruleset.active))).all())
    assert flags == {1: None, 2: True}


async def test_replay_endpoint_reports_what_would_change(client: httpx.AsyncClient, auth: Auth,
                                                         session: AsyncSession,
                                                         now: datetime) -> None:
    await add_units(session, "WTR", "PWR")
    await upload(client, auth, full_document())
    await upload(client, auth, revised(full_document()), activate=False)
    await make_incident(session, now, "家里没有水，也没人说", unit="WTR")
    await make_incident(session, now, "小区停水了", unit="WTR")
    await session.commit()
    response = await client.post("/api/v1/rulesets/replay", json={"version": 2, "days": 7},
                                 headers=auth("admin"))
    assert response.status_code == 200
    report = response.json()
    assert (report["replayed"], report["unit_changed"], report["fixed"]) == (2, 1, 1)
    assert report["matrix"] == [{"from": "triage", "to": "WTR", "count": 1}]
    assert report["examples"][0]["text"] == "家里没有水，也没人说"
    both = await client.post("/api/v1/rulesets/replay", headers=auth("admin"),
                             json={"version": 2, "table": full_document()})
    assert both.status_code == 422
    assert (await client.post("/api/v1/rulesets/replay", json={"version": 2},
                              headers=auth("dispatcher"))).status_code == 403


async def test_corrections_listing_roles(client: httpx.AsyncClient, auth: Auth) -> None:
    assert (await client.get("/api/v1/routing/corrections",
                             headers=auth("grid_worker", grid="G1"))).status_code == 403
    assert (await client.get("/api/v1/routing/corrections")).status_code == 401
    response = await client.get("/api/v1/routing/corrections", headers=auth("dispatcher"))
    assert response.status_code == 200
    assert response.json() == []


async def test_preview_resolves_a_gps_point_to_its_street(client: httpx.AsyncClient, auth: Auth,
                                                          session: AsyncSession,
                                                          demo_pack: object) -> None:
    from gridops.places.models import Grid

    await upload(client, auth, full_document())
    grid = await session.scalar(select(Grid).limit(1))
    assert grid is not None
    response = await client.post("/api/v1/routing/preview", headers=auth("dispatcher"), json={
        "text": "楼上邻居吵架，邻里纠纷好几天了",
        "location": {"lat": grid.centroid_lat, "lon": grid.centroid_lon}})
    answer = response.json()
    assert (answer["unit_code"], answer["street_code"]) == ("STR", grid.street_code)
    assert answer["grid_code"] is not None
