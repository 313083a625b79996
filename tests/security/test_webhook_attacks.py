"""The 12345 webhook under hostile input that tests/hotline does not already cover (signatures,
timestamps, size limit, media types and malformed bodies are there): deeply nested and huge JSON,
numbers beyond any range, 10,000-character fields, NUL characters, emoji and rare CJK, SQL and
HTML in every text field. Always a clear 4xx or a per-order rejection; nothing stored from what
is rejected; what is accepted is returned exactly as sent. (Escaping of stored text on the review
page: tests/review/test_endpoints.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import SYSTEM
from gridops.hotline.signing import sign
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.conftest import count_rows
from tests.routing.routing_sample import full_document

URL = "/webhooks/12345"
POINT = {"lat": 27.8785, "lon": 113.078}  # inside grid 430204003001001
TEXT_FIELDS = ("title", "content", "address", "category")
HOSTILE = [
    "'); DROP TABLE incident; --",
    "1' OR '1'='1",
    '<script>alert("x")</script><img src=x onerror=alert(1)>',
    "\"quoted\" & <b>bold</b> \\ backslash {{ jinja }} ${shell}",
    "𠀀𪚥𰻞𰻞面 🚧🏗️ 👨‍👩‍👧‍👦 e\u0301 ١٢٣ \u200b零宽",
]


def order(order_no: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_no": order_no, "version": 1, "event": "created",
        "received_at": "2026-11-24T09:30:00+08:00", "channel": "phone", "urgency": "normal",
        "kind": "投诉", "title": "占道经营", "content": "建设路口有流动摊贩占道经营，影响行人通行",
        "address": "清水塘街道建设路口", "location": POINT, "category": "城市管理",
        "caller": {"name": "王建国", "phone": "13812341234", "confidential": False},
    }
    return base | fields


Post = Callable[..., Any]


@pytest.fixture
def post(client: httpx.AsyncClient, now: datetime, settings: Settings) -> Post:
    async def send(document: Any) -> httpx.Response:
        body = document if isinstance(document, bytes) else json.dumps(
            document, ensure_ascii=False).encode()
        ts = int(now.timestamp())
        return await client.post(URL, content=body, headers={
            "Content-Type": "application/json", "X-Hotline-Timestamp": str(ts),
            "X-Hotline-Signature": sign(settings.hotline.secret.get_secret_value(), ts, body)})
    return send


@pytest.fixture
async def district(session: AsyncSession, demo_pack: Any, now: datetime) -> None:
    await routing.load_table(session, full_document(), actor=SYSTEM, now=now)
    await session.commit()


def _is_problem(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", [
    b'{"orders": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"orders": [{"order_no": "N1", "caller": ' + b'{"a": ' * 50_000 + b"1"
    + b"}" * 50_000 + b"}]}",
    b'{"orders": [{"order_no": "N2", "version": ' + b"9" * 10_000 + b"}]}",
    b'{"orders": [{"order_no": "N3", "version": 1e999}]}',
])
async def test_nested_or_numeric_bombs_are_a_clear_4xx(post: Post, session: AsyncSession,
                                                       body: bytes) -> None:
    response = await post(body)
    if response.status_code == 200:  # the envelope held: the order itself must be refused
        assert [r["status"] for r in response.json()["results"]] == ["rejected"]
    else:
        _is_problem(response, 400, 422)
    assert await count_rows(session, "incident") == 0


async def test_huge_body_within_the_limit_is_taken_and_the_padding_dropped(
        post: Post, district: None, session: AsyncSession, settings: Settings) -> None:
    padding = "填" * ((settings.hotline.max_body_bytes - 2000) // 3)
    response = await post({"orders": [order("2026112400901", padding=padding)]})
    assert response.status_code == 200, response.text[:300]
    assert [r["status"] for r in response.json()["results"]] == ["created"]
    stored = await session.execute(text("SELECT text, title FROM incident"))
    expected = (order("x")["content"], order("x")["title"])
    assert [tuple(row) for row in stored] == [expected]


@pytest.mark.parametrize("field", [*TEXT_FIELDS, "order_no", "comment", "caller.name",
                                   "caller.phone"])
async def test_ten_thousand_characters_are_a_per_order_rejection(
        post: Post, district: None, session: AsyncSession, field: str) -> None:
    long = order("2026112400902")
    target, _, sub = field.partition(".")
    if sub:
        long[target] = {**long[target], sub: "长" * 10_000}
    else:
        long[target] = "长" * 10_000
    response = await post({"orders": [long, order("2026112400903")]})
    assert response.status_code == 200, response.text[:300]
    first, second = response.json()["results"]
    assert first["status"] == "rejected"
    assert any(field.split(".")[-1] in map(str, e["loc"]) for e in first["errors"]), first
    assert second["status"] == "created"
    assert await count_rows(session, "incident") == 1


async def test_nul_characters_never_reach_the_database_as_an_error(
        post: Post, district: None, session: AsyncSession) -> None:
    response = await post({"orders": [order("2026112400904", content="井盖\u0000缺失",
                                            title="标题\u0000")]})
    assert response.status_code == 200, response.text[:300]
    (result,) = response.json()["results"]
    assert result["status"] in ("rejected", "created")
    assert await count_rows(session, "incident") == (result["status"] == "created")


@pytest.mark.parametrize("payload", HOSTILE, ids=["sql", "sql-or", "html", "quotes", "unicode"])
async def test_hostile_text_is_stored_and_returned_exactly(
        post: Post, district: None, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]], payload: str) -> None:
    fields = {name: f"{payload}{name}" for name in TEXT_FIELDS}
    fields["content"] = f"井盖缺失 {payload}"
    caller = {"name": payload[:64], "phone": "13812341234", "confidential": False}
    response = await post({"orders": [order("2026112400905", caller=caller, **fields)]})
    assert response.status_code == 200, response.text[:300]
    (result,) = response.json()["results"]
    assert result["status"] == "created", result
    shown = await client.get(f"/api/v1/incidents/{result['incident_id']}",
                             headers=auth("dispatcher"))
    assert shown.status_code == 200
    incident = shown.json()
    assert incident["text"] == fields["content"]
    assert incident["title"] == fields["title"]
    assert incident["address"] == fields["address"]
    assert incident["source_category"] == fields["category"]
    assert incident["reporter"]["name"] == caller["name"]
