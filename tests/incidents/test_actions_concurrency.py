"""Two operators acting on one incident at the same moment, on PostgreSQL with real
transactions: the row lock makes the second wait, then its version check refuses it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM, Actor
from gridops.clock.calendar import build_calendar
from gridops.db import create_sessionmaker
from gridops.incidents import actions
from gridops.incidents.action_schemas import ActionIn, DispatchIn, ReturnIn
from gridops.incidents.models import Incident
from gridops.places.models import Unit
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.conftest import scratch_database
from tests.incidents.test_actions_support import DISPATCHER, UMLE
from tests.routing.routing_sample import full_document

pytestmark = pytest.mark.postgres


@pytest.fixture
async def own_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A database of its own: these transactions commit, and audit rows cannot be deleted."""
    async with scratch_database(settings) as (_, engine):
        yield create_sessionmaker(engine)


async def test_two_writers_on_one_version_one_wins(
        own_database: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> None:
    cal = build_calendar(None, timezone=settings.timezone)

    def ctx(who: Actor = UMLE, version: int | None = None) -> actions.Ctx:
        return actions.Ctx(actor=who, now=now, cal=cal, settings=settings, version=version)

    async with own_database.begin() as s:
        s.add(Unit(code="UMLE", name_zh="城市管理综合执法局", name_en="UMLE"))
        await s.flush()
        await routing.load_table(s, full_document(), actor=SYSTEM, now=now)
        incident = Incident(channel="grid_app", text="占道经营", state="triage",
                            item_code="SJ05001", created_by="t", created_at=now, updated_at=now)
        s.add(incident)
        await s.flush()
        await actions.dispatch(s, incident.id, DispatchIn(unit_code="UMLE"),
                               ctx(who=DISPATCHER))
        read = incident.version

    first_locked = asyncio.Event()

    async def first() -> str:
        async with own_database.begin() as s:
            await actions.accept(s, incident.id, ActionIn(), ctx(version=read))
            first_locked.set()
            await asyncio.sleep(0.5)  # hold the row lock while the second arrives
        return "accepted"

    async def second() -> str:
        await first_locked.wait()
        async with own_database.begin() as s:
            try:
                await actions.request_return(s, incident.id, ReturnIn(reason="不属我单位"),
                                             ctx(version=read))
            except actions.VersionMismatch as exc:
                return f"409 at version {exc.extensions['current_version']}"
        return "returned"

    outcomes = list(await asyncio.gather(first(), second()))
    assert outcomes == ["accepted", f"409 at version {read + 1}"]
    async with own_database() as s:
        stored = await s.get(Incident, incident.id)
        assert stored is not None
        assert (stored.state, stored.version) == ("in_progress", read + 1)
        events = await s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.incident_id == incident.id))
        assert events == 2  # dispatched, accepted: nothing from the loser
