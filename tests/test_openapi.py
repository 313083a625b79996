from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI

from gridops.auth.policy import declared_roles
from gridops.ops.routes import api_routes

SNAPSHOT = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
PUBLIC = {"/healthz", "/readyz", "/metrics"}
PUBLIC_PREFIXES = ("/open311/v2/services", "/open311/v2/requests", "/webhooks/12345")


def test_committed_openapi_is_current(app: FastAPI) -> None:
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert committed == app.openapi(), (
        "openapi/openapi.json is stale: run `make openapi` and commit it")


def test_every_endpoint_declares_who_may_call_it(app: FastAPI) -> None:
    undeclared = [
        f"{sorted(op.methods)} {op.path}" for op in api_routes(app)
        if declared_roles(op.route) is None
        and op.path not in PUBLIC and not op.path.startswith(PUBLIC_PREFIXES)
    ]
    assert len(list(api_routes(app))) > 5
    assert undeclared == []


def test_every_operation_has_summary_and_tag(app: FastAPI) -> None:
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            assert op.get("tags"), f"{method} {path} has no tag"
            assert op.get("summary"), f"{method} {path} has no summary"
