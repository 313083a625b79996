from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from gridops.auth.actor import Actor, Role
from gridops.auth.privacy import mask_name, mask_phone, sees_caller
from gridops.auth.scope import in_scope
from gridops.auth.tokens import mint
from gridops.errors import Unauthorized
from gridops.settings import Settings

VERIFY = "/api/v1/audit/verify"


async def test_no_token_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(VERIFY)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_signed_with_another_secret_is_401(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": int(now.timestamp()) + 600},
                        "not-the-secret-but-long-enough-for-hs256-keys", algorithm="HS256")
    response = await client.get(VERIFY, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_expired_token_is_401(client: httpx.AsyncClient, settings: Settings) -> None:
    now = datetime.now(UTC)
    old = mint(settings.auth, subject="a", role="auditor", now=now - timedelta(days=2),
               ttl_minutes=60)
    response = await client.get(VERIFY, headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


async def test_garbage_and_wrong_scheme_are_401(client: httpx.AsyncClient,
                                                token: Callable[..., str]) -> None:
    for header in ("Bearer not.a.jwt", f"Basic {token('auditor')}", "Bearer "):
        response = await client.get(VERIFY, headers={"Authorization": header})
        assert response.status_code == 401, header


async def test_wrong_role_is_403(client: httpx.AsyncClient,
                                 auth: Callable[..., dict[str, str]]) -> None:
    response = await client.get(VERIFY, headers=auth("grid_worker", grid="430204001001001"))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/forbidden")
    assert (await client.get(VERIFY, headers=auth("auditor"))).status_code == 200


def test_tokens_must_carry_the_scope_their_role_needs(settings: Settings, now: datetime) -> None:
    with pytest.raises(Unauthorized):
        mint(settings.auth, subject="w", role="grid_worker", now=now)
    with pytest.raises(Unauthorized):
        mint(settings.auth, subject="u", role="unit_operator", now=now, unit="STR")
    assert mint(settings.auth, subject="u", role="unit_operator", now=now, unit="STR",
                street="430204001")


def test_scope_rules() -> None:
    place = {"unit_code": "STR", "street_code": "S1", "community_code": "C1",
             "grid_code": "G1", "assigned_street_code": "S1"}
    assert in_scope(Actor("g", Role.grid_worker, grid_code="G1"), **place)
    assert not in_scope(Actor("g", Role.grid_worker, grid_code="G2"), **place)
    assert in_scope(Actor("u", Role.unit_operator, unit_code="STR", street_code="S1"), **place)
    assert not in_scope(Actor("u", Role.unit_operator, unit_code="STR", street_code="S2"),
                        **place)
    assert not in_scope(Actor("u", Role.unit_operator, unit_code="PSB"), **place)
    assert in_scope(Actor("d", Role.dispatcher), **place)
    assert in_scope(Actor("d", Role.dispatcher, street_code="S1"), **place)
    assert not in_scope(Actor("d", Role.dispatcher, community_code="C9"), **place)
    assert in_scope(Actor("l", Role.leader), **place)


def test_masking_and_who_sees_callers() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_name("张三丰") == "张**"
    dispatcher = Actor("d", Role.dispatcher)
    operator = Actor("u", Role.unit_operator, unit_code="PSB")
    leader = Actor("l", Role.leader)
    assert sees_caller(dispatcher, confidential=True)
    assert sees_caller(operator, confidential=False)
    assert not sees_caller(operator, confidential=True)
    assert not sees_caller(leader, confidential=False)
