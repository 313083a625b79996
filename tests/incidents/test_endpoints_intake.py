"""POST /api/v1/incidents and the attachment endpoints over HTTP: status, problem types, and
what is (or is not) left in the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.incidents.models import Attachment, Incident
from gridops.incidents.storage import _filename, sniff
from gridops.places.models import Grid
from gridops.settings import Settings
from tests.builders import grids, load_rules
from tests.conftest import count_rows

URL = "/api/v1/incidents"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
STALL = {"text": "建设路口有流动摊贩占道经营，堵住了人行道", "title": "路口占道经营",
         "reporter": {"name": "王建国", "phone": "13812341234"}}
Auth = Callable[..., dict[str, str]]


@pytest.fixture
async def world(session: AsyncSession, demo_pack: Any, now: datetime) -> list[Grid]:
    await load_rules(session, now)
    return await grids(session, 2)


async def written(session: AsyncSession) -> tuple[int, int, int]:
    return (await count_rows(session, "incident"), await count_rows(session, "attachment"),
            await count_rows(session, "audit_event WHERE incident_id IS NOT NULL"))


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/" + slug), body
    return body


async def test_dispatcher_creates_a_routed_incident(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    grid = world[0]
    response = await client.post(URL, headers=auth("dispatcher"), json={
        **STALL, "location": {"lat": grid.centroid_lat, "lon": grid.centroid_lon}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"].endswith(f"{URL}/{body['id']}")
    assert response.headers["etag"] == '"1"'
    assert body["channel"] == "walk_in"
    assert body["state"] == "dispatched"
    assert body["grid_code"] == grid.code
    assert body["unit_code"] == "UMLE"
    assert body["routing"]["item_code"] == "SJ05001"
    assert body["routing"]["needs_triage"] is False
    assert body["routing"]["ruleset_version"] >= 1
    assert [(c["kind"], c["status"]) for c in body["clocks"]] == [
        ("sign", "running"), ("resolve", "running")]
    assert body["clocks"][0]["due_at"] == "2026-11-24T04:00:00Z"
    # The dispatcher needs the caller: shown in full.
    assert body["reporter"] == {"name": "王建国", "phone": "13812341234", "confidential": False,
                                "masked": False}
    stored = await session.scalar(select(Incident).where(Incident.id == uuid.UUID(body["id"])))
    assert stored is not None
    assert stored.reporter_phone == "13812341234"
    assert await written(session) == (1, 0, 2)


async def test_dispatcher_enters_a_wechat_report(
        client: httpx.AsyncClient, auth: Auth, world: list[Grid]) -> None:
    response = await client.post(URL, headers=auth("dispatcher"),
                                 json={**STALL, "channel": "wechat"})
    assert response.status_code == 201
    assert response.json()["channel"] == "wechat"


async def test_grid_worker_report_with_photos_is_stored_and_downloadable(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid],
        settings: Settings) -> None:
    grid = world[0]
    headers = auth("grid_worker", subject="gw-1", grid=grid.code)
    data = {"text": "楼道堆物，已劝导清理", "resolved_on_spot": True}
    response = await client.post(URL, headers=headers, data={"data": json.dumps(data)}, files=[
        ("photos", ("现场.png", PNG, "image/png")),
        ("photos", ("after.jpg", JPEG, "application/octet-stream"))])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["channel"] == "grid_app"
    assert body["state"] == "resolved"
    assert body["grid_code"] == grid.code
    assert body["clocks"] == []
    files = body["attachments"]
    # The type comes from the bytes, not from what the client declared.
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("现场.png", "image/png"), ("after.jpg", "image/jpeg")]
    stored = (await session.scalars(select(Attachment).order_by(Attachment.filename))).all()
    assert {a.storage_key for a in stored} == {f["sha256"] for f in files}
    for f in files:
        key = f["sha256"]
        assert (settings.storage.path / key[:2] / key[2:4] / key).is_file()
    download = await client.get(f"{URL}/{body['id']}/attachments/{files[0]['id']}",
                                headers=headers)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    trail = (await session.scalars(select(AuditEvent).where(
        AuditEvent.incident_id == uuid.UUID(body["id"])))).all()
    assert [len(e.changes["attachments"]) for e in trail] == [2]


@pytest.fixture
def small_uploads(app: FastAPI, settings: Settings) -> None:
    app.state.settings = settings.model_copy(update={
        "storage": settings.storage.model_copy(update={"max_bytes": 1024})})


@pytest.mark.usefixtures("small_uploads")
async def test_too_large_photo_is_413_and_nothing_is_written(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    response = await client.post(URL, headers=auth("dispatcher"),
                                 data={"data": json.dumps(STALL)},
                                 files=[("photos", ("big.png", PNG + bytes(2000), "image/png"))])
    problem(response, 413, "payload-too-large")
    assert await written(session) == (0, 0, 0)


async def test_photo_that_is_not_an_image_is_415_whatever_it_claims(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    response = await client.post(URL, headers=auth("dispatcher"),
                                 data={"data": json.dumps(STALL)},
                                 files=[("photos", ("x.jpg", b"MZ\x90\x00 not a photo",
                                                    "image/jpeg"))])
    body = problem(response, 415, "unsupported-media-type")
    assert "image/png" in body["allowed_types"]
    assert await written(session) == (0, 0, 0)


async def test_body_that_is_neither_json_nor_multipart_is_415(
        client: httpx.AsyncClient, auth: Auth, world: list[Grid]) -> None:
    response = await client.post(URL, headers={**auth("dispatcher"),
                                               "content-type": "text/plain"}, content="占道经营")
    problem(response, 415, "unsupported-media-type")


async def test_same_key_and_body_replays_the_first_answer(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "walk-in-0001"}
    first = await client.post(URL, headers=headers, json=STALL)
    # Same content, other key order and spacing: still the same request.
    again = await client.post(URL, headers={**headers, "content-type": "application/json"},
                              content=json.dumps(dict(reversed(STALL.items())), indent=2))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_rows(session, "incident") == 1
    conflict = await client.post(URL, headers=headers, json={**STALL, "text": "另一件事：路灯不亮"})
    problem(conflict, 409, "conflict")
    assert await count_rows(session, "incident") == 1
    # Keys belong to their subject: another dispatcher's same key is a new request.
    other = await client.post(URL, json=STALL, headers={
        **auth("dispatcher", subject="d-2"), "Idempotency-Key": "walk-in-0001"})
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    assert await count_rows(session, "incident") == 2


async def test_multipart_replay_ignores_the_boundary_but_not_the_photos(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "photo-report-1"}
    form = {"data": json.dumps(STALL)}
    first = await client.post(URL, headers=headers, data=form,
                              files=[("photos", ("a.png", PNG, "image/png"))])
    again = await client.post(URL, headers=headers, data=form,
                              files=[("photos", ("a.png", PNG, "image/png"))])
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    other = await client.post(URL, headers=headers, data=form,
                              files=[("photos", ("a.jpg", JPEG, "image/jpeg"))])
    problem(other, 409, "conflict")
    assert await written(session) == (1, 1, 2)


@pytest.mark.parametrize(("body", "loc"), [
    ({}, ["body", "text"]),
    ({"text": ""}, ["body", "text"]),
    ({"text": "   "}, ["body", "text"]),
    ({"text": "字" * 4001}, ["body", "text"]),
    ({"text": "路灯不亮", "title": "长" * 201}, ["body", "title"]),
    ({"text": "路灯不亮", "location": {"lat": 91, "lon": 113.1}}, ["body", "location", "lat"]),
    ({"text": "路灯不亮", "location": {"lat": 27.8, "lon": -181}}, ["body", "location", "lon"]),
    ({"text": "路灯不亮", "reporter": {"phone": "call me"}}, ["body", "reporter", "phone"]),
    ({"text": "路灯不亮", "channel": "hotline_12345"}, ["body", "channel"]),
    ({"text": "路灯不亮", "grid_code": "999999999"}, ["body", "grid_code"]),
    ({"text": "路灯\x00不亮"}, ["body", "text"]),
    ({"text": "路灯不亮", "reporter": {"name": "王\x00"}}, ["body", "reporter", "name"]),
    ({"text": "已处理", "resolved_on_spot": True}, ["body", "resolved_on_spot"]),
])
async def test_invalid_body_is_422_naming_the_field(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid],
        body: dict[str, Any], loc: list[str]) -> None:
    response = await client.post(URL, headers=auth("dispatcher"), json=body)
    details = problem(response, 422, "validation")
    assert loc in [e["loc"] for e in details["errors"]]
    assert await written(session) == (0, 0, 0)


async def test_broken_json_and_missing_data_part_are_422(
        client: httpx.AsyncClient, auth: Auth, world: list[Grid]) -> None:
    broken = await client.post(URL, headers={**auth("dispatcher"),
                                             "content-type": "application/json"},
                               content=b'{"text": "unterminated')
    problem(broken, 422, "validation")
    missing = await client.post(URL, headers=auth("dispatcher"), data={"other": "x"},
                                files=[("photos", ("a.png", PNG, "image/png"))])
    assert problem(missing, 422, "validation")["errors"][0]["loc"] == ["body", "data"]
    inner = await client.post(URL, headers=auth("dispatcher"),
                              data={"data": json.dumps({"text": ""})})
    assert ["body", "data", "text"] in [e["loc"] for e in problem(
        inner, 422, "validation")["errors"]]


async def test_refusals_write_nothing(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    own, other = world
    problem(await client.post(URL, json=STALL), 401, "unauthorized")
    for role, scope in (("unit_operator", {"unit": "UMLE"}), ("leader", {}), ("auditor", {})):
        problem(await client.post(URL, headers=auth(role, **scope), json=STALL), 403,
                "forbidden")
    worker = auth("grid_worker", grid=own.code)
    problem(await client.post(URL, headers=worker, json={**STALL, "grid_code": other.code}),
            403, "forbidden")
    far = {"lat": other.centroid_lat, "lon": other.centroid_lon}
    problem(await client.post(URL, headers=worker, json={**STALL, "location": far}), 403,
            "forbidden")
    assert await written(session) == (0, 0, 0)
    assert await count_rows(session, "idempotency_record") == 0


async def test_attachments_endpoint_adds_files_in_scope_only(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    created = (await client.post(URL, headers=auth("dispatcher"), json={
        **STALL, "grid_code": world[0].code})).json()
    url = f"{URL}/{created['id']}/attachments"
    photo = [("photos", ("处置后.jpg", JPEG, "image/jpeg"))]
    problem(await client.post(url, headers=auth("unit_operator", unit="PSB"), files=photo),
            403, "forbidden")
    operator = auth("unit_operator", unit="UMLE")
    response = await client.post(url, headers=operator, files=photo,
                                 data={"purpose": "resolve"})
    assert response.status_code == 201, response.text
    [attached] = response.json()
    assert (attached["purpose"], attached["content_type"]) == ("resolve", "image/jpeg")
    trail = (await session.scalars(select(AuditEvent).where(
        AuditEvent.incident_id == uuid.UUID(created["id"])).order_by(AuditEvent.seq))).all()
    assert trail[-1].action == "incident.attached"
    assert trail[-1].changes["attachments"][0]["sha256"] == attached["sha256"]
    detail = (await client.get(f"{URL}/{created['id']}", headers=operator)).json()
    assert detail["version"] == 2
    assert [a["id"] for a in detail["attachments"]] == [
        attached["id"]]
    problem(await client.get(f"{url}/{attached['id']}", headers=auth("unit_operator",
                                                                     unit="PSB")),
            403, "forbidden")
    problem(await client.get(f"{url}/{created['id']}", headers=operator), 404, "not-found")
    problem(await client.post(url, headers=operator, files=[
        ("photos", ("x.gif", b"GIF89a" + bytes(20), "image/gif"))]), 415,
        "unsupported-media-type")
    assert await count_rows(session, "attachment") == 1


async def test_nothing_attaches_to_a_closed_incident(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    created = (await client.post(URL, headers=auth("dispatcher"), json=STALL)).json()
    incident = await session.get(Incident, uuid.UUID(created["id"]))
    assert incident is not None
    incident.state = "closed"
    await session.flush()
    response = await client.post(f"{URL}/{created['id']}/attachments",
                                 headers=auth("dispatcher"),
                                 files=[("photos", ("a.png", PNG, "image/png"))])
    problem(response, 409, "conflict")
    assert await count_rows(session, "attachment") == 0


def test_stored_names_and_types_come_from_safe_sources() -> None:
    assert _filename("C:\\Users\\王\\现场\x00.png", "image/png") == "现场.png"
    assert _filename("../../etc/passwd", "image/png") == "passwd"
    assert _filename("..", "image/png") == "photo.png"
    assert _filename(None, "image/jpeg") == "photo.jpeg"
    assert sniff(PNG) == "image/png"
    assert sniff(JPEG) == "image/jpeg"
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a") is None
    assert sniff(b"<svg xmlns=") is None
