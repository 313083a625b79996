"""Small async builders shared by tests: rows inserted directly through the ORM, with defaults
that make sense, so a test states only what it is about."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.clock.models import SlaClock
from gridops.incidents.models import Incident
from gridops.places.models import Grid

BUILDER_NOW = datetime.fromisoformat("2026-11-24T02:00:00+00:00")
RULES_ADMIN = Actor(subject="test-admin", role=Role.admin)

_MAJORS = {"BJ01": "公用设施", "SJ01": "市容环境", "SJ04": "突发事件", "SJ05": "街面秩序",
           "SJ06": "矛盾纠纷", "SJ09": "民生服务"}


def rule(code: str, name: str, unit: str, phrases: list[str], **extra: Any) -> dict[str, Any]:
    """One item standard row of a rule table."""
    row: dict[str, Any] = {
        "code": code, "name": name, "kind": "asset" if code.startswith("BJ") else "event",
        "major": _MAJORS[code[:4]], "minor": name, "unit": unit, "co_units": [],
        "level": "unit", "filing": f"发现{name}的。", "closing": f"{name}已处置。",
        "urgency": "normal", "sign_hours": 2, "resolve_hours": 24, "urgent_sign_hours": 0.5,
        "urgent_resolve_hours": 12, "photo_required": False, "phrases": phrases,
    }
    row.update(extra)
    return row


# A tiny but real table: enough to route, to triage, to reach the street (属地) and to be urgent.
TINY_RULES: list[dict[str, Any]] = [
    rule("SJ05001", "占道经营", "UMLE", ["占道经营", "摆摊设点", "流动摊贩", "路边摆摊"],
         strong=["占道经营", "流动摊贩"], co_units=["STR"]),
    rule("BJ01001", "路灯不亮", "UMLE", ["路灯不亮", "路灯坏了"], strong=["路灯不亮"]),
    rule("SJ01003", "楼道堆物", "STR", ["楼道堆物", "楼道堆放", "楼道里堆"],
         strong=["楼道堆物"], level="community"),
    rule("SJ06001", "邻里纠纷", "STR", ["邻里纠纷", "邻居吵架"], strong=["邻里纠纷"]),
    rule("SJ04001", "燃气泄漏", "GAS", ["燃气泄漏", "煤气味", "天然气味"],
         strong=["燃气泄漏"], urgency="urgent"),
    rule("SJ09003", "停水", "WTR", ["停水", "没水了"], strong=["停水"], sign_hours=1,
         resolve_hours=8),
]


def _fillers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A table must give every known unit at least five items; these fill it with phrases no
    test text contains."""
    units = [line.split(",", 1)[0] for line in (
        resources.files("gridops").joinpath("demo/units.csv").read_text(encoding="utf-8")
        .splitlines()[1:]) if line]
    have = {u: sum(r["unit"] == u for r in rows) for u in units}
    extra, seq = [], 100
    for unit in units:
        for n in range(max(0, 5 - have[unit])):
            seq += 1
            extra.append(rule(f"SJ09{seq:03d}", f"{unit}测试事项{n}", unit,
                              [f"{unit}专用测试短语{n}"]))
    return extra


def rules_document(items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rows = TINY_RULES if items is None else items
    rows = rows + _fillers(rows)
    return {"label": "测试事项表 (tests/builders.py)", "declared_count": len(rows),
            "items": [dict(r) for r in rows]}


async def load_rules(session: AsyncSession, now: datetime = BUILDER_NOW,
                     items: list[dict[str, Any]] | None = None) -> int:
    """Store and activate a rule table through the routing service; returns its version."""
    from gridops.routing import service as routing

    result = await routing.load_table(session, rules_document(items), actor=RULES_ADMIN, now=now)
    return result.version


async def grids(session: AsyncSession, count: int = 3) -> list[Grid]:
    """The first `count` grids by code (the demo pack must be loaded)."""
    return list((await session.scalars(select(Grid).order_by(Grid.code).limit(count))).all())


async def make_incident(session: AsyncSession, **overrides: Any) -> Incident:
    """An incident row with sensible defaults (triage, no place, no unit); flushed."""
    now = overrides.pop("now", BUILDER_NOW)
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "channel": "grid_app", "text": "小区门口有流动摊贩占道经营。",
        "state": "triage", "created_by": "builder", "created_at": now, "updated_at": now,
        "urgency": "normal", "routing": {}, "co_units": [], "possible_duplicates": [],
    }
    values.update(overrides)
    incident = Incident(**values)
    session.add(incident)
    await session.flush()
    return incident


async def make_clock(session: AsyncSession, incident: Incident, *, kind: str = "resolve",
                     due_at: datetime, started_at: datetime | None = None,
                     **overrides: Any) -> SlaClock:
    """An sla_clock row (running unless `outcome`/`stopped_at` are given); flushed."""
    started = started_at or due_at - timedelta(hours=8)
    values: dict[str, Any] = {
        "incident_id": incident.id, "kind": kind, "round": 1, "basis": "working",
        "limit_minutes": 480.0, "unit_code": incident.unit_code, "started_at": started,
        "due_at": due_at, "due_soon_at": due_at - timedelta(hours=2),
    }
    values.update(overrides)
    clock = SlaClock(**values)
    session.add(clock)
    await session.flush()
    return clock


async def pooled_pids(engine: AsyncEngine, n: int) -> list[int]:
    """Fill the pool with `n` connections and return their backends' pids (PostgreSQL)."""
    conns = [await engine.connect() for _ in range(n)]
    try:
        return [int(await c.scalar(text("SELECT pg_backend_pid()"))) for c in conns]
    finally:
        for c in conns:
            await c.close()


async def terminate_backends(pids: list[int]) -> None:
    """Kill these PostgreSQL backends behind their clients' backs, as a restart would."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    from tests.conftest import TEST_DB_URL

    assert TEST_DB_URL
    admin = make_url(TEST_DB_URL).set(drivername="postgresql").render_as_string(
        hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        # With a timeout, pg_terminate_backend returns once each backend is gone.
        done = await conn.fetch("SELECT pg_terminate_backend(pid, 5000) FROM unnest($1::int[]) "
                                "AS pid", pids)
    finally:
        await conn.close()
    assert all(row[0] for row in done)
