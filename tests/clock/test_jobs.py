from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, timedelta

import pytest
from sqlalchemy import Delete, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.clock import jobs, queries
from gridops.clock import service as clocks
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.db import create_sessionmaker
from gridops.incidents.models import Incident
from gridops.outbox.models import OutboxMessage
from gridops.places.models import Unit
from gridops.settings import Settings
from tests.clock.conftest import Item, MakeIncident, new_incident, sh

MONDAY_8 = sh(2026, 3, 9, 8)  # resolve clocks of Item() fall due Monday 18:00, due soon 16:00


async def actions(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
    return list(rows)


async def notifications(session: AsyncSession) -> list[dict[str, object]]:
    rows = await session.scalars(select(OutboxMessage.payload).order_by(OutboxMessage.id))
    return list(rows)


async def resolve_clock(session: AsyncSession, make_incident: MakeIncident,
                        cal: WorkingCalendar, **incident: object) -> SlaClock:
    created = await make_incident(**incident)
    return await clocks.start(session, created, kind="resolve", item=Item(), urgent=False,
                              now=MONDAY_8, cal=cal)


async def test_overdue_is_flagged_once_with_audit_and_notification(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    clock = await resolve_clock(session, make_incident, cal, assigned_street_code="430204002")
    await session.commit()
    now = sh(2026, 3, 9, 18, 5)
    report = await jobs.sweep(sessionmaker, now, cal, settings)
    assert (report.overdue, report.escalated, report.due_soon, report.events) == (1, 1, 0, 1)
    await session.refresh(clock)
    assert (clock.breached_at, clock.warned_at, clock.escalation_level) == (now, now, 1)
    assert clock.escalated_at == now
    # With escalation_hours[0] = 0 the unit is supervised (督办) at the breach itself: one
    # event and one notification say both.
    assert await actions(session) == ["sla.overdue"]
    sent = await notifications(session)
    assert [n["event"] for n in sent] == ["sla.overdue"]
    assert sent[0]["incident_id"] == str(clock.incident_id)
    assert sent[0]["unit_code"] == "UMLE"
    assert sent[0]["street_code"] == "430204002"  # the owning street office (属地) first
    assert (sent[0]["from_level"], sent[0]["to_level"], sent[0]["audience"]) == (0, 1, "unit")
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "sla.overdue"))
    assert event is not None
    assert (event.actor_role, event.stream) == ("system", audit.stream_of(clock.incident_id))
    assert event.changes == {"clock": "resolve", "round": 1, "unit_code": "UMLE",
                             "due_at": clock.due_at.isoformat(), "from_level": 0,
                             "to_level": 1, "audience": "unit"}
    again = await jobs.sweep(sessionmaker, now + timedelta(minutes=1), cal, settings)
    assert again.flagged == 0
    assert len(await actions(session)) == 1
    assert (await audit.verify(session)).ok


