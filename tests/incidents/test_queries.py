"""Reads: one incident, the list (scope, filters, sorting, cursor pages), masking, timeline."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.incidents.models import Incident
from gridops.places.models import Grid
from tests.builders import grids, load_rules, make_clock, make_incident

URL = "/api/v1/incidents"
Auth = Callable[..., dict[str, str]]
PHONE, NAME = "13812341234", "王建国"


@pytest.fixture
async def world(session: AsyncSession, demo_pack: Any) -> list[Grid]:
    return await grids(session, 400)


def at(grid: Grid) -> dict[str, str]:
    return {"grid_code": grid.code, "community_code": grid.community_code,
            "street_code": grid.street_code}


def other_street(grids_: list[Grid], street: str) -> Grid:
    return next(g for g in grids_ if g.street_code != street)


async def ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get(URL, headers=headers, params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


async def test_one_incident_404_403_and_200_with_etag(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    grid = world[0]
    incident = await make_incident(session, unit_code="UMLE", state="dispatched", **at(grid))
    url = f"{URL}/{incident.id}"
    missing = await client.get(f"{URL}/7d0f4c1e-0000-4000-8000-000000000000",
                               headers=auth("leader"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.get(url)).status_code == 401
    for role, scope in (("unit_operator", {"unit": "PSB"}),
                        ("grid_worker", {"grid": world[1].code}),
                        ("dispatcher", {"street": other_street(world, grid.street_code)
                                        .street_code})):
        refused = await client.get(url, headers=auth(role, **scope))
        assert refused.status_code == 403, role
        assert refused.json()["type"].endswith("/forbidden")
    for role, scope in (("unit_operator", {"unit": "UMLE"}), ("grid_worker", {"grid": grid.code}),
                        ("dispatcher", {"street": grid.street_code}),
                        ("dispatcher", {"community": grid.community_code}),
                        ("leader", {}), ("auditor", {}), ("admin", {})):
        response = await client.get(url, headers=auth(role, **scope))
        assert response.status_code == 200, role
        assert response.headers["etag"] == '"1"'
        assert response.json()["id"] == str(incident.id)
    assert (await client.get(f"{URL}/not-a-uuid", headers=auth("leader"))).status_code == 422


async def reporter_as(client: httpx.AsyncClient, auth: Auth, incident: Incident, role: str,
                      subject: str | None = None, **scope: str) -> dict[str, Any]:
    response = await client.get(f"{URL}/{incident.id}", headers=auth(role, subject, **scope))
    assert response.status_code == 200, response.text
    listed = await client.get(URL, headers=auth(role, subject, **scope))
    [same] = [i for i in listed.json()["items"] if i["id"] == str(incident.id)]
    assert same["reporter"] == response.json()["reporter"]  # lists mask the same way
    reporter: dict[str, Any] = response.json()["reporter"]
    return reporter


async def test_callers_are_masked_per_role(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    grid = world[0]
    incident = await make_incident(session, unit_code="UMLE", reporter_name=NAME,
                                   reporter_phone=PHONE, created_by="gw-reporter", **at(grid))
    full = {"name": NAME, "phone": PHONE, "confidential": False, "masked": False}
    masked = {"name": "王**", "phone": "138****1234", "confidential": False, "masked": True}
    assert await reporter_as(client, auth, incident, "dispatcher") == full
    assert await reporter_as(client, auth, incident, "unit_operator", unit="UMLE") == full
    assert await reporter_as(client, auth, incident, "grid_worker", "gw-reporter",
                             grid=grid.code) == full
    assert await reporter_as(client, auth, incident, "grid_worker", "gw-other",
                             grid=grid.code) == masked
    for role in ("leader", "auditor", "admin"):
        assert await reporter_as(client, auth, incident, role) == masked


async def test_confidential_callers_are_hidden_from_handlers(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    grid = world[0]
    incident = await make_incident(session, unit_code="UMLE", reporter_name=NAME,
                                   reporter_phone=PHONE, reporter_confidential=True,
                                   created_by="gw-reporter", **at(grid))
    hidden = {"name": None, "phone": None, "confidential": True, "masked": True}
    assert await reporter_as(client, auth, incident, "unit_operator", unit="UMLE") == hidden
    assert await reporter_as(client, auth, incident, "grid_worker", "gw-reporter",
                             grid=grid.code) == hidden
    assert await reporter_as(client, auth, incident, "leader") == hidden
    assert (await reporter_as(client, auth, incident, "dispatcher"))["phone"] == PHONE


async def test_each_role_lists_only_its_scope(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    g1 = world[0]
    g2 = other_street(world, g1.street_code)
    a = await make_incident(session, unit_code="UMLE", **at(g1))
    b = await make_incident(session, unit_code="PSB", **at(g2))
    # An STR order owned by g1's street office although placed in g2's street.
    c = await make_incident(session, unit_code="STR", assigned_street_code=g1.street_code,
                            **at(g2))
    d = await make_incident(session)  # in triage, nowhere
    everyone = {str(i.id) for i in (a, b, c, d)}
    assert set(await ids(client, auth("leader"))) == everyone
    assert set(await ids(client, auth("dispatcher"))) == everyone
    assert set(await ids(client, auth("unit_operator", unit="UMLE"))) == {str(a.id)}
    assert set(await ids(client, auth("unit_operator", unit="STR",
                                      street=g1.street_code))) == {str(c.id)}
    assert set(await ids(client, auth("unit_operator", unit="STR",
                                      street=g2.street_code))) == set()
    assert set(await ids(client, auth("grid_worker", grid=g2.code))) == {str(b.id), str(c.id)}
    assert set(await ids(client, auth("dispatcher", street=g1.street_code))) == {
        str(a.id), str(c.id)}
    assert set(await ids(client, auth("dispatcher", community=g2.community_code))) == {
        str(b.id), str(c.id)}
    # A filter never widens the scope.
    assert await ids(client, auth("unit_operator", unit="UMLE"), unit="PSB") == []
    assert (await client.get(URL)).status_code == 401


async def test_filters(client: httpx.AsyncClient, auth: Auth, session: AsyncSession,
                       world: list[Grid], now: datetime) -> None:
    g1 = world[0]
    g2 = other_street(world, g1.street_code)
    a = await make_incident(session, unit_code="UMLE", item_code="SJ05001", state="dispatched",
                            text="建设路流动摊贩占道经营", now=now - timedelta(days=2), **at(g1))
    b = await make_incident(session, unit_code="GAS", item_code="SJ04001", urgency="urgent",
                            channel="hotline_12345", external_id="GD1", state="in_progress",
                            text="闻到煤气味", address="响石岭街道某小区",
                            now=now - timedelta(hours=3), **at(g2))
    c = await make_incident(session, unit_code="STR", assigned_street_code=g1.street_code,
                            state="closed", text="楼道堆物100%清理", now=now, **at(g2))
    reader = auth("leader")

    async def check(expected: set[Incident], **params: Any) -> None:
        assert set(await ids(client, reader, **params)) == {str(i.id) for i in expected}, params

    await check({a}, state="dispatched")
    await check({a, b}, state=["dispatched", "in_progress"])
    await check({b}, unit="GAS")
    await check({a, c}, street=g1.street_code)  # place or owning street office
    await check({b, c}, community=g2.community_code)
    await check({b, c}, grid=g2.code)
    await check({a}, item="SJ05001")
    await check({b}, channel="hotline_12345")
    await check({b}, urgency="urgent")
    await check({b, c}, created_from=(now - timedelta(hours=4)).isoformat())
    await check({a, b}, created_to=now.isoformat())
    await check({b}, q="煤气")
    await check({b}, q="响石岭")  # the address counts
    await check({c}, q="100%")  # LIKE wildcards are taken literally
    await check(set(), q="_")
    await check({c}, state="closed", street=g1.street_code)


async def test_overdue_and_due_before_read_the_running_clocks(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid],
        now: datetime) -> None:
    late = await make_incident(session, state="dispatched")
    await make_clock(session, late, due_at=now - timedelta(hours=1))
    soon = await make_incident(session, state="in_progress")
    await make_clock(session, soon, due_at=now + timedelta(hours=1))
    met = await make_incident(session, state="resolved")  # was late, but the clock stopped
    await make_clock(session, met, due_at=now - timedelta(hours=5), stopped_at=now,
                     outcome="missed")
    paused = await make_incident(session, state="suspended")
    await make_clock(session, paused, due_at=now - timedelta(hours=2),
                     paused_at=now - timedelta(hours=3))
    triage = await make_incident(session)
    reader = auth("leader")
    assert set(await ids(client, reader, overdue="true")) == {str(late.id)}
    assert set(await ids(client, reader, overdue="false")) == {
        str(i.id) for i in (soon, met, paused, triage)}
    assert set(await ids(client, reader, due_before=(now + timedelta(hours=2)).isoformat())) == {
        str(late.id), str(soon.id), str(paused.id)}
    # Sorted by the next running deadline; incidents without one come last either way.
    assert (await ids(client, reader, sort="due", order="asc"))[:3] == [
        str(paused.id), str(late.id), str(soon.id)]
    desc = await ids(client, reader, sort="due", order="desc")
    assert desc[:3] == [str(soon.id), str(late.id), str(paused.id)]
    assert set(desc[3:]) == {str(met.id), str(triage.id)}
    naive = await client.get(URL, headers=reader, params={"due_before": "2026-11-24T10:00:00"})
    assert naive.status_code == 422


@pytest.mark.parametrize(("sort", "order"), [("created_at", "desc"), ("created_at", "asc"),
                                             ("updated_at", "asc"), ("due", "asc"),
                                             ("due", "desc")])
async def test_cursor_pages_miss_nothing_and_repeat_nothing(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid],
        now: datetime, sort: str, order: str) -> None:
    made = []
    for n in range(23):
        # Ties on purpose: three incidents share each timestamp, some share a deadline.
        incident = await make_incident(session, now=now - timedelta(minutes=n // 3),
                                       updated_at=now + timedelta(minutes=n % 4))
        if n % 2:
            await make_clock(session, incident, due_at=now + timedelta(hours=n % 5))
        made.append(str(incident.id))
    reader = auth("leader")
    seen: list[str] = []
    values: list[Any] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"sort": sort, "order": order, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(URL, headers=reader, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        seen += [i["id"] for i in page["items"]]
        values += [i.get(sort) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == set(made)
    # Paging gives exactly the order of one big page.
    assert seen == await ids(client, reader, sort=sort, order=order)
    if sort != "due":
        assert values == sorted(values, reverse=order == "desc")


async def test_bad_cursors_and_limits_are_422(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid]) -> None:
    for _ in range(3):
        await make_incident(session)
    reader = auth("leader")
    first = (await client.get(URL, headers=reader, params={"limit": 1})).json()
    assert first["next_cursor"]
    other_sort = await client.get(URL, headers=reader, params={
        "limit": 1, "sort": "updated_at", "cursor": first["next_cursor"]})
    assert other_sort.status_code == 422
    assert other_sort.json()["errors"][0]["loc"] == ["query", "cursor"]
    forged = base64.urlsafe_b64encode(json.dumps(["created_at", "desc", "x", "y"]).encode())
    for cursor in ("garbage!", forged.decode()):
        response = await client.get(URL, headers=reader, params={"cursor": cursor})
        assert response.status_code == 422, cursor
    for limit in (0, 201):
        assert (await client.get(URL, headers=reader, params={"limit": limit})).status_code == 422
    bad_state = await client.get(URL, headers=reader, params={"state": "lost"})
    assert bad_state.status_code == 422
    for params in ({"q": "路\x00灯"}, {"unit": "UM\x00LE"}, {"grid": "' OR 1=1"}):
        assert (await client.get(URL, headers=reader, params=params)).status_code == 422


async def test_timeline_lists_the_events_in_scope(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession, world: list[Grid],
        now: datetime) -> None:
    await load_rules(session, now)
    grid = world[0]
    created = await client.post(URL, headers=auth("dispatcher"), json={
        "text": "路边摆摊占道经营", "grid_code": grid.code})
    assert created.status_code == 201
    incident_id = created.json()["id"]
    response = await client.get(f"{URL}/{incident_id}/events",
                                headers=auth("unit_operator", unit="UMLE"))
    assert response.status_code == 200
    events = response.json()
    assert [(e["seq"], e["action"], e["to_state"]) for e in events] == [
        (1, "incident.received", "triage"), (2, "incident.dispatched", "dispatched")]
    assert events[0]["actor_role"] == "dispatcher"
    assert events[0]["changes"]["decision"]["unit_code"] == "UMLE"
    refused = await client.get(f"{URL}/{incident_id}/events",
                               headers=auth("unit_operator", unit="PSB"))
    assert refused.status_code == 403
