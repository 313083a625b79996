"""Property-based API testing from the app's own OpenAPI document (schemathesis + hypothesis).

For every operation, schemathesis draws valid requests (and some invalid ones) from the published
schema; each is sent in-process (ASGI, this test's transaction) with the token of one of the six
human roles in turn, over the demo district and rule table with a few incidents in several states,
path ids pointing at those incidents half of the time, and the 12345 webhook signed half of the
time. Every answer must be below 500 with a body valid against its declared schema (first test),
and its status code and content type must be declared in the document (second test).

Reproducible and bounded: hypothesis is derandomized (the same cases every run) and
`GRIDOPS_FUZZ_EXAMPLES` (default 12 valid + 6 invalid per operation) fixes the budget.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import SYSTEM
from gridops.hotline.signing import sign
from gridops.main import create_app
from gridops.routing import service as routing
from gridops.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::hypothesis.errors.NonInteractiveExampleWarning")

VALID = int(os.environ.get("GRIDOPS_FUZZ_EXAMPLES", "12"))
INVALID = max(1, VALID // 2)
RULES = Path(__file__).resolve().parents[2] / "src" / "gridops" / "demo" / "rules"
GRID = "430204003001001"  # 清水塘社区第1网格; the seeded incidents are here
POINT = {"lat": 27.8785, "lon": 113.078}
ROLES: list[tuple[str, dict[str, str]]] = [
    ("dispatcher", {}), ("grid_worker", {"grid": GRID}), ("unit_operator", {"unit": "UMLE"}),
    ("leader", {}), ("auditor", {}), ("admin", {}),
]
# Two verdicts on every answer: what a client receives is sound (no 5xx, a body valid against its
# declared schema), and the document declares every status and media type the API sends.
VERDICTS = {"answers": [not_a_server_error, response_schema_conformance],
            "documented": [status_code_conformance, content_type_conformance]}
TEXTS = ["建设路口有流动摊贩占道经营，影响行人通行", "小区整栋楼停电了，已经三个小时",
         "楼道里堆放杂物已清理完毕。", "有人反映一件说不清楚的事情"]

SCHEMA = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())  # type: ignore[call-arg]
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _draw(operation: Any, mode: GenerationMode, count: int) -> list[Any]:
    """`count` cases, the same ones on every run (derandomized, no example database)."""
    cases: list[Any] = []

    @hypothesis_settings(max_examples=count, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        cases.append(case)

    try:
        collect()
    except Unsatisfiable:  # no invalid request exists for an operation without inputs
        assert mode is GenerationMode.NEGATIVE, operation.label
    return cases


def _request(case: Any, token: str, ids: dict[str, str], index: int,
             signing_secret: str, now: datetime) -> dict[str, Any]:
    if index % 2 == 0:
        for name in case.path_parameters or {}:
            if name in ids:
                case.path_parameters[name] = ids[name]
    kwargs = case.as_transport_kwargs(base_url="http://test")
    kwargs.pop("cookies", None)  # per-request cookies are deprecated in httpx
    headers = {k: str(v) for k, v in (kwargs.pop("headers", None) or {}).items()}
    headers["Authorization"] = f"Bearer {token}"
    if case.path == "/webhooks/12345" and "json" in kwargs and index % 2 == 0:
        body = json.dumps(kwargs.pop("json"), ensure_ascii=False).encode()
        ts = int(now.timestamp())
        headers |= {"Content-Type": "application/json", "X-Hotline-Timestamp": str(ts),
                    "X-Hotline-Signature": sign(signing_secret, ts, body)}
        kwargs["content"] = body
    if kwargs.get("files") is not None:
        kwargs["files"] = [_part(name, value) for name, value in kwargs["files"]]
        if kwargs.get("data") is None:
            kwargs.pop("data", None)
    return {**kwargs, "headers": headers}


def _part(name: str, value: Any) -> tuple[str, tuple[str | None, bytes]]:
    """A multipart part as httpx takes it: schemathesis may hand over numbers or objects."""
    filename, content = value if isinstance(value, tuple) else (None, value)
    if isinstance(content, str):
        content = content.encode()
    elif not isinstance(content, bytes):
        content = json.dumps(content).encode()
    return name, (filename, content)


@pytest.fixture
async def world(client: httpx.AsyncClient, session: AsyncSession, demo_pack: Any,
                now: datetime, auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """The demo district and rule table, and incidents: dispatched, triage, on-spot."""
    await routing.load_table(session, RULES, actor=SYSTEM, now=now)
    await session.commit()
    ids: list[str] = []
    for text in TEXTS:
        response = await client.post("/api/v1/incidents", json={
            "text": text, "location": POINT, "resolved_on_spot": text.endswith("完毕。")},
            headers=auth("grid_worker", grid=GRID))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return {"incident_id": ids[0], "service_request_id": ids[1], "code": GRID,
            "service_code": "SJ05001", "version": "1"}


Report = dict[str, dict[str, list[str]]]  # verdict -> operation -> failures
# The generated requests are sent once; both tests below judge the same answers.
_SENT: dict[str, tuple[int, Report]] = {}


def _failure(role: str, request: dict[str, Any], response: httpx.Response,
             exc: FailureGroup) -> str:
    body = request.get("json", request.get("content", request.get("files")))
    return (f"{role}: {request['method']} {response.request.url}\n"
            f"  body: {str(body)[:300]}\n  -> {response.status_code} {response.text[:300]}\n"
            f"  {str(exc).strip()[:600]}")


async def _fuzz(operation: Any, world: dict[str, str], client: httpx.AsyncClient,
                token: Callable[..., str], secret: str, now: datetime,
                report: Report) -> int:
    cases = (_draw(operation, GenerationMode.POSITIVE, VALID)
             + _draw(operation, GenerationMode.NEGATIVE, INVALID))
    for index, case in enumerate(cases):
        role, scope = ROLES[index % len(ROLES)]
        request = _request(case, token(role, **scope), world, index, secret, now)
        built = client.build_request(**request)
        await built.aread()  # multipart bodies stream; the checks read the request again
        response = await client.send(built)
        for verdict, checks in VERDICTS.items():
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as exc:  # one group describing every failed check
                report[verdict].setdefault(operation.label, []).append(
                    _failure(role, request, response, exc))
    return len(cases)


async def _sent(app: FastAPI, world: dict[str, str], token: Callable[..., str],
                settings: Settings, now: datetime) -> tuple[int, Report]:
    if "all" not in _SENT:
        secret = settings.hotline.secret.get_secret_value()
        report: Report = {verdict: {} for verdict in VERDICTS}
        sent = 0
        # An unhandled error must reach the checks as the 500 a real client would see.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for operation in OPERATIONS:
                sent += await _fuzz(operation, world, client, token, secret, now, report)
        if os.environ.get("GRIDOPS_FUZZ_REPORT"):  # every failure, not only the first few
            _write_report(Path(os.environ["GRIDOPS_FUZZ_REPORT"]), report)
        _SENT["all"] = (sent, report)
    return _SENT["all"]


def _summary(failures: dict[str, list[str]]) -> str:
    return "\n\n".join(f"{label}: {len(found)} failed\n" + "\n".join(found[:3])
                        for label, found in failures.items())


async def test_no_server_error_and_every_body_matches_its_schema(
    app: FastAPI, world: dict[str, str], token: Callable[..., str], settings: Settings,
    now: datetime,
) -> None:
    sent, report = await _sent(app, world, token, settings, now)
    assert sent >= len(OPERATIONS) * VALID // 2
    assert not report["answers"], _summary(report["answers"])


async def test_every_status_and_media_type_is_documented(
    app: FastAPI, world: dict[str, str], token: Callable[..., str], settings: Settings,
    now: datetime,
) -> None:
    _, report = await _sent(app, world, token, settings, now)
    assert not report["documented"], _summary(report["documented"])


def _write_report(path: Path, report: Report) -> None:
    path.write_text("\n\n".join(f"[{verdict}] {label}\n" + "\n".join(found)
                                for verdict, failures in report.items()
                                for label, found in failures.items()), encoding="utf-8")


def test_every_operation_is_fuzzed() -> None:
    # Guards against a schema that stops loading operations (e.g. a broken $ref).
    assert len(OPERATIONS) >= 30
    assert {"/api/v1/incidents", "/webhooks/12345"} <= {op.path for op in OPERATIONS}
