"""Written from the public GeoReport v2 specification only, as a new integrator would: the
endpoints, parameters and fields below are the spec's, not gridops' own."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import SYSTEM
from gridops.open311 import service as open311
from gridops.routing import service as routing

BASE = "/open311/v2"
RULES = Path(__file__).resolve().parents[2] / "src" / "gridops" / "demo" / "rules"
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type",
                  "keywords", "group"}
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}


@pytest.fixture
async def api_key(session: AsyncSession, demo_pack: object, now: datetime) -> str:
    await routing.load_table(session, RULES, actor=SYSTEM, now=now)
    _, key = await open311.add_client(session, "街道便民小程序", now=now)
    await session.commit()
    return key


async def test_service_list_and_definition(client: httpx.AsyncClient, api_key: str) -> None:
    response = await client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.json()
    assert len(services) == 285
    assert set(services[0]) == SERVICE_FIELDS
    assert all(s["type"] in ("realtime", "batch", "blackbox") for s in services)
    assert len({s["group"] for s in services}) >= 10
    code = services[0]["service_code"]
    definition = await client.get(f"{BASE}/services/{code}.json")
    assert definition.status_code == 200
    assert definition.json()["service_code"] == code
    assert isinstance(definition.json()["attributes"], list)


async def test_post_then_read_back_a_request(client: httpx.AsyncClient, api_key: str) -> None:
    services = (await client.get(f"{BASE}/services.json")).json()
    lamp = next(s for s in services if "路灯" in s["service_name"])
    created = await client.post(f"{BASE}/requests.json", data={
        "api_key": api_key, "service_code": lamp["service_code"], "lat": "27.8712",
        "long": "113.1345", "description": "小区门口路灯不亮好几天了，联系电话13812345678",
        "first_name": "建国", "last_name": "王", "phone": "13812345678",
        "email": "wang@example.com"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert isinstance(body, list)
    assert len(body) == 1
    request_id = body[0]["service_request_id"]

    one = await client.get(f"{BASE}/requests/{request_id}.json")
    assert one.status_code == 200
    [request] = one.json()
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == request_id
    assert request["status"] == "open"
    assert request["service_code"] == lamp["service_code"]
    assert request["agency_responsible"]  # the unit's name
    assert request["expected_datetime"]  # the resolve deadline
    assert "13812345678" not in request["description"]  # public: phones masked
    assert "王" not in str(request.get("address"))
    listed = (await client.get(f"{BASE}/requests.json",
                               params={"status": "open",
                                       "service_code": lamp["service_code"]})).json()
    assert request_id in [r["service_request_id"] for r in listed]
    closed = (await client.get(f"{BASE}/requests.json", params={"status": "closed"})).json()
    assert request_id not in [r["service_request_id"] for r in closed]


async def test_xml_is_served_too(client: httpx.AsyncClient, api_key: str) -> None:
    response = await client.get(f"{BASE}/services.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "services"
    assert len(root.findall("service")) == 285
    assert root.find("service/service_code") is not None


async def test_errors_use_the_spec_form(client: httpx.AsyncClient, api_key: str) -> None:
    no_key = await client.post(f"{BASE}/requests.json",
                               data={"service_code": "X", "lat": "27.87", "long": "113.13"})
    assert no_key.status_code == 403
    assert set(no_key.json()[0]) == {"code", "description"}
    bad_key = await client.post(f"{BASE}/requests.json", data={
        "api_key": "nope", "service_code": "X", "lat": "27.87", "long": "113.13"})
    assert bad_key.status_code == 403
    unknown = await client.post(f"{BASE}/requests.json", data={
        "api_key": api_key, "service_code": "SJ99999", "lat": "27.87", "long": "113.13"})
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404
    services = (await client.get(f"{BASE}/services.json")).json()
    nowhere = await client.post(f"{BASE}/requests.json", data={
        "api_key": api_key, "service_code": services[0]["service_code"]})
    assert nowhere.status_code == 400
    assert "location" in nowhere.json()[0]["description"]
    invalid = await client.post(f"{BASE}/requests.json", data={
        "api_key": api_key, "service_code": services[0]["service_code"], "lat": "north"})
    assert invalid.status_code == 400
    assert invalid.json()[0]["code"] == 400
    missing = await client.get(f"{BASE}/requests/00000000-0000-0000-0000-000000000000.json")
    assert missing.status_code == 404
    xml_error = await client.get(f"{BASE}/requests/not-an-id.xml")
    assert xml_error.status_code == 404
    assert ET.fromstring(xml_error.content).find("error/code").text == "404"  # type: ignore[union-attr]
