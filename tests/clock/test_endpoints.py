from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clocks
from gridops.clock.calendar import WorkingCalendar
from tests.clock.conftest import Item, new_incident, sh

# The app's fixed now is Tuesday 2026-11-24 10:00 in Shanghai.
STREET_A, STREET_B = "430204001", "430204002"
Auth = Callable[..., dict[str, str]]


async def clock(session: AsyncSession, cal: WorkingCalendar, *, started: datetime, unit: str,
                street: str, kind: str = "resolve", paused: datetime | None = None) -> None:
    incident = await new_incident(session, at=started, unit_code=unit, street_code=street,
                                  title=f"{unit}-{street}-{kind}")
    await clocks.start(session, incident, kind=kind, item=Item(), urgent=False,  # type: ignore[arg-type]
                       now=started, cal=cal)
    if paused:
        await clocks.pause_all(session, incident.id, paused)


@pytest.fixture
async def board_data(session: AsyncSession, cal: WorkingCalendar) -> None:
    # Overdue by 2 working hours (due Monday 18:00).
    await clock(session, cal, started=sh(2026, 11, 23, 8), unit="UMLE", street=STREET_A)
    # Due soon: sign-for due 10:30, due soon from 10:00.
    await clock(session, cal, started=sh(2026, 11, 24, 8, 30), unit="HURD", street=STREET_B,
                kind="sign")
    # Running (due Wednesday 09:00) and paused-while-overdue: neither is on the board.
    await clock(session, cal, started=sh(2026, 11, 24, 9), unit="UMLE", street=STREET_B)
    await clock(session, cal, started=sh(2026, 11, 20, 8), unit="HURD", street=STREET_A,
                paused=sh(2026, 11, 23, 9))
    await session.flush()


async def get_board(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.get("/api/v1/sla/board", headers=headers)


@pytest.mark.usefixtures("board_data")
async def test_leader_sees_overdue_and_due_soon_by_unit_and_street(
        client: httpx.AsyncClient, auth: Auth) -> None:
    response = await get_board(client, auth("leader"))
    assert response.status_code == 200
    body = response.json()
    assert (body["overdue"], body["due_soon"]) == (1, 1)
    by_unit = {g["code"]: g for g in body["by_unit"]}
    assert set(by_unit) == {"UMLE", "HURD"}
    assert body["by_unit"][0]["code"] == "UMLE"  # most overdue first
    late = by_unit["UMLE"]["incidents"][0]
    assert (late["status"], late["working_minutes_left"], late["kind"]) == ("overdue", -120,
                                                                            "resolve")
    soon = by_unit["HURD"]["incidents"][0]
    assert (soon["status"], soon["working_minutes_left"], soon["kind"]) == ("due_soon", 30,
                                                                            "sign")
    by_street = {g["code"]: (g["overdue"], g["due_soon"]) for g in body["by_street"]}
    assert by_street == {STREET_A: (1, 0), STREET_B: (0, 1)}


@pytest.mark.usefixtures("board_data")
async def test_dispatchers_see_their_street_and_operators_their_unit(
        client: httpx.AsyncClient, auth: Auth) -> None:
    street = (await get_board(client, auth("dispatcher", street=STREET_B))).json()
    assert (street["overdue"], street["due_soon"]) == (0, 1)
    assert [g["code"] for g in street["by_street"]] == [STREET_B]
    unit = (await get_board(client, auth("unit_operator", unit="UMLE"))).json()
    assert (unit["overdue"], unit["due_soon"]) == (1, 0)
    assert [g["code"] for g in unit["by_unit"]] == ["UMLE"]
    other = (await get_board(client, auth("unit_operator", unit="EDU"))).json()
    assert (other["overdue"], other["due_soon"], other["by_unit"]) == (0, 0, [])


async def test_board_refuses_anonymous_and_grid_workers(
        client: httpx.AsyncClient, auth: Auth) -> None:
    anonymous = await client.get("/api/v1/sla/board")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.json()["type"].endswith("unauthorized")
    worker = await get_board(client, auth("grid_worker", grid="430204001001"))
    assert worker.status_code == 403
    assert worker.headers["content-type"] == "application/problem+json"
    assert worker.json()["type"].endswith("forbidden")
    bad = await client.get("/api/v1/sla/board", params={"per_group": 0},
                           headers=auth("admin"))
    assert bad.status_code == 422


@pytest.mark.usefixtures("board_data")
async def test_per_group_caps_the_lists_not_the_counts(
        client: httpx.AsyncClient, auth: Auth, session: AsyncSession,
        cal: WorkingCalendar) -> None:
    await clock(session, cal, started=sh(2026, 11, 23, 9), unit="UMLE", street=STREET_A)
    await session.flush()
    body = (await client.get("/api/v1/sla/board", params={"per_group": 1},
                             headers=auth("auditor"))).json()
    umle = next(g for g in body["by_unit"] if g["code"] == "UMLE")
    assert umle["overdue"] == 2
    assert len(umle["incidents"]) == 1
    assert umle["incidents"][0]["working_minutes_left"] == -120  # the most overdue one
