"""The lifecycle over HTTP: ETag / If-Match, problem+json for 403/404/409/422, the requests
queue, and roles published per operation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gridops.incidents.models import Incident
from gridops.ops.routes import api_routes
from tests.incidents.test_actions_support import GRID, STREET, World, world

__all__ = ["world"]

PROBLEM = "application/problem+json"
Auth = Callable[..., dict[str, str]]


@pytest.fixture
def mounted(app: FastAPI) -> FastAPI:
    """The action router is mounted by gridops.api; fail loudly if it ever is not."""
    assert any(op.path == "/api/v1/incidents/{incident_id}/accept" for op in api_routes(app))
    return app


@pytest.fixture
def roles(auth: Auth) -> dict[str, dict[str, str]]:
    return {
        "dispatcher": auth("dispatcher", "disp-1"),
        "umle": auth("unit_operator", "op-umle", unit="UMLE"),
        "hurd": auth("unit_operator", "op-hurd", unit="HURD"),
        "worker": auth("grid_worker", "gw-1", grid=GRID),
        "street": auth("dispatcher", "disp-s", street=STREET),
    }


async def act(client: httpx.AsyncClient, incident: Incident | uuid.UUID, action: str,
              headers: dict[str, str], etag: str | None = None,
              **body: Any) -> httpx.Response:
    incident_id = incident if isinstance(incident, uuid.UUID) else incident.id
    if etag is not None:
        headers = headers | {"If-Match": etag}
    return await client.post(f"/api/v1/incidents/{incident_id}/{action}", json=body,
                             headers=headers)


async def test_happy_path_over_http_with_etags(world: World, mounted: FastAPI,
                                               client: httpx.AsyncClient,
                                               roles: dict[str, dict[str, str]]) -> None:
    incident = await world.incident()
    r = await act(client, incident, "dispatch", roles["dispatcher"], '"1"', unit_code="UMLE",
                  note="派城管执法局")
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'
    body = r.json()
    assert (body["state"], body["unit_code"], body["version"]) == ("dispatched", "UMLE", 2)
    assert [c["kind"] for c in body["clocks"]] == ["sign", "resolve"]

    r = await act(client, incident, "accept", roles["umle"], r.headers["etag"])
    assert (r.status_code, r.json()["state"]) == (200, "in_progress")
    await world.photo(incident)
    r = await act(client, incident, "resolve", roles["umle"], r.headers["etag"],
                  result="已清理占道摊点，恢复通行")
    assert (r.status_code, r.json()["state"]) == (200, "resolved")
    r = await act(client, incident, "verify", roles["worker"], r.headers["etag"], result="pass")
    assert (r.status_code, r.json()["state"]) == (200, "closed")
    # The version may come in the body instead of If-Match.
    r = await act(client, incident, "callback", roles["dispatcher"],
                  version=r.json()["version"], resolved=True, satisfaction="satisfied")
    assert r.status_code == 200, r.text
    assert (r.json()["callback_satisfaction"], r.json()["state"]) == ("satisfied", "closed")
    events = await client.get(f"/api/v1/incidents/{incident.id}/events",
                              headers=roles["dispatcher"])
    if events.status_code == 200:  # the timeline endpoint belongs to the intake/reads side
        assert [e["action"] for e in events.json()][-5:] == [
            "incident.dispatched", "incident.accepted", "incident.resolved",
            "incident.verified", "incident.callback_recorded"]


async def test_a_write_without_a_version_is_refused(world: World, mounted: FastAPI,
                                                    client: httpx.AsyncClient,
                                                    roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    r = await act(client, incident, "accept", roles["umle"])
    assert (r.status_code, r.headers["content-type"]) == (422, PROBLEM)
    assert r.json()["type"].endswith("/validation")
    r = await act(client, incident, "accept", roles["umle"], "W/\"abc\"")
    assert r.status_code == 422
    r = await act(client, incident, "accept", roles["umle"], f'"{incident.version}"',
                  version=incident.version + 1)
    assert r.status_code == 422


async def test_of_two_writers_on_one_version_one_wins(world: World, mounted: FastAPI,
                                                      client: httpx.AsyncClient,
                                                      roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    etag = f'"{incident.version}"'
    first = await act(client, incident, "accept", roles["umle"], etag)
    second = await act(client, incident, "return", roles["umle"], etag, reason="不属我单位")
    assert first.status_code == 200
    assert (second.status_code, second.headers["content-type"]) == (409, PROBLEM)
    problem = second.json()
    assert problem["type"].endswith("/version")
    assert problem["current_version"] == first.json()["version"]


async def test_wrong_state_lists_what_is_allowed(world: World, mounted: FastAPI,
                                                 client: httpx.AsyncClient,
                                                 roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    r = await act(client, incident, "resolve", roles["umle"], f'"{incident.version}"',
                  result="已处理")
    assert (r.status_code, r.headers["content-type"]) == (409, PROBLEM)
    problem = r.json()
    assert problem["type"].endswith("/action-not-allowed")
    assert problem["state"] == "dispatched"
    assert problem["allowed_actions"] == ["accept", "request_return", "comment"]


async def test_role_scope_and_existence(world: World, mounted: FastAPI,
                                       client: httpx.AsyncClient,
                                       roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    before = (incident.version, await world.audit_count())
    etag = f'"{incident.version}"'
    wrong_role = await act(client, incident, "dispatch", roles["worker"], etag, unit_code="UMLE")
    assert (wrong_role.status_code, wrong_role.headers["content-type"]) == (403, PROBLEM)
    wrong_scope = await act(client, incident, "accept", roles["hurd"], etag)
    assert wrong_scope.status_code == 403
    assert "scope" in wrong_scope.json()["detail"]
    missing = await act(client, uuid.uuid4(), "accept", roles["umle"], '"1"')
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    fresh = await world.session.get(Incident, incident.id, populate_existing=True)
    assert fresh is not None
    assert (fresh.version, await world.audit_count()) == before


async def test_return_request_queue_and_decision(world: World, mounted: FastAPI,
                                                 client: httpx.AsyncClient,
                                                 roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    r = await act(client, incident, "return", roles["umle"], f'"{incident.version}"',
                  reason="该路段不属我单位管养范围")
    assert r.status_code == 200, r.text
    queue = await client.get("/api/v1/incidents/requests/pending", headers=roles["street"])
    assert queue.status_code == 200
    assert [(q["kind"], q["state"], q["unit_code"]) for q in queue.json()] == [
        ("return", "pending", "UMLE")]
    hurd_queue = await client.get("/api/v1/incidents/requests/pending", headers=roles["hurd"])
    assert hurd_queue.json() == []
    r = await act(client, incident, "return/decision", roles["dispatcher"], r.headers["etag"],
                  approve=True, unit_code="HURD", note="改派住建局")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["unit_code"], r.json()["return_count"]) == (
        "dispatched", "HURD", 1)
    listed = await client.get(f"/api/v1/incidents/{incident.id}/requests",
                              headers=roles["dispatcher"])
    assert [(q["kind"], q["state"], q["decided_by"]) for q in listed.json()] == [
        ("return", "approved", "disp-1")]
    assert (await client.get("/api/v1/incidents/requests/pending",
                             headers=roles["dispatcher"])).json() == []
    # UMLE no longer holds the order, so it cannot see its requests either.
    assert (await client.get(f"/api/v1/incidents/{incident.id}/requests",
                             headers=roles["umle"])).status_code == 403


async def test_bodies_are_validated(world: World, mounted: FastAPI, client: httpx.AsyncClient,
                                    roles: dict[str, dict[str, str]]) -> None:
    incident = await world.dispatched()
    etag = f'"{incident.version}"'
    assert (await act(client, incident, "return", roles["umle"], etag)).status_code == 422
    assert (await act(client, incident, "return/decision", roles["dispatcher"], etag,
                      approve=False, unit_code="HURD")).status_code == 422
    assert (await act(client, incident, "accept", roles["umle"], etag,
                      surprise=1)).status_code == 422


def test_each_action_publishes_its_roles(mounted: FastAPI) -> None:
    spec = mounted.openapi()["paths"]
    expected = {
        "dispatch": ["dispatcher"], "accept": ["unit_operator"],
        "return": ["unit_operator"], "return/decision": ["dispatcher"],
        "verify": ["dispatcher", "grid_worker"], "callback": ["dispatcher"],
        "urge": ["dispatcher", "leader"],
        "comments": ["dispatcher", "grid_worker", "leader", "unit_operator"],
    }
    for action, roles_ in expected.items():
        operation = spec[f"/api/v1/incidents/{{incident_id}}/{action}"]["post"]
        assert operation["x-roles"] == roles_
        assert {"403", "404", "409", "422"} <= set(operation["responses"])