async def test_due_soon_is_warned_once(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    await resolve_clock(session, make_incident, cal)
    await session.commit()
    assert (await jobs.sweep(sessionmaker, sh(2026, 3, 9, 15, 59), cal, settings)).flagged == 0
    report = await jobs.sweep(sessionmaker, sh(2026, 3, 9, 16), cal, settings)
    assert report.due_soon == 1
    assert (await jobs.sweep(sessionmaker, sh(2026, 3, 9, 17), cal, settings)).flagged == 0
    assert await actions(session) == ["sla.due_soon"]
    assert [n["event"] for n in await notifications(session)] == ["sla.due_soon"]


async def test_escalation_climbs_unit_street_district_on_working_hours(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    clock = await resolve_clock(session, make_incident, cal)
    await session.commit()
    steps = [(sh(2026, 3, 9, 18, 1), 1), (sh(2026, 3, 10, 17, 59), 1),  # 7h58m late
             (sh(2026, 3, 10, 18), 2), (sh(2026, 3, 12, 17, 59), 2),
             (sh(2026, 3, 12, 18), 3), (sh(2026, 3, 20, 9), 3)]
    for now, level in sorted(steps):
        await jobs.sweep(sessionmaker, now, cal, settings)
        await session.refresh(clock)
        assert clock.escalation_level == level, now
    sent = [(n["event"], n.get("from_level"), n.get("to_level"), n.get("audience"))
            for n in await notifications(session)]
    assert sent == [("sla.overdue", 0, 1, "unit"), ("sla.escalated", 1, 2, "street"),
                    ("sla.escalated", 2, 3, "district")]
    assert (await audit.verify(session)).ok


async def test_sign_clocks_go_overdue_but_do_not_escalate(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    incident = await make_incident()
    await clocks.start(session, incident, kind="sign", item=Item(), urgent=False, now=MONDAY_8,
                       cal=cal)
    await session.commit()
    report = await jobs.sweep(sessionmaker, sh(2026, 3, 20, 9), cal, settings)
    assert (report.overdue, report.escalated) == (1, 0)


async def test_paused_and_stopped_clocks_are_left_alone(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    paused = await resolve_clock(session, make_incident, cal)
    await clocks.pause_all(session, paused.incident_id, sh(2026, 3, 9, 9))
    stopped = await resolve_clock(session, make_incident, cal)
    await clocks.stop(session, stopped.incident_id, "resolve", sh(2026, 3, 9, 9), cal)
    await session.commit()
    assert (await jobs.sweep(sessionmaker, sh(2026, 3, 20, 9), cal, settings)).flagged == 0


async def test_batches_cover_every_clock_and_continue_existing_chains(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    made = [await resolve_clock(session, make_incident, cal) for _ in range(5)]
    incident = await session.get(Incident, made[0].incident_id)
    await audit.record(session, "incident.received", actor=SYSTEM, at=MONDAY_8.astimezone(UTC),
                       incident=incident)
    await session.commit()
    small = settings.model_copy(update={"sla": settings.sla.model_copy(
        update={"sweep_batch": 2})})
    report = await jobs.sweep(sessionmaker, sh(2026, 3, 9, 18, 1), cal, small)
    assert (report.overdue, report.escalated) == (5, 5)
    assert report.batches >= 3
    seqs = (await session.scalars(select(AuditEvent.seq).where(
        AuditEvent.incident_id == made[0].incident_id).order_by(AuditEvent.seq))).all()
    assert list(seqs) == [1, 2]
    assert (await audit.verify(session)).ok


@pytest.mark.postgres
async def test_two_sweepers_never_act_twice_on_one_clock(
        engine: AsyncEngine, cal: WorkingCalendar, settings: Settings) -> None:
    maker = create_sessionmaker(engine)
    small = settings.model_copy(update={"sla": settings.sla.model_copy(
        update={"sweep_batch": 7})})
    async with maker.begin() as session:
        ids = []
        for _ in range(60):
            incident = await new_incident(session, at=MONDAY_8)
            for kind in ("sign", "resolve"):
                await clocks.start(session, incident, kind=kind, item=Item(), urgent=False,
                                   now=MONDAY_8, cal=cal)
            ids.append(incident.id)
    try:
        now = sh(2026, 3, 9, 18, 1)
        reports = await asyncio.gather(*(jobs.sweep(maker, now, cal, small) for _ in range(2)))
        # A clock whose incident the other sweeper holds is deferred, never doubled; the next
        # sweep picks up whatever was deferred.
        reports.append(await jobs.sweep(maker, now, cal, small))
        assert sum(r.overdue for r in reports) == 120
        assert sum(r.escalated for r in reports) == 60
        async with maker() as session:
            rows = await session.execute(
                select(AuditEvent.action, func.count()).where(AuditEvent.incident_id.in_(ids))
                .group_by(AuditEvent.action))
            per_action = {row[0]: row[1] for row in rows.all()}
            assert per_action == {"sla.overdue": 120}
            await _each_clock_flagged_once(session, ids, 120)
    finally:
        await _remove_committed(maker, ids)


@pytest.mark.postgres
async def test_pages_in_flight_together_still_flag_every_clock_once_in_one_sweep(
        engine: AsyncEngine, cal: WorkingCalendar, settings: Settings) -> None:
    # Sign and resolve deadlines at the same moment: an incident's two clocks fall on
    # neighbouring pages, which two workers hold at once; the one claimed second skips the clock
    # whose incident the other holds, and the pass walked again picks it up.
    maker = create_sessionmaker(engine)
    small = settings.model_copy(update={"sla": settings.sla.model_copy(
        update={"sweep_batch": 5})})
    same = Item(sign_hours=8, resolve_hours=8)
    async with maker.begin() as session:
        ids = []
        for _ in range(40):
            incident = await new_incident(session, at=MONDAY_8)
            for kind in ("sign", "resolve"):
                await clocks.start(session, incident, kind=kind, item=same, urgent=False,
                                   now=MONDAY_8, cal=cal)
            ids.append(incident.id)
    try:
        report = await jobs.sweep(maker, sh(2026, 3, 9, 18, 1), cal, small)
        assert (report.overdue, report.escalated, report.events) == (80, 40, 80)
        async with maker() as session:
            await _each_clock_flagged_once(session, ids, 80)
    finally:
        await _remove_committed(maker, ids)


@pytest.mark.postgres
async def test_a_clock_whose_incident_a_request_holds_waits_for_the_next_sweep(
        engine: AsyncEngine, cal: WorkingCalendar, settings: Settings) -> None:
    maker = create_sessionmaker(engine)
    async with maker.begin() as session:
        incident = await new_incident(session, at=MONDAY_8)
        await clocks.start(session, incident, kind="sign", item=Item(), urgent=False,
                           now=MONDAY_8, cal=cal)
    now = sh(2026, 3, 9, 18, 1)
    try:
        async with maker.begin() as request:  # a request changing the incident, mid-transaction
            await request.execute(select(Incident.id).where(Incident.id == incident.id)
                                  .with_for_update())
            held = await jobs.sweep(maker, now, cal, settings)
            assert held.overdue == 0
        released = await jobs.sweep(maker, now, cal, settings)
        assert released.overdue == 1
    finally:
        await _remove_committed(maker, [incident.id])


async def _each_clock_flagged_once(session: AsyncSession, ids: list[uuid.UUID],
                                   clocks_flagged: int) -> None:
    """One audit event per flagged clock of `ids`, one notification each, and intact chains."""
    flagged = await session.execute(select(AuditEvent.incident_id, AuditEvent.changes)
                                    .where(AuditEvent.incident_id.in_(ids)))
    per_clock = Counter((i, changes["clock"]) for i, changes in flagged.all())
    assert len(per_clock) == clocks_flagged
    assert set(per_clock.values()) == {1}
    messages = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.incident_id.in_(ids)))
    assert messages == clocks_flagged
    assert (await audit.verify(session)).ok


async def _remove_committed(maker: async_sessionmaker[AsyncSession],
                            ids: list[uuid.UUID]) -> None:
    """These tests had to commit; remove their rows so other tests see an empty database. The
    audit table refuses deletes by trigger, which replica mode (superuser) skips."""
    async with maker.begin() as session:
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        for table in (AuditEvent, OutboxMessage, SlaClock):
            await session.execute(delete(table).where(table.incident_id.in_(ids)))
        await session.execute(delete(Incident).where(Incident.id.in_(ids)))
        await session.execute(_placeholder_units())


def _placeholder_units() -> Delete:
    """The units `ensure_units` made for these committed incidents (named by their code)."""
    return delete(Unit).where(Unit.name_zh == Unit.code, Unit.name_en == Unit.code)


def _hours(settings: Settings, hours: tuple[float, float, float]) -> Settings:
    return settings.model_copy(update={"sla": settings.sla.model_copy(
        update={"escalation_hours": hours})})


async def test_a_first_level_due_later_is_an_escalation_of_its_own(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    clock = await resolve_clock(session, make_incident, cal)
    await session.commit()
    later = _hours(settings, (2, 8, 24))
    breach = await jobs.sweep(sessionmaker, sh(2026, 3, 9, 18, 5), cal, later)
    assert (breach.overdue, breach.escalated, breach.events) == (1, 0, 1)
    await session.refresh(clock)
    assert (clock.escalation_level, clock.escalated_at) == (0, None)
    # Monday 18:00 + 2 working hours = Tuesday 10:00 (nights do not count).
    assert (await jobs.sweep(sessionmaker, sh(2026, 3, 10, 9, 59), cal, later)).flagged == 0
    escalated = await jobs.sweep(sessionmaker, sh(2026, 3, 10, 10), cal, later)
    assert (escalated.overdue, escalated.escalated, escalated.events) == (0, 1, 1)
    sent = [(n["event"], n.get("to_level")) for n in await notifications(session)]
    assert sent == [("sla.overdue", None), ("sla.escalated", 1)]
    assert (await audit.verify(session)).ok


async def test_a_clock_found_days_late_goes_straight_to_the_level_reached(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    clock = await resolve_clock(session, make_incident, cal)
    await session.commit()
    now = sh(2026, 3, 20, 9)  # the worker was down for two weeks
    report = await jobs.sweep(sessionmaker, now, cal, settings)
    assert (report.overdue, report.escalated, report.events) == (1, 1, 1)
    await session.refresh(clock)
    assert (clock.escalation_level, clock.escalated_at) == (3, now)
    [sent] = await notifications(session)
    assert (sent["event"], sent["from_level"], sent["to_level"], sent["audience"]) == (
        "sla.overdue", 0, 3, "district")
    assert (await jobs.sweep(sessionmaker, sh(2026, 3, 27, 9), cal, settings)).flagged == 0


async def test_a_breach_keeps_each_clocks_earlier_warning(
        session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession],
        make_incident: MakeIncident, cal: WorkingCalendar, settings: Settings) -> None:
    early = await resolve_clock(session, make_incident, cal)  # due soon 16:00, due 18:00
    second = await make_incident()
    late = await clocks.start(session, second, kind="resolve", item=Item(), urgent=False,
                              now=sh(2026, 3, 9, 9), cal=cal)  # due soon 17:00, due Tue 09:00
    never = await resolve_clock(session, make_incident, cal)
    await clocks.pause_all(session, never.incident_id, sh(2026, 3, 9, 15))  # before its warning
    await session.commit()
    await jobs.sweep(sessionmaker, sh(2026, 3, 9, 16), cal, settings)
    await jobs.sweep(sessionmaker, sh(2026, 3, 9, 17), cal, settings)
    # 3 working hours left at the pause: due Tuesday 17:00, due soon 15:00.
    await clocks.resume_all(session, never.incident_id, sh(2026, 3, 10, 12), cal)
    await session.commit()
    now = sh(2026, 3, 10, 18)
    report = await jobs.sweep(sessionmaker, now, cal, settings)
    assert (report.overdue, report.due_soon, report.batches) == (3, 0, 5)  # one page each pass
    for clock in (early, late, never):
        await session.refresh(clock)
    # Flagged in one statement, yet each keeps its own warning; one never warned is past it.
    assert [c.warned_at for c in (early, late, never)] == [
        sh(2026, 3, 9, 16), sh(2026, 3, 9, 17), now]
    assert {c.breached_at for c in (early, late, never)} == {now}


@pytest.mark.postgres
async def test_each_scan_can_use_its_partial_index_even_in_a_generic_plan(
        session: AsyncSession, settings: Settings) -> None:
    # A prepared statement may be planned once for any parameter values; the index predicates
    # must then follow from the query's own literals (kind = 'resolve' is one, not a parameter).
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    driver = (await (await session.connection()).get_raw_connection()).driver_connection
    assert driver is not None
    now = MONDAY_8.astimezone(UTC)
    hours = tuple(settings.sla.escalation_hours)
    expected = ["overdue", "due_soon"] + ["escalation"] * len(hours)
    for n, ((order, where), index) in enumerate(zip(jobs.scans(now, hours), expected,
                                                    strict=True)):
        compiled = queries.sweep_page(where, order, 1000, (now, uuid.uuid4())).compile(
            dialect=session.get_bind().dialect)
        await driver.execute(f"PREPARE sweep_scan_{n} AS {compiled}")
        values = ", ".join(_literal(compiled.params[key]) for key in compiled.positiontup or [])
        plan = "\n".join(row[0] for row in await driver.fetch(
            f"EXPLAIN EXECUTE sweep_scan_{n}({values})"))
        assert f"ix_sla_clock_sweep_{index}" in plan, plan
        assert "$" in plan  # the generic plan indeed: parameters left unbound


def _literal(value: object) -> str:
    if isinstance(value, int):
        return str(value)
    return f"'{value}'"
