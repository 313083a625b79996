"""Facts of incidents created long before the week take another path through the SQL (joined by
id, not by the recent-incidents range): the figures must not depend on which path a fact took."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Actor, Role
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.db import create_sessionmaker
from gridops.incidents.models import Incident, IncidentRequest
from gridops.places.models import Community, District, Grid, Street, Unit
from gridops.review import queries, service
from gridops.review.service import SCOPES, Review
from gridops.review.week import parse_week
from gridops.settings import Settings
from tests.review import builders as b
from tests.review.builders import END, FRI, MON, START, THU, TUE, WED, local
from tests.review.conftest import LEADER, Run, card, counts

T = TypeVar("T")
U = TypeVar("U")

OLD = START - timedelta(days=60)


async def _week(session: AsyncSession) -> None:
    """One of everything, on incidents of every age: in the week, days before it, months before."""
    for age, grid in ((timedelta(0), b.G1), (timedelta(days=3), b.G2), (timedelta(days=60), b.G3)):
        created = START - age + timedelta(hours=1)
        inc = await b.incident(session, "UMLE", grid, created, title=f"old {age.days}")
        await b.clock(session, inc, "sign", local(TUE, 10), outcome="met", stopped=local(TUE, 9))
        await b.clock(session, inc, "sign", local(WED, 10), outcome="missed",
                      stopped=local(THU, 9), round=2)
        await b.event(session, inc, "return_approved", local(WED, 11), unit_code=["HURD", None])
        await b.event(session, inc, "dispatched", local(WED, 12), unit_code=[None, "UMLE"])
        await b.event(session, inc, "resolved", local(THU, 9))
        await b.event(session, inc, "callback_recorded", local(FRI, 10), to_state="in_progress",
                      resolved=False, satisfaction="unsatisfied")
        await b.request(session, inc, "extension", local(MON, 10), hours=8)
        await b.clock(session, inc, "resolve", local(TUE, 10), outcome="met",
                      started=local(MON, 9), stopped=local(TUE, 9))
        await b.clock(session, inc, "resolve", local(THU, 10), started=local(MON, 9), round=2)
        await b.clock(session, inc, "resolve", END + timedelta(days=3), started=local(MON, 9),
                      extended_minutes=480.0, round=3)
        urgent = await b.incident(session, "STR", grid, created, state="closed",
                                  closed_at=local(MON, 8))
        await b.clock(session, urgent, "resolve", END + timedelta(days=9), outcome="met",
                      started=local(THU, 8), stopped=local(THU, 18), basis="continuous",
                      paused_minutes=60.0)
        await b.event(session, urgent, "suspension_approved", local(THU, 9))
        await b.event(session, urgent, "resumed", local(THU, 10))
        await b.incident(session, "HURD", grid, local(MON, 10))  # a repeat of the closed one


def _snapshot(reviews: Mapping[Any, Review]) -> dict[str, Any]:
    return {scope: ([c.figures() for c in r.cards], r.district.figures(),
                    [(o.incident_id, o.unit, o.covered_by, o.overdue_hours, o.title)
                     for o in r.overdue]) for scope, r in reviews.items()}


@pytest.mark.parametrize("actor", [LEADER, Actor(subject="d", role=Role.dispatcher,
                                                 street_code=b.S1)], ids=["leader", "street"])
async def test_every_figure_is_the_same_whichever_path_a_fact_takes(
        session: AsyncSession, run: Run, monkeypatch: pytest.MonkeyPatch, actor: Actor) -> None:
    await _week(session)
    direct = _snapshot({scope: await run(scope, actor=actor) for scope in SCOPES})
    monkeypatch.setattr(queries, "RECENT", timedelta(days=-1000))  # nothing is recent
    by_id = _snapshot({scope: await run(scope, actor=actor) for scope in SCOPES})
    assert by_id == direct
    assert direct["unit"][1]["sign_due"] == (6 if actor is LEADER else 4)


async def test_an_old_incident_counts_like_a_new_one(session: AsyncSession, run: Run) -> None:
    inc = await b.incident(session, "UMLE", b.G1, OLD)
    await b.clock(session, inc, "sign", local(WED, 10), outcome="missed", stopped=local(THU, 9))
    await b.event(session, inc, "return_approved", local(WED, 11), unit_code=["HURD", None])
    await b.event(session, inc, "redispatched", local(WED, 12), unit_code=[None, "UMLE"])
    await b.request(session, inc, "extension", local(MON, 10), hours=8)
    await b.clock(session, inc, "resolve", local(TUE, 10), outcome="met", started=local(MON, 8),
                  stopped=local(MON, 10))
    await b.clock(session, inc, "resolve", local(THU, 10), started=local(MON, 9), round=2)
    review = await run()
    # Missed while HURD held it (the return after the deadline says so): HURD's miss.
    assert counts(card(review, "UMLE")) == {"dispatches": 1, "extensions": 1, "resolve_due": 2,
                                            "resolve_met": 1, "completed": 1, "open_end": 1,
                                            "overdue_open": 1}
    assert counts(card(review, "HURD")) == {"sign_due": 1, "returns": 1}
    assert card(review, "UMLE").tally.handling == [2.0]
    assert counts(card(await run("grid"), b.G1)) == {
        "sign_due": 1, "dispatches": 1, "returns": 1, "extensions": 1, "resolve_due": 2,
        "resolve_met": 1, "completed": 1, "open_end": 1, "overdue_open": 1}


async def _moved_after_the_week(session: AsyncSession) -> Incident:
    """Open and overdue at the week end while UMLE held it; returned and redispatched to HURD the
    Monday after."""
    moved = await b.incident(session, "HURD", b.G1, START, title="移交")
    await b.clock(session, moved, "resolve", local(THU, 10), started=local(MON, 9))
    await b.event(session, moved, "return_approved", END + timedelta(hours=1),
                  unit_code=["UMLE", None])
    await b.event(session, moved, "redispatched", END + timedelta(hours=2),
                  unit_code=[None, "HURD"])
    return moved


async def test_a_round_handed_over_after_the_week_counts_for_its_holder_at_the_end(
        session: AsyncSession, run: Run) -> None:
    # Open and overdue at the week end while UMLE held it; returned and redispatched to HURD the
    # Monday after, so the clock is HURD's now. The first hand-over after the cut decides.
    moved = await _moved_after_the_week(session)
    await b.event(session, moved, "return_approved", END + timedelta(hours=3),
                  unit_code=["HURD", None])  # a later hand-over does not decide
    kept = await b.incident(session, "HURD", b.G2, OLD, title="未移交")
    await b.clock(session, kept, "resolve", local(THU, 10), started=local(MON, 9))
    await b.event(session, kept, "dispatched", local(MON, 9), unit_code=[None, "HURD"])
    review = await run()
    # The deadline it missed (Thursday) is UMLE's too: the same hand-over is the first after it.
    assert counts(card(review, "UMLE")) == {"resolve_due": 1, "open_end": 1, "overdue_open": 1}
    assert counts(card(review, "HURD")) == {"received": 1, "dispatches": 1, "resolve_due": 1,
                                            "open_end": 1, "overdue_open": 1}
    assert {o.title: o.unit for o in review.overdue} == {"移交": "UMLE", "未移交": "HURD"}




@pytest.mark.postgres
@pytest.mark.parametrize("actor", [LEADER, Actor(subject="d", role=Role.dispatcher,
                                                 street_code=b.S1)], ids=["leader", "street"])
async def test_the_figures_are_the_same_read_on_two_connections_or_one(
        engine: AsyncEngine, cal: WorkingCalendar, settings: Settings,
        monkeypatch: pytest.MonkeyPatch, actor: Actor) -> None:
    # Through an engine the review reads in two lanes on two connections at once; bound to one
    # connection (as every other test here) in one lane after the other. The rows must be
    # committed for a second connection to see them, so this test commits and cleans up.
    maker = create_sessionmaker(engine)
    async with maker.begin() as session:
        await b.district(session)
        await _week(session)
        await _moved_after_the_week(session)
    lanes: list[bool] = []
    together = queries.together

    async def spy(session: AsyncSession, other: AsyncSession, first: Awaitable[T],
                  second: Awaitable[U]) -> tuple[T, U]:
        lanes.append(other is not session)
        return await together(session, other, first, second)

    monkeypatch.setattr(queries, "together", spy)
    week = parse_week(b.WEEK, settings.timezone)
    try:
        async with maker() as session:
            two = _snapshot(await service.weekly_all(session, week, actor=actor, now=b.NOW,
                                                     cal=cal, settings=settings))
        async with engine.connect() as conn, AsyncSession(bind=conn) as session:
            one = _snapshot(await service.weekly_all(session, week, actor=actor, now=b.NOW,
                                                     cal=cal, settings=settings))
        assert lanes == [True, False]
        assert two == one
        assert one["unit"][1]["sign_due"] == (6 if actor is LEADER else 4)
        assert any(title == "移交" for *_, title in one["unit"][2])
    finally:
        async with maker.begin() as session:
            # The audit table refuses deletes by trigger; replica mode (superuser) skips it.
            await session.execute(text("SET LOCAL session_replication_role = replica"))
            built = select(Incident.id).where(Incident.created_by == "builder")
            for table in (AuditEvent, SlaClock, IncidentRequest):
                await session.execute(delete(table).where(table.incident_id.in_(built)))
            await session.execute(delete(Incident).where(Incident.created_by == "builder"))
            await session.execute(delete(Grid).where(Grid.code.in_(b.PLACE)))
            await session.execute(delete(Community).where(Community.code.in_((b.C1, b.C2))))
            await session.execute(delete(Street).where(Street.code.in_((b.S1, b.S2))))
            await session.execute(delete(Unit).where(Unit.code.in_(
                ("UMLE", "HURD", "STR", "WTR"))))
            await session.execute(delete(District).where(District.code == "430204"))
