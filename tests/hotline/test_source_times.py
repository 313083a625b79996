"""The hotline's own times (when it took the call, its 办结时限) are stored and shown as sent,
on both intake paths, and an amendment updates the deadline; gridops' clocks ignore them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Role
from gridops.clock.calendar import WorkingCalendar
from gridops.hotline import service
from gridops.incidents import actions
from gridops.incidents.action_schemas import ActionIn
from gridops.outbox.models import OutboxMessage
from gridops.settings import Settings
from tests.builders import make_incident
from tests.hotline.conftest import Post, incident_of, order, results_by_no

RECEIVED = "2026-11-24T09:30:00+08:00"
RECEIVED_UTC = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
DEADLINE = "2026-11-27T18:00:00+08:00"
DEADLINE_UTC = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LATER = "2026-12-01T12:00:00+08:00"
LATER_UTC = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _view(client: httpx.AsyncClient, auth: Callable[..., dict[str, str]],
                incident_id: Any) -> dict[str, Any]:
    r = await client.get(f"/api/v1/incidents/{incident_id}", headers=auth("dispatcher"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _ingest(session: AsyncSession, orders: list[dict[str, Any]], *, bulk: bool,
                  now: datetime, cal: WorkingCalendar, settings: Settings) -> list[str]:
    results = await service.ingest(session, orders, now=now, cal=cal, settings=settings,
                                   bulk=bulk)
    await session.commit()
    assert [r.status for r in results] == ["created"] * len(orders)
    return [str(r.incident_id) for r in results]


async def test_single_path_stores_and_shows_the_hotline_times(
        session: AsyncSession, district: None, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]], now: datetime, cal: WorkingCalendar,
        settings: Settings) -> None:
    [with_deadline, without] = await _ingest(
        session, [order("S1", received_at=RECEIVED, deadline=DEADLINE), order("S2")],
        bulk=False, now=now, cal=cal, settings=settings)
    view = await _view(client, auth, with_deadline)
    assert _at(view["source_received_at"]) == RECEIVED_UTC
    assert _at(view["source_deadline"]) == DEADLINE_UTC
    view = await _view(client, auth, without)
    assert _at(view["source_received_at"]) == RECEIVED_UTC
    assert view["source_deadline"] is None


async def test_batch_path_stores_and_shows_the_hotline_times(
        session: AsyncSession, district: None, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]], now: datetime, cal: WorkingCalendar,
        settings: Settings) -> None:
    ids = await _ingest(session, [
        order("B1", received_at=RECEIVED, deadline=DEADLINE),
        order("B2", received_at="2026-11-24T08:00:00Z", deadline=LATER),
        order("B3", received_at=RECEIVED)], bulk=True, now=now, cal=cal, settings=settings)
    views = [await _view(client, auth, incident_id) for incident_id in ids]
    assert [(_at(v["source_received_at"]), _at(v["source_deadline"])) for v in views] == [
        (RECEIVED_UTC, DEADLINE_UTC), (datetime(2026, 11, 24, 8, tzinfo=UTC), LATER_UTC),
        (RECEIVED_UTC, None)]


async def test_the_webhook_answer_and_the_view_agree(
        post: Post, district: None, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]]) -> None:
    results = results_by_no(await post([order("W1", deadline=DEADLINE), order("W2")]))
    view = await _view(client, auth, results["W1"]["incident_id"])
    assert (_at(view["source_received_at"]), _at(view["source_deadline"])) == (RECEIVED_UTC,
                                                                              DEADLINE_UTC)


async def test_gridops_clocks_ignore_the_hotline_times(
        post: Post, district: None, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]], now: datetime) -> None:
    # Same item, one with a hotline deadline a week out and an old call time, one with neither.
    results = results_by_no(await post([
        order("C1", received_at="2026-11-01T08:00:00+08:00", deadline=LATER), order("C2")]))
    first, second = [await _view(client, auth, results[no]["incident_id"])
                     for no in ("C1", "C2")]
    due = [[(c["kind"], c["started_at"], c["due_at"]) for c in v["clocks"]]
           for v in (first, second)]
    assert due[0] == due[1]
    assert {_at(c["started_at"]) for c in first["clocks"]} == {now}
    resolve = next(c for c in first["clocks"] if c["kind"] == "resolve")
    assert _at(resolve["due_at"]) != LATER_UTC


async def test_amend_with_a_new_deadline_updates_it_and_keeps_the_call_time(
        post: Post, district: None, session: AsyncSession, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]]) -> None:
    results_by_no(await post([order("D1", deadline=DEADLINE)]))
    amended = order("D1", version=2, event="updated", deadline=LATER,
                    received_at="2026-11-25T10:00:00+08:00")
    assert results_by_no(await post([amended]))["D1"]["status"] == "updated"
    incident = await incident_of(session, "D1")
    assert (incident.source_received_at, incident.source_deadline) == (RECEIVED_UTC, LATER_UTC)
    view = await _view(client, auth, incident.id)
    assert _at(view["source_deadline"]) == LATER_UTC
    changes = await session.scalar(select(AuditEvent.changes).where(
        AuditEvent.incident_id == incident.id, AuditEvent.action == "incident.updated"))
    assert changes is not None
    assert changes["source_deadline"] == [DEADLINE_UTC.isoformat(), LATER_UTC.isoformat()]
    # An amendment that sends no deadline keeps the stored one.
    assert results_by_no(await post([order("D1", version=3, event="updated")]))["D1"][
        "status"] == "updated"
    assert (await incident_of(session, "D1")).source_deadline == LATER_UTC


async def test_updates_to_the_hotline_echo_its_deadline_as_gridops_holds_it(
        post: Post, district: None, session: AsyncSession,
        ctx: Callable[..., actions.Ctx]) -> None:
    results_by_no(await post([order("E1", deadline=DEADLINE), order("E2")]))
    first = await incident_of(session, "E1")
    assert results_by_no(await post([order("E1", version=2, event="updated",
                                           deadline=LATER)]))["E1"]["status"] == "updated"
    await actions.accept(session, first.id, ActionIn(), ctx(Role.unit_operator, "UMLE"))
    await session.commit()
    sent = {}
    for message in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.topic == "hotline.update").order_by(OutboxMessage.id))).all():
        sent.setdefault(message.payload["order_no"], []).append(
            (message.payload["event"], message.payload["source_deadline"]))
    # Dispatched on arrival (the deadline as sent, in UTC like every time of the payload),
    # accepted after the amendment (the new one); an order that sent none says so.
    assert sent == {"E1": [("dispatched", DEADLINE_UTC.isoformat()),
                           ("accepted", LATER_UTC.isoformat())],
                    "E2": [("dispatched", None)]}


async def test_other_channels_show_no_hotline_times(
        session: AsyncSession, client: httpx.AsyncClient,
        auth: Callable[..., dict[str, str]]) -> None:
    incident = await make_incident(session, channel="walk_in")
    await session.commit()
    view = await _view(client, auth, incident.id)
    assert (view["source_received_at"], view["source_deadline"]) == (None, None)
