from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM, Actor, Role
from gridops.incidents.models import Incident

OPERATOR = Actor("u-1", Role.unit_operator, unit_code="UMLE", street_code="430204001")


async def _chain(session: AsyncSession, incident_id: uuid.UUID) -> list[AuditEvent]:
    rows = await session.scalars(select(AuditEvent).where(
        AuditEvent.stream == audit.stream_of(incident_id)).order_by(AuditEvent.seq))
    return list(rows)


async def test_appends_to_several_chains_in_order_and_continues_existing_ones(
        session: AsyncSession, now: datetime) -> None:
    old, new = Incident(id=uuid.uuid4()), Incident(id=uuid.uuid4())
    await audit.record(session, "incident.received", actor=SYSTEM, at=now, incident=old)
    written = await audit.record_many(session, [
        audit.Entry(old.id, "sla.due_soon", "即将超期", {"clock": "sign"}),
        audit.Entry(new.id, "sla.overdue", "已超期", {"clock": "resolve", "to_level": 1}),
        audit.Entry(old.id, "sla.overdue", "已超期", {"clock": "sign"}),
    ], actor=SYSTEM, at=now + timedelta(minutes=1))
    await audit.record(session, "incident.urged", actor=OPERATOR,
                       at=now + timedelta(minutes=2), incident=old)
    assert written == 3
    first = await _chain(session, old.id)
    assert [(e.seq, e.action) for e in first] == [
        (1, "incident.received"), (2, "sla.due_soon"), (3, "sla.overdue"), (4, "incident.urged")]
    assert [e.prev_hash for e in first[1:]] == [e.hash for e in first[:-1]]
    second = await _chain(session, new.id)
    assert [(e.seq, e.prev_hash, e.incident_id) for e in second] == [(1, audit.GENESIS, new.id)]
    assert second[0].changes == {"clock": "resolve", "to_level": 1}
    assert (await audit.verify(session)).ok


async def test_hashes_exactly_as_record_does(session: AsyncSession, now: datetime) -> None:
    incident = Incident(id=uuid.uuid4())
    shanghai = now.astimezone(ZoneInfo("Asia/Shanghai"))  # stored and hashed in UTC either way
    changes = {"when": shanghai, "who": uuid.UUID(int=7), "text": "井盖缺失 😀 <b>", "n": 1.5}
    savepoint = await session.begin_nested()
    one = await audit.record(session, "incident.commented", actor=OPERATOR, at=shanghai,
                             incident=incident, from_state="dispatched",
                             to_state="in_progress", note="备注", changes=changes)
    expected = (one.hash, one.changes)
    await savepoint.rollback()
    await audit.record_many(session, [audit.Entry(
        incident.id, "incident.commented", "备注", changes, from_state="dispatched",
        to_state="in_progress")], actor=OPERATOR, at=shanghai)
    [event] = await _chain(session, incident.id)
    assert (event.hash, event.changes) == expected
    assert event.changes["who"] == str(uuid.UUID(int=7))  # stored as JSON, as hashed
    assert (event.actor_role, event.actor_unit) == ("unit_operator", "UMLE:430204001")
    assert (await audit.verify(session)).ok


async def test_nothing_to_record_writes_nothing(session: AsyncSession, now: datetime) -> None:
    before = await audit.count(session)
    assert await audit.record_many(session, [], actor=SYSTEM, at=now) == 0
    assert await audit.count(session) == before


async def test_a_page_of_chains_beyond_one_lookup_chunk(session: AsyncSession,
                                                        now: datetime) -> None:
    incidents = [uuid.uuid4() for _ in range(1200)]
    for incident_id in incidents[::100]:  # some chains already started
        await audit.record(session, "incident.received", actor=SYSTEM, at=now,
                           incident=Incident(id=incident_id))
    await audit.record_many(session, [audit.Entry(i, "sla.overdue", "已超期")
                                      for i in incidents], actor=SYSTEM, at=now)
    seqs = dict((await session.execute(
        select(AuditEvent.incident_id, func.max(AuditEvent.seq))
        .where(AuditEvent.incident_id.in_(incidents)).group_by(AuditEvent.incident_id))).all())
    assert seqs == {i: 2 if n % 100 == 0 else 1 for n, i in enumerate(incidents)}
    assert (await audit.verify(session)).ok
