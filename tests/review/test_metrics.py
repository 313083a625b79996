"""Each figure of the weekly review on a hand-built week, compared exactly (all counts stated)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.review import builders as b
from tests.review.builders import END, FRI, MON, START, THU, TUE, WED, local
from tests.review.conftest import Run, card, counts

SEC = timedelta(seconds=1)


async def test_received_follows_the_monday_boundary(session: AsyncSession, run: Run) -> None:
    await b.incident(session, "UMLE", b.G1, START - SEC)  # Sunday 15:59:59 UTC: W46
    await b.incident(session, "UMLE", b.G1, START)  # Sunday 16:00:00 UTC: W47
    await b.incident(session, "UMLE", b.G2, END - SEC)
    await b.incident(session, "UMLE", b.G2, END)  # W48
    review = await run()
    assert counts(card(review, "UMLE")) == {"received": 2}
    assert counts((await run(week="2026-W46")).district) == {"received": 1}
    assert counts((await run(week="2026-W48", now=END + timedelta(days=8))).district) == {
        "received": 1}


async def test_merged_and_voided_are_not_received(session: AsyncSession, run: Run) -> None:
    await b.incident(session, "UMLE", b.G1, local(MON, 9))
    await b.incident(session, "UMLE", b.G1, local(MON, 10), state="merged")
    await b.incident(session, None, b.G1, local(MON, 11), state="voided")
    await b.incident(session, None, b.G1, local(MON, 12), state="triage")
    review = await run()
    assert counts(card(review, "UMLE")) == {"received": 1, "merged": 1}
    assert counts(card(review, "UNASSIGNED")) == {"received": 1, "voided": 1}
    assert counts(review.district) == {"received": 2, "merged": 1, "voided": 1}


async def test_sign_for_rate_counts_deadlines_in_the_week(session: AsyncSession,
                                                          run: Run) -> None:
    inc = await b.incident(session, "UMLE", b.G1, START - timedelta(days=2))
    await b.clock(session, inc, "sign", START, outcome="met", stopped=START - SEC)
    await b.clock(session, inc, "sign", local(TUE, 10), outcome="met", round=2)
    await b.clock(session, inc, "sign", local(TUE, 11), outcome="missed",
                  stopped=local(TUE, 15), round=3)
    await b.clock(session, inc, "sign", local(WED, 9), round=4)  # still running, past due
    await b.clock(session, inc, "sign", local(WED, 10), outcome="void", round=5)
    await b.clock(session, inc, "sign", END, outcome="met", stopped=local(FRI, 9), round=6)
    await b.clock(session, inc, "sign", START - SEC, outcome="missed", round=7)
    review = await run()
    umle = card(review, "UMLE")
    assert counts(umle) == {"sign_due": 4, "sign_met": 2}
    assert umle.sign_rate == 0.5


async def test_a_deadline_missed_before_a_return_stays_with_the_returning_unit(
        session: AsyncSession, run: Run) -> None:
    # Missed while UMLE held it; returned after the deadline, now HURD's: UMLE's miss.
    late = await b.incident(session, "HURD", b.G1, START)
    await b.clock(session, late, "sign", local(WED, 10), outcome="missed",
                  stopped=local(THU, 9))
    await b.event(session, late, "return_approved", local(WED, 11),
                  unit_code=["UMLE", None], returned_by="UMLE")
    await b.event(session, late, "dispatched", local(WED, 15), unit_code=[None, "HURD"])
    # Returned before the deadline, which passed in triage: nobody's unit, the centre's.
    triaged = await b.incident(session, "HURD", b.G1, START)
    await b.clock(session, triaged, "sign", local(WED, 10), outcome="missed",
                  stopped=local(THU, 9))
    await b.event(session, triaged, "return_approved", local(WED, 9),
                  unit_code=["UMLE", None], returned_by="UMLE")
    await b.event(session, triaged, "dispatched", local(WED, 16), unit_code=[None, "HURD"])
    # Met by HURD after an earlier return: HURD's.
    met = await b.incident(session, "HURD", b.G2, START)
    await b.clock(session, met, "sign", local(THU, 10), outcome="met", stopped=local(THU, 9))
    await b.event(session, met, "return_approved", local(WED, 9), unit_code=["UMLE", None])
    await b.event(session, met, "dispatched", local(WED, 10), unit_code=[None, "HURD"])
    review = await run()
    assert counts(card(review, "UMLE")) == {"sign_due": 1, "returns": 3}
    assert counts(card(review, "UNASSIGNED")) == {"sign_due": 1}
    assert counts(card(review, "HURD")) == {"received": 3, "sign_due": 1, "sign_met": 1,
                                            "dispatches": 3}
    assert card(review, "UMLE").sign_rate == 0.0


async def test_dispatch_accuracy_counts_dispatches_and_approved_returns(
        session: AsyncSession, run: Run) -> None:
    for _ in range(4):
        inc = await b.incident(session, "UMLE", b.G1, START - timedelta(days=3))
        await b.event(session, inc, "dispatched", local(MON, 9), unit_code=[None, "UMLE"])
    back = await b.incident(session, "HURD", b.G2, START - timedelta(days=3))
    await b.event(session, back, "dispatched", local(MON, 9), unit_code=[None, "UMLE"])
    await b.event(session, back, "return_approved", local(TUE, 9), unit_code=["UMLE", None])
    await b.event(session, back, "redispatched", local(TUE, 10), unit_code=[None, "HURD"])
    await b.event(session, back, "return_rejected", local(TUE, 11))
    review = await run()
    umle = card(review, "UMLE")
    assert counts(umle) == {"dispatches": 5, "returns": 1}
    assert umle.dispatch_accuracy == 1 - 1 / 5
    assert counts(card(review, "HURD")) == {"dispatches": 1}


async def test_on_time_close_rate_and_suspended_clocks(session: AsyncSession, run: Run) -> None:
    inc = await b.incident(session, "HURD", b.G3, START - timedelta(days=5))
    await b.clock(session, inc, "resolve", local(TUE, 10), outcome="met",
                  stopped=local(MON, 15))
    await b.clock(session, inc, "resolve", local(TUE, 10), outcome="missed",
                  stopped=local(WED, 15), round=2)
    # Suspended before its deadline: frozen, not judged this week.
    await b.clock(session, inc, "resolve", local(WED, 10), paused_at=local(WED, 9), round=3)
    # Suspended after its deadline: overdue it stays.
    await b.clock(session, inc, "resolve", local(WED, 10), paused_at=local(WED, 11), round=4)
    review = await run()
    hurd = card(review, "HURD")
    assert counts(hurd) == {"resolve_due": 3, "resolve_met": 1, "completed": 2,
                            "open_end": 2, "overdue_open": 1}
    assert hurd.on_time_rate == 1 / 3
    assert [o.covered_by for o in review.overdue] == [None]


async def test_rework_resolution_and_satisfaction(session: AsyncSession, run: Run) -> None:
    inc = await b.incident(session, "UMLE", b.G1, START - timedelta(days=5))
    for day in (MON, TUE, WED, THU):
        await b.event(session, inc, "resolved", local(day, 9))
    await b.event(session, inc, "verify_failed", local(MON, 10), to_state="in_progress")
    await b.event(session, inc, "callback_recorded", local(TUE, 10), to_state="in_progress",
                  resolved=False, satisfaction="unsatisfied", attributable=True)
    await b.event(session, inc, "callback_recorded", local(WED, 10), to_state="closed",
                  resolved=True, satisfaction="basic")
    await b.event(session, inc, "callback_recorded", local(THU, 10), resolved=True,
                  satisfaction="satisfied")
    await b.event(session, inc, "callback_recorded", local(THU, 11), to_state="closed",
                  resolved=False, satisfaction="unsatisfied", attributable=False)
    await b.event(session, inc, "reopened", local(FRI, 10), to_state="in_progress")
    await b.event(session, inc, "resolved", END + SEC)  # next week
    review = await run()
    umle = card(review, "UMLE")
    assert counts(umle) == {"resolutions": 4, "reworks": 3, "rated": 4, "cb_resolved": 2,
                            "satisfied": 2}
    assert (umle.rework_rate, umle.resolution_rate, umle.satisfaction_rate) == (0.75, 0.5, 0.5)


async def test_extension_rate(session: AsyncSession, run: Run) -> None:
    inc = await b.incident(session, "WTR", b.G2, START - timedelta(days=5))
    for round_ in (1, 2, 3, 4):
        await b.clock(session, inc, "resolve", local(TUE, 10), outcome="met",
                      stopped=local(TUE, 9), round=round_)
    await b.request(session, inc, "extension", local(MON, 10), hours=8)
    await b.request(session, inc, "extension", local(TUE, 10), state="rejected", hours=8)
    await b.request(session, inc, "extension", START - SEC, hours=8)
    await b.request(session, inc, "suspension", local(TUE, 11))
    review = await run()
    wtr = card(review, "WTR")
    assert counts(wtr) == {"resolve_due": 4, "resolve_met": 4, "extensions": 1, "completed": 4}
    assert wtr.extension_rate == 0.25


async def test_handling_time_in_working_hours_without_suspensions(
        session: AsyncSession, run: Run) -> None:
    inc = await b.incident(session, "UMLE", b.G1, START - timedelta(days=5))
    far = END + timedelta(days=30)  # deadlines outside the week: only handling is judged

    async def done(start: datetime, stop: datetime, n: int, **kw: Any) -> None:
        await b.clock(session, inc, "resolve", far, outcome="met", started=start, stopped=stop,
                      round=n, **kw)

    await done(local(MON, 8), local(MON, 14), 1, paused_minutes=60.0)  # 4 h − 1 h
    await done(local(MON, 8), local(TUE, 10), 2)  # 8 h + 2 h
    await done(local(WED, 9), local(WED, 11), 3)  # 2 h
    await done(local(MON, 17) - timedelta(days=3), local(MON, 9), 4)  # Fri 17–18, Mon 8–9
    # Urgent (continuous) clock: the working hour it spent suspended is taken out.
    urgent = await b.incident(session, "UMLE", b.G1, START - timedelta(days=5))
    await b.clock(session, urgent, "resolve", far, outcome="met", started=local(THU, 8),
                  stopped=local(THU, 18), basis="continuous", paused_minutes=60.0)
    await b.event(session, urgent, "suspension_approved", local(THU, 9))
    await b.event(session, urgent, "resumed", local(THU, 10))
    await b.clock(session, inc, "resolve", far, outcome="void", started=local(MON, 8),
                  stopped=local(MON, 9), round=6)
    await b.clock(session, inc, "resolve", far, outcome="met", started=local(FRI, 8),
                  stopped=END + SEC, round=7)
    review = await run()
    umle = card(review, "UMLE")
    assert counts(umle) == {"completed": 5, "open_end": 1}  # round 7 ended after the week
    assert sorted(umle.tally.handling) == [2.0, 2.0, 3.0, 7.0, 10.0]
    assert (umle.handling_median, umle.handling_p90) == (3.0, 10.0)


async def test_overdue_open_at_week_end_and_what_covers_it(session: AsyncSession,
                                                          run: Run) -> None:
    late = await b.incident(session, "HURD", b.G1, START, title="井盖缺失")
    await b.clock(session, late, "resolve", local(THU, 10), started=local(MON, 9))
    covered = await b.incident(session, "HURD", b.G1, START, title="路面破损")
    # Due next Monday 10:00 after 8 working hours granted on Thursday: originally Friday 10:00.
    await b.clock(session, covered, "resolve", local(FRI, 18) + timedelta(days=3, hours=-8),
                  started=local(MON, 9), extended_minutes=480.0)
    await b.request(session, covered, "extension", local(THU, 9), hours=8)
    granted_late = await b.incident(session, "HURD", b.G2, START, title="积水")
    await b.clock(session, granted_late, "resolve", local(FRI, 18) + timedelta(days=3, hours=-8),
                  started=local(MON, 9), extended_minutes=480.0)
    await b.request(session, granted_late, "extension", END + timedelta(hours=20), hours=8)
    fine = await b.incident(session, "HURD", b.G2, START)
    await b.clock(session, fine, "resolve", END + timedelta(days=2), started=local(MON, 9))
    done = await b.incident(session, "HURD", b.G2, START)
    await b.clock(session, done, "resolve", local(TUE, 10), started=local(MON, 9),
                  outcome="missed", stopped=END + timedelta(hours=1))  # open at week end
    review = await run()
    hurd = card(review, "HURD")
    assert counts(hurd) == {"received": 5, "resolve_due": 2, "open_end": 5,
                            "overdue_open": 3, "covered": 1, "extensions": 1}
    assert hurd.overdue_rate == 3 / 5
    assert hurd.close_rate == 0.0
    listed = {o.title: (o.covered_by, o.extended_hours) for o in review.overdue}
    assert listed == {"井盖缺失": (None, 0.0), "路面破损": ("extension", 8.0),
                      "积水": (None, 0.0), "测试诉求": (None, 0.0)}
    by_title = {o.title: o for o in review.overdue}
    # Thursday 10:00 → the week end: 6 working hours on Thursday, 8 on Friday.
    assert by_title["井盖缺失"].overdue_hours == 14.0
    assert by_title["路面破损"].overdue_hours == 6.0  # past the original Friday 10:00
    assert by_title["路面破损"].deadline > END


async def test_repeat_complaint_within_72_hours_of_a_closure(session: AsyncSession,
                                                            run: Run) -> None:
    closed = await b.incident(session, "UMLE", b.G1, START - timedelta(days=6), state="closed",
                              closed_at=local(MON, 10) - timedelta(hours=72))
    await b.incident(session, "UMLE", b.G1, local(MON, 10))  # exactly 72 h: a repeat
    await b.incident(session, "UMLE", b.G1, local(MON, 10) + SEC)  # 72 h + 1 s: not
    await b.incident(session, "UMLE", b.G2, local(MON, 9))  # other grid
    await b.incident(session, "UMLE", b.G1, local(MON, 9), item="BJ01001")  # other item
    await b.incident(session, "HURD", b.G3, START - timedelta(days=1), state="closed",
                     closed_at=local(WED, 8), item="BJ01002")
    await b.incident(session, "STR", b.G3, local(WED, 9), item="BJ01002")  # HURD's false close
    await b.incident(session, "STR", b.G3, local(WED, 10), item="BJ01002", state="merged")
    review = await run()
    assert counts(card(review, "UMLE")) == {"received": 4, "repeats": 1}
    assert counts(card(review, "HURD")) == {"repeats": 1}
    assert counts(card(review, f"STR/{b.S2}")) == {"received": 1, "merged": 1}
    assert closed.closed_at is not None


async def test_street_offices_are_ranked_separately(session: AsyncSession, run: Run) -> None:
    await b.incident(session, "STR", b.G1, local(MON, 9))
    await b.incident(session, "STR", b.G3, local(MON, 9))
    await b.incident(session, "STR", b.G3, local(MON, 9), assigned=b.S1)  # S1 owns it
    review = await run()
    assert counts(card(review, f"STR/{b.S1}")) == {"received": 2}
    assert counts(card(review, f"STR/{b.S2}")) == {"received": 1}
    assert card(review, f"STR/{b.S1}").name == "甲街道办事处"
    streets = await run("street")
    assert counts(card(streets, b.S1)) == {"received": 1}
    assert counts(card(streets, b.S2)) == {"received": 2}


@pytest.mark.parametrize(("scope", "keys"), [
    ("street", {b.S1: 3, b.S2: 1}), ("community", {b.C1: 3, b.C2: 1}),
    ("grid", {b.G1: 2, b.G2: 1, b.G3: 1}), ("unit", {"UMLE": 3, "HURD": 1})])
async def test_every_scope_adds_up_to_the_district(session: AsyncSession, run: Run, scope: str,
                                                   keys: dict[str, int]) -> None:
    await b.incident(session, "UMLE", b.G1, local(MON, 9))
    await b.incident(session, "UMLE", b.G1, local(TUE, 9))
    await b.incident(session, "UMLE", b.G2, local(TUE, 9))
    await b.incident(session, "HURD", b.G3, local(WED, 9))
    review = await run(scope)
    assert {c.key: c.tally.received for c in review.cards} == keys
    assert review.district.tally.received == 4
