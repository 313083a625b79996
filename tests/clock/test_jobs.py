from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM
from gridops.clock import jobs
from gridops.clock import service as clocks
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.db import create_sessionmaker
from gridops.incidents.models import Incident
from gridops.outbox.models import OutboxMessage
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
    assert (report.overdue, report.escalated, report.due_soon) == (1, 1, 0)
    await session.refresh(clock)
    assert (clock.breached_at, clock.warned_at, clock.escalation_level) == (now, now, 1)
    assert await actions(session) == ["sla.overdue", "sla.escalated"]
    sent = await notifications(session)
    assert [n["event"] for n in sent] == ["sla.overdue", "sla.escalated"]
    assert sent[0]["incident_id"] == str(clock.incident_id)
    assert sent[0]["unit_code"] == "UMLE"
    assert sent[0]["street_code"] == "430204002"  # the owning street office (属地) first
    assert sent[1]["audience"] == "unit"
    event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "sla.overdue"))
    assert event is not None
    assert (event.actor_role, event.stream) == ("system", audit.stream_of(clock.incident_id))
    again = await jobs.sweep(sessionmaker, now + timedelta(minutes=1), cal, settings)
    assert again.flagged == 0
    assert len(await actions(session)) == 2
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
    audiences = [n.get("audience") for n in await notifications(session)
                 if n["event"] == "sla.escalated"]
    assert audiences == ["unit", "street", "district"]
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
    assert list(seqs) == [1, 2, 3]
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
            assert per_action == {"sla.overdue": 120, "sla.escalated": 60}
            messages = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.incident_id.in_(ids)))
            assert messages == 180
            assert (await audit.verify(session)).ok
    finally:
        async with maker.begin() as session:
            # This test had to commit; remove its rows so other tests see an empty database. The
            # audit table refuses deletes by trigger, which replica mode (superuser) skips.
            await session.execute(text("SET LOCAL session_replication_role = replica"))
            for table in (AuditEvent, OutboxMessage, SlaClock):
                await session.execute(delete(table).where(table.incident_id.in_(ids)))
            await session.execute(delete(Incident).where(Incident.id.in_(ids)))




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
        async with maker.begin() as session:
            await session.execute(text("SET LOCAL session_replication_role = replica"))
            for table in (AuditEvent, OutboxMessage, SlaClock):
                await session.execute(delete(table).where(table.incident_id == incident.id))
            await session.execute(delete(Incident).where(Incident.id == incident.id))
