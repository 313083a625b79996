from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clocks
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.policy import HandOver
from tests.clock.conftest import Item, MakeIncident, sh

MONDAY_8 = sh(2026, 3, 9, 8)


async def test_start_puts_normal_limits_on_the_working_clock(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    sign = await clocks.start(session, incident, kind="sign", item=Item(), urgent=False,
                              now=MONDAY_8, cal=cal)
    resolve = await clocks.start(session, incident, kind="resolve", item=Item(resolve_hours=16),
                                 urgent=False, now=MONDAY_8, cal=cal)
    assert (sign.basis, sign.limit_minutes, sign.unit_code) == ("working", 120, "UMLE")
    assert sign.due_at == sh(2026, 3, 9, 10)
    assert resolve.due_at == sh(2026, 3, 10, 18)
    again = await clocks.start(session, incident, kind="sign", item=Item(sign_hours=99),
                               urgent=False, now=MONDAY_8 + timedelta(hours=1), cal=cal)
    assert again.id == sign.id  # idempotent per (kind, round)
    assert again.due_at == sh(2026, 3, 9, 10)


async def test_urgent_limits_run_round_the_clock(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    saturday = sh(2026, 3, 7, 22)
    incident = await make_incident(at=saturday, urgency="urgent")
    clock = await clocks.start(session, incident, kind="resolve", item=Item(), urgent=True,
                               now=saturday, cal=cal)
    assert clock.basis == "continuous"
    assert clock.due_at == sh(2026, 3, 8, 2)


async def test_a_new_round_voids_the_open_one(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    first = await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                               now=MONDAY_8, cal=cal)
    second = await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                                now=sh(2026, 3, 11, 9), cal=cal, round=2)
    assert first.outcome == "void"
    assert second.round == 2
    assert second.due_at == sh(2026, 3, 12, 9)
    views = await clocks.views(session, incident.id, sh(2026, 3, 11, 9), cal)
    assert [(v.kind, v.round) for v in views] == [("resolve", 2)]


async def test_stop_records_met_or_missed(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    await clocks.start(session, incident, kind="sign", item=Item(), urgent=False,
                       now=MONDAY_8, cal=cal)
    await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                       now=MONDAY_8, cal=cal)
    signed = await clocks.stop(session, incident.id, "sign", sh(2026, 3, 9, 10), cal)
    assert signed is not None
    assert signed.outcome == "met"
    resolved = await clocks.stop(session, incident.id, "resolve", sh(2026, 3, 10, 8, 30))
    assert resolved is not None
    assert resolved.outcome == "missed"
    assert await clocks.stop(session, incident.id, "resolve", sh(2026, 3, 10, 9)) is None
    views = await clocks.views(session, incident.id, sh(2026, 3, 20), cal)
    assert [(v.kind, v.status, v.working_minutes_left) for v in views] == [
        ("sign", "met", 0), ("resolve", "missed", -30)]


async def test_suspension_pauses_every_open_clock_and_resume_keeps_the_time_left(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                       now=MONDAY_8, cal=cal)
    paused = await clocks.pause_all(session, incident.id, sh(2026, 3, 9, 11))
    assert [c.paused_at for c in paused] == [sh(2026, 3, 9, 11)]
    view = (await clocks.views(session, incident.id, sh(2026, 3, 13, 11), cal))[0]
    assert (view.status, view.working_minutes_left) == ("paused", 300)
    await clocks.resume_all(session, incident.id, sh(2026, 3, 16, 8), cal)
    view = (await clocks.views(session, incident.id, sh(2026, 3, 16, 8), cal))[0]
    assert (view.status, view.working_minutes_left) == ("running", 300)
    assert view.due_at == sh(2026, 3, 16, 15)


async def test_extension_moves_only_the_resolve_deadline(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    sign = await clocks.start(session, incident, kind="sign", item=Item(), urgent=False,
                              now=MONDAY_8, cal=cal)
    await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                       now=MONDAY_8, cal=cal)
    extended = await clocks.extend(session, incident.id, 16, sh(2026, 3, 9, 15), cal)
    assert extended is not None
    assert extended.due_at == sh(2026, 3, 11, 18)
    assert extended.extended_minutes == 960
    assert sign.due_at == sh(2026, 3, 9, 10)


async def test_void_all_hides_the_clocks(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    await clocks.start(session, incident, kind="sign", item=Item(), urgent=False,
                       now=MONDAY_8, cal=cal)
    voided = await clocks.void_all(session, incident.id, sh(2026, 3, 9, 9), cal)
    assert [c.outcome for c in voided] == ["void"]
    assert await clocks.views(session, incident.id, sh(2026, 3, 9, 9), cal) == []


async def test_a_return_hands_the_clock_over_without_resetting_it(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    incident = await make_incident()
    clock = await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                               now=MONDAY_8, cal=cal)
    handovers = await clocks.reassign(session, incident.id, "HURD", sh(2026, 3, 10, 9), cal)
    assert handovers == [HandOver("resolve", 1, "UMLE", "HURD", -60)]
    row = await session.scalar(select(SlaClock).where(SlaClock.id == clock.id))
    assert row is not None
    assert (row.unit_code, row.due_at, row.started_at) == ("HURD", sh(2026, 3, 9, 18), MONDAY_8)


async def test_views_for_a_page_of_incidents(
        session: AsyncSession, make_incident: MakeIncident, cal: WorkingCalendar) -> None:
    a, b, c = [await make_incident() for _ in range(3)]
    for incident in (a, b):
        await clocks.start(session, incident, kind="resolve", item=Item(), urgent=False,
                           now=MONDAY_8, cal=cal)
    page = await clocks.views_for(session, [a.id, b.id, c.id], sh(2026, 3, 9, 16, 30), cal)
    assert set(page) == {a.id, b.id}
    assert page[a.id][0].status == "due_soon"
    assert page[a.id][0].working_minutes_left == 90
    late = await clocks.views_for(session, [a.id], sh(2026, 3, 9, 16, 30), cal,
                                  due_soon_share=0.95)
    assert late[a.id][0].status == "running"
    assert await clocks.views_for(session, [], MONDAY_8, cal) == {}
