"""Facts of incidents created long before the week take another path through the SQL (joined by
id, not by the recent-incidents range): the figures must not depend on which path a fact took."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.review import queries
from gridops.review.service import SCOPES, Review
from tests.review import builders as b
from tests.review.builders import END, FRI, MON, START, THU, TUE, WED, local
from tests.review.conftest import LEADER, Run, card, counts

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


def _snapshot(reviews: dict[str, Review]) -> dict[str, Any]:
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


async def test_a_round_handed_over_after_the_week_counts_for_its_holder_at_the_end(
        session: AsyncSession, run: Run) -> None:
    # Open and overdue at the week end while UMLE held it; returned and redispatched to HURD the
    # Monday after, so the clock is HURD's now. The first hand-over after the cut decides.
    moved = await b.incident(session, "HURD", b.G1, START, title="移交")
    await b.clock(session, moved, "resolve", local(THU, 10), started=local(MON, 9))
    await b.event(session, moved, "return_approved", END + timedelta(hours=1),
                  unit_code=["UMLE", None])
    await b.event(session, moved, "redispatched", END + timedelta(hours=2),
                  unit_code=[None, "HURD"])
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
