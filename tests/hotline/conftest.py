"""The hotline's side of the wire: signed batches, order builders, a routed district."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import SYSTEM, Actor, Role
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.hotline.signing import sign
from gridops.incidents import actions
from gridops.incidents.models import Incident
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.routing.routing_sample import full_document

# A point inside grid 430204003001001 (清水塘社区第1网格, 清水塘街道).
POINT = {"lat": 27.8785, "lon": 113.078}
STALLS = "建设路口有流动摊贩占道经营，影响行人通行"  # routes to UMLE (SJ05001)
OUTAGE = "小区整栋楼停电了，已经三个小时"  # routes to PWR (SJ09002), urgent item
# Nothing the router is sure of: the order waits in triage.
VAGUE = {"title": "未说明", "content": "市民来电未说明具体事项", "category": None,
         "location": None, "address": "某处"}


def order(order_no: str, version: int = 1, event: str = "created", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "order_no": order_no, "version": version, "event": event,
        "received_at": "2026-11-24T09:30:00+08:00", "channel": "phone", "urgency": "normal",
        "kind": "投诉", "title": "占道经营", "content": STALLS, "address": "清水塘街道建设路口",
        "location": POINT, "category": "城市管理",
        "caller": {"name": "王建国", "phone": "13812341234", "confidential": True},
    }
    return base | fields


def signed(document: Any, *, now: datetime, secret: str | None = None,
           timestamp: int | None = None, settings: Settings | None = None,
           ) -> tuple[bytes, dict[str, str]]:
    body = document if isinstance(document, bytes) else json.dumps(
        document, ensure_ascii=False).encode()
    ts = int(now.timestamp()) if timestamp is None else timestamp
    key = secret or (settings or Settings(_env_file=None)).hotline.secret.get_secret_value()
    return body, {"Content-Type": "application/json", "X-Hotline-Timestamp": str(ts),
                  "X-Hotline-Signature": sign(key, ts, body)}


Post = Callable[..., Any]


@pytest.fixture
def post(client: httpx.AsyncClient, now: datetime, settings: Settings) -> Post:
    async def send(orders: list[dict[str, Any]] | Any, **kw: Any) -> httpx.Response:
        document = {"orders": orders} if isinstance(orders, list) else orders
        body, headers = signed(document, now=now, settings=settings, **kw)
        return await client.post("/webhooks/12345", content=body, headers=headers)
    return send


@pytest.fixture
async def district(session: AsyncSession, demo_pack: Any, now: datetime) -> None:
    """The demo district with a small rule table covering all 23 units, active."""
    await routing.load_table(session, full_document(), actor=SYSTEM, now=now)
    await session.commit()


@pytest.fixture(scope="session")
def cal() -> WorkingCalendar:
    return build_calendar()


@pytest.fixture
def ctx(now: datetime, cal: WorkingCalendar, settings: Settings) -> Callable[..., actions.Ctx]:
    def make(role: Role = Role.unit_operator, unit_code: str | None = "UMLE",
             at: datetime | None = None) -> actions.Ctx:
        actor = Actor(subject=f"test-{role.value}", role=role, unit_code=unit_code)
        return actions.Ctx(actor=actor, now=at or now, cal=cal, settings=settings)
    return make


async def incident_of(session: AsyncSession, order_no: str) -> Incident:
    found = await session.scalar(
        select(Incident).where(Incident.channel == "hotline_12345",
                               Incident.external_id == order_no)
        .execution_options(populate_existing=True))
    assert found is not None, f"no incident for order {order_no}"
    return found


def results_by_no(response: httpx.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    return {r["order_no"]: r for r in response.json()["results"]}


def new_no() -> str:
    return str(uuid.uuid4().int)[:13]


def outage(order_no: str, version: int = 1, event: str = "created",
           **fields: Any) -> dict[str, Any]:
    """An order the router sends to the power company (an urgent item)."""
    return order(order_no, version, event, **({"title": "停电", "content": OUTAGE,
                                               "category": "供电"} | fields))
