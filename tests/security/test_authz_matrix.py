"""Generated from the app's routes: every endpoint × every role, without a token, with a token of a
role it does not admit, and with one it admits. A new endpoint without a declared policy fails
tests/test_openapi.py; one whose policy is not enforced fails here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from gridops.auth.actor import ALL_HUMAN_ROLES
from gridops.auth.policy import declared_roles
from gridops.main import create_app
from gridops.ops.routes import api_routes
from gridops.settings import Settings

# One token per role, each with the widest scope the role can have.
SCOPES: dict[str, dict[str, str]] = {
    "grid_worker": {"grid": "430204001001001"},
    "unit_operator": {"unit": "UMLE"},
    "dispatcher": {},
    "leader": {},
    "auditor": {},
    "admin": {},
}


def _protected_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    app = create_app(Settings(_env_file=None))  # type: ignore[call-arg]
    operations = []
    for op in api_routes(app):
        roles = declared_roles(op.route)
        if roles is None:
            continue
        for method in sorted(op.methods - {"HEAD", "OPTIONS"}):
            operations.append((method, op.path, roles))
    return operations


OPERATIONS = _protected_operations()


def _concrete(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.endswith("id") and "message" in name:
            return "1"
        if name.endswith("id"):
            return str(uuid.uuid4())
        if name == "version":
            return "1"
        return "X"
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", fill, path)


def test_the_matrix_covers_the_api() -> None:
    assert len(OPERATIONS) >= 10


@pytest.mark.parametrize(("method", "path", "roles"), OPERATIONS,
                         ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
async def test_policy_is_enforced(app: FastAPI, client: httpx.AsyncClient,
                                  auth: Callable[..., dict[str, str]], method: str, path: str,
                                  roles: tuple[str, ...]) -> None:
    url = _concrete(path)
    anonymous = await client.request(method, url, json={})
    assert anonymous.status_code == 401, (method, path, anonymous.text)
    assert anonymous.headers["content-type"] == "application/problem+json"
    for role in ALL_HUMAN_ROLES:
        response = await client.request(method, url, json={},
                                        headers=auth(role.value, **SCOPES[role.value]))
        if role.value in roles:
            assert response.status_code not in (401, 403) or (
                response.status_code == 403 and "scope" in response.text), (
                method, path, role, response.status_code, response.text)
            assert response.status_code < 500, (method, path, role, response.text)
        else:
            assert response.status_code == 403, (method, path, role, response.status_code)
