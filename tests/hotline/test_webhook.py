"""The edge of the webhook: size, media type, timestamp, signature, JSON, the envelope."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.settings import HotlineSettings, Settings
from tests.conftest import count_rows
from tests.hotline.conftest import Post, order, signed

URL = "/webhooks/12345"
PROBLEM = "application/problem+json"
BASE = "https://gridops.example/problems/"


def _problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    if slug is not None:
        assert body["type"] == BASE + slug
    return body


async def test_signed_batch_is_accepted(post: Post, district: None,
                                        session: AsyncSession) -> None:
    response = await post([order("2026112400001")])
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["status"] == "created"
    assert result["order_no"] == "2026112400001"
    assert result["errors"] == []
    assert await count_rows(session, "incident") == 1


@pytest.mark.parametrize("mutate", [
    pytest.param(lambda h: h.pop("X-Hotline-Signature"), id="signature-missing"),
    pytest.param(lambda h: h.pop("X-Hotline-Timestamp"), id="timestamp-missing"),
    pytest.param(lambda h: h.update({"X-Hotline-Signature": "sha256=" + "0" * 64}),
                 id="signature-wrong"),
    pytest.param(lambda h: h.update({"X-Hotline-Signature": "garbage"}), id="signature-garbage"),
    pytest.param(lambda h: h.update({"X-Hotline-Timestamp": "not-a-number"}),
                 id="timestamp-garbage"),
])
async def test_bad_or_missing_signature_is_401_and_stores_nothing(
        client: httpx.AsyncClient, district: None, session: AsyncSession, now: datetime,
        settings: Settings, mutate: Any) -> None:
    body, headers = signed({"orders": [order("2026112400002")]}, now=now, settings=settings)
    mutate(headers)
    response = await client.post(URL, content=body, headers=headers)
    _problem(response, 401, "unauthorized")
    assert await count_rows(session, "incident") == 0


async def test_tampered_body_fails_the_signature(client: httpx.AsyncClient, district: None,
                                                 session: AsyncSession, now: datetime,
                                                 settings: Settings) -> None:
    body, headers = signed({"orders": [order("2026112400003")]}, now=now, settings=settings)
    tampered = body.replace(b"2026112400003", b"2026112400004")
    _problem(await client.post(URL, content=tampered, headers=headers), 401)
    assert await count_rows(session, "incident") == 0


async def test_wrong_secret_is_401(post: Post, district: None, session: AsyncSession) -> None:
    _problem(await post([order("2026112400005")], secret="someone-else"), 401)
    assert await count_rows(session, "incident") == 0


@pytest.mark.parametrize(("offset", "status"), [(-301, 401), (301, 401), (-300, 200),
                                                (300, 200)])
async def test_timestamp_window_is_300_seconds_both_ways(
        post: Post, district: None, now: datetime, session: AsyncSession, offset: int,
        status: int) -> None:
    """A captured request replayed later (old timestamp) or one dated ahead is refused, even
    though its signature is right."""
    response = await post([order("2026112400006")], timestamp=int(now.timestamp()) + offset)
    assert response.status_code == status, response.text
    assert await count_rows(session, "incident") == (1 if status == 200 else 0)


async def test_previous_secret_is_accepted_while_rotating(
        app: FastAPI, post: Post, district: None, settings: Settings) -> None:
    rotated = settings.model_copy(update={"hotline": HotlineSettings(
        secret="new-secret", previous_secret=settings.hotline.secret)})
    app.state.settings = rotated
    old = await post([order("2026112400007")],
                     secret=settings.hotline.secret.get_secret_value())
    new = await post([order("2026112400008")], secret="new-secret")
    other = await post([order("2026112400009")], secret="older-still")
    assert old.status_code == 200, old.text
    assert new.status_code == 200, new.text
    _problem(other, 401)
    # Once rotation is over the previous secret stops working.
    app.state.settings = settings.model_copy(update={"hotline": HotlineSettings(
        secret="new-secret")})
    _problem(await post([order("2026112400010")],
                        secret=settings.hotline.secret.get_secret_value()), 401)


async def test_body_over_the_limit_is_413(app: FastAPI, client: httpx.AsyncClient,
                                          district: None, now: datetime, settings: Settings,
                                          session: AsyncSession) -> None:
    app.state.settings = settings.model_copy(update={"hotline": HotlineSettings(
        max_body_bytes=2000)})
    orders = [order(f"20261124{n:05d}") for n in range(5)]
    body, headers = signed({"orders": orders}, now=now, settings=settings)
    assert len(body) > 2000
    _problem(await client.post(URL, content=body, headers=headers), 413, "payload-too-large")

    async def chunks() -> Any:  # no Content-Length: counted while reading
        for start in range(0, len(body), 500):
            yield body[start:start + 500]

    _problem(await client.post(URL, content=chunks(), headers=headers), 413)
    # A Content-Length that lies low does not get a bigger body past the count.
    lying = headers | {"Content-Length": "10"}
    _problem(await client.post(URL, content=chunks(), headers=lying), 413)
    assert await count_rows(session, "incident") == 0


async def test_default_limit_is_one_mebibyte(client: httpx.AsyncClient, now: datetime,
                                             settings: Settings) -> None:
    body, headers = signed(b'{"orders": [' + b" " * (1024 * 1024) + b"]}", now=now,
                           settings=settings)
    _problem(await client.post(URL, content=body, headers=headers), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/json; charset=gbk", ""])
async def test_not_json_is_415(client: httpx.AsyncClient, now: datetime, settings: Settings,
                               content_type: str) -> None:
    body, headers = signed({"orders": [order("2026112400011")]}, now=now, settings=settings)
    headers["Content-Type"] = content_type
    _problem(await client.post(URL, content=body, headers=headers), 415,
             "unsupported-media-type")


async def test_json_with_utf8_charset_is_fine(client: httpx.AsyncClient, district: None,
                                              now: datetime, settings: Settings) -> None:
    body, headers = signed({"orders": [order("2026112400012")]}, now=now, settings=settings)
    headers["Content-Type"] = "application/json; charset=UTF-8"
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200


@pytest.mark.parametrize("raw", [b'{"orders": [', b"\xff\xfe{}", b"", b"{'orders': []}"])
async def test_malformed_body_is_400(client: httpx.AsyncClient, now: datetime,
                                     settings: Settings, raw: bytes) -> None:
    body, headers = signed(raw, now=now, settings=settings)
    _problem(await client.post(URL, content=body, headers=headers), 400, "malformed-body")


@pytest.mark.parametrize(("document", "loc"), [
    ({"orders": []}, ["body", "orders"]),
    ({"orders": [order(f"{n:013d}") for n in range(501)]}, ["body", "orders"]),
    ({"order": [order("2026112400013")]}, ["body", "orders"]),
    (json.dumps([order("2026112400014")]).encode(), ["body"]),
    ({"orders": "2026112400015"}, ["body", "orders"]),
])
async def test_bad_envelope_is_422_listing_the_problem(
        post: Post, district: None, session: AsyncSession, document: Any,
        loc: list[str]) -> None:
    body = _problem(await post(document), 422, "validation")
    assert loc in [e["loc"] for e in body["errors"]]
    assert await count_rows(session, "incident") == 0


async def test_500_orders_is_the_most_allowed(post: Post, district: None) -> None:
    response = await post([{"order_no": f"{n:013d}"} for n in range(500)])
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 500  # every one rejected (no fields), but the batch was taken
    assert {r["status"] for r in results} == {"rejected"}


def test_openapi_declares_the_hmac_policy(app: FastAPI) -> None:
    operation = app.openapi()["paths"][URL]["post"]
    assert operation["x-auth"] == "hmac-sha256"
    assert operation["x-public"] is True
    assert "HMAC-SHA256" in operation["description"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["orders"]["maxItems"] == 500
    assert "order_no" in schema["properties"]["orders"]["items"]["properties"]
    assert {p["name"] for p in operation["parameters"]} == {"x-hotline-timestamp",
                                                           "x-hotline-signature"}
    assert {"400", "401", "413", "415", "422"} <= set(operation["responses"])
    assert "$defs" not in json.dumps(schema)
