"""Shared pieces of the lifecycle action tests: a district with a rule table, actors, and an
incident builder that uses the ORM directly (intake is not under test here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import SYSTEM, Actor, Role
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.clock.models import SlaClock
from gridops.incidents import actions
from gridops.incidents.action_schemas import DispatchIn
from gridops.incidents.models import Attachment, Incident
from gridops.routing import service as routing
from gridops.settings import Settings
from tests.routing.routing_sample import full_document

GRID = "430204003001001"
COMMUNITY = "430204003001"
STREET = "430204003"
OTHER_STREET = "430204001"
ITEM = "SJ05001"  # 占道经营, UMLE, sign 2 h, resolve 24 h, photos required

DISPATCHER = Actor("disp-1", Role.dispatcher, name="值班长")
STREET_DISPATCHER = Actor("disp-s", Role.dispatcher, street_code=STREET)
FOREIGN_DISPATCHER = Actor("disp-x", Role.dispatcher, street_code=OTHER_STREET)
UMLE = Actor("op-umle", Role.unit_operator, unit_code="UMLE")
HURD = Actor("op-hurd", Role.unit_operator, unit_code="HURD")
WORKER = Actor("gw-1", Role.grid_worker, grid_code=GRID)
OTHER_WORKER = Actor("gw-2", Role.grid_worker, grid_code="430204003001002")
LEADER = Actor("lead-1", Role.leader)
AUDITOR = Actor("aud-1", Role.auditor)


@dataclass
class World:
    session: AsyncSession
    settings: Settings
    cal: WorkingCalendar
    now: datetime

    def ctx(self, actor: Actor, incident: Incident | None = None, *,
            at: datetime | None = None, version: int | None = None) -> actions.Ctx:
        """The version defaults to the incident's current one (a client that read it)."""
        if version is None and incident is not None:
            version = incident.version
        return actions.Ctx(actor=actor, now=at or self.now, cal=self.cal,
                           settings=self.settings, version=version)

    def later(self, **delta: float) -> datetime:
        return self.now + timedelta(**delta)

    async def incident(self, *, channel: str = "grid_app", item_code: str | None = ITEM,
                       **fields: Any) -> Incident:
        incident = Incident(
            id=uuid.uuid4(), channel=channel, text="建设路口有流动摊贩占道经营", state="triage",
            grid_code=GRID, community_code=COMMUNITY, street_code=STREET, item_code=item_code,
            created_by="gw-1", created_at=self.now, updated_at=self.now,
            external_id=f"12345-{uuid.uuid4().hex[:8]}" if channel == "hotline_12345" else None,
            routing={"unit_code": "UMLE", "item_code": item_code, "confidence": 0.4,
                     "needs_triage": True},
        )
        for name, value in fields.items():
            setattr(incident, name, value)
        self.session.add(incident)
        await self.session.flush()
        return incident

    async def dispatched(self, unit: str = "UMLE", **fields: Any) -> Incident:
        incident = await self.incident(**fields)
        return await actions.dispatch(self.session, incident.id, DispatchIn(unit_code=unit),
                                      self.ctx(DISPATCHER, incident))

    async def photo(self, incident: Incident, at: datetime | None = None) -> None:
        self.session.add(Attachment(
            id=uuid.uuid4(), incident_id=incident.id, purpose="resolve", filename="after.jpg",
            content_type="image/jpeg", size=1024, sha256="0" * 64,
            storage_key=f"{incident.id}/after.jpg", uploaded_by="op-umle",
            created_at=at or self.now))
        await self.session.flush()

    async def clocks(self, incident: Incident, kind: str | None = None) -> list[SlaClock]:
        query = select(SlaClock).where(SlaClock.incident_id == incident.id)
        if kind:
            query = query.where(SlaClock.kind == kind)
        return list((await self.session.scalars(
            query.order_by(SlaClock.kind.desc(), SlaClock.round)
            .execution_options(populate_existing=True))).all())

    async def events(self, incident: Incident) -> list[AuditEvent]:
        return list((await self.session.scalars(
            select(AuditEvent).where(AuditEvent.incident_id == incident.id)
            .order_by(AuditEvent.seq))).all())

    async def actions_of(self, incident: Incident) -> list[str]:
        return [e.action for e in await self.events(incident)]

    async def audit_count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


@pytest.fixture
async def world(session: AsyncSession, settings: Settings, now: datetime,
                demo_pack: Any) -> World:
    await routing.load_table(session, full_document(), actor=SYSTEM, now=now)
    return World(session=session, settings=settings,
                 cal=build_calendar(None, timezone=settings.timezone), now=now)


def at_version(ctx: actions.Ctx, version: int) -> actions.Ctx:
    return replace(ctx, version=version)
