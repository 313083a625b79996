"""Generated from the OpenAPI document: every operation on one incident, for every role that may
call it and has a scope, with a token in the incident's scope and one outside it. Out of scope is
403 and nothing changes; in scope is never 403."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.main import create_app
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.builders import make_incident

RULES = Path(__file__).resolve().parents[2] / "src" / "gridops" / "demo" / "rules"
GRID, COMMUNITY, STREET = "430204003001001", "430204003001", "430204003"
OTHER_GRID, OTHER_STREET = "430204001001001", "430204001"
IN_SCOPE = {"grid_worker": {"grid": GRID}, "unit_operator": {"unit": "UMLE"},
            "dispatcher": {"street": STREET}}
OUT_OF_SCOPE = {"grid_worker": {"grid": OTHER_GRID}, "unit_operator": {"unit": "PSB"},
                "dispatcher": {"street": OTHER_STREET}}
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
                       "hQGAhKmMIQAAAABJRU5ErkJggg==")


def _operations() -> list[tuple[str, str, str, dict[str, Any] | None]]:
    document = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    schemas = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        if "{incident_id}" not in path:
            continue
        for method, op in operations.items():
            body = None
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ref = content["application/json"]["schema"].get("$ref", "")
                examples = schemas.get(ref.split("/")[-1], {}).get("examples") or [{}]
                body = dict(examples[0])
            for role in op.get("x-roles", []):
                if role in IN_SCOPE:
                    found.append((method.upper(), path, role, body))
    return found


OPERATIONS = _operations()


def test_every_incident_operation_is_in_the_matrix() -> None:
    paths = {path for _, path, _, _ in OPERATIONS}
    assert len(paths) >= 20
    assert all(role in IN_SCOPE for _, _, role, _ in OPERATIONS)


async def _call(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None,
                incident_id: str, version: int, headers: dict[str, str],
                other_id: str) -> httpx.Response:
    url = path.replace("{incident_id}", incident_id)
    url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", url)
    if path.endswith("/attachments") and method == "POST":
        return await client.post(url, files={"photos": ("p.png", PNG, "image/png")},
                                 headers=headers)
    if body is not None:
        body = {**body, "version": version}
        if "into_id" in body:
            body["into_id"] = other_id
    return await client.request(method, url, json=body,
                                headers={**headers, "If-Match": f'"{version}"'})


@pytest.mark.parametrize(("method", "path", "role", "body"), OPERATIONS,
                         ids=[f"{m} {p} {r}" for m, p, r, _ in OPERATIONS])
async def test_scope_is_enforced(app: FastAPI, client: httpx.AsyncClient, session: AsyncSession,
                                 demo_pack: object, auth: Callable[..., dict[str, str]],
                                 now: datetime, method: str, path: str, role: str,
                                 body: dict[str, Any] | None) -> None:
    await routing.load_table(session, RULES, actor=SYSTEM, now=now)  # redispatch learns from it
    incident, other = [await make_incident(session, state="dispatched", unit_code="UMLE",
                                           grid_code=GRID, community_code=COMMUNITY,
                                           street_code=STREET) for _ in range(2)]
    await session.commit()
    before = (incident.version, await _events(session, incident.id))

    outsider = await _call(client, method, path, body, str(incident.id), incident.version,
                           auth(role, f"out-{role}", **OUT_OF_SCOPE[role]), str(other.id))
    assert outsider.status_code == 403, (outsider.status_code, outsider.text)
    assert outsider.headers["content-type"] == "application/problem+json"
    await session.refresh(incident)
    assert (incident.version, await _events(session, incident.id)) == before

    insider = await _call(client, method, path, body, str(incident.id), incident.version,
                          auth(role, f"in-{role}", **IN_SCOPE[role]), str(other.id))
    assert insider.status_code != 403, (insider.status_code, insider.text)
    assert insider.status_code < 500, insider.text


async def _events(session: AsyncSession, incident_id: Any) -> int:
    from sqlalchemy import func, select

    return int(await session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.incident_id == incident_id)) or 0)
