from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock.calendar import WorkingCalendar
from gridops.incidents.models import Incident
from gridops.places.models import Unit

SH = ZoneInfo("Asia/Shanghai")


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


@dataclass(frozen=True)
class Item:
    sign_hours: float = 2
    resolve_hours: float = 8
    urgent_sign_hours: float | None = 0.5
    urgent_resolve_hours: float | None = 4


@pytest.fixture(scope="session")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


async def ensure_units(session: AsyncSession, *codes: str) -> None:
    have = set((await session.scalars(select(Unit.code).where(Unit.code.in_(codes)))).all())
    for code in set(codes) - have:
        session.add(Unit(code=code, name_zh=code, name_en=code))
    await session.flush()


async def new_incident(session: AsyncSession, *, at: datetime, unit_code: str | None = "UMLE",
                       street_code: str | None = "430204001", **fields: Any) -> Incident:
    if unit_code:
        await ensure_units(session, unit_code)
    state = fields.pop("state", "dispatched")
    incident = Incident(channel="grid_app", text="井盖缺失", state=state, created_by="test",
                        created_at=at, updated_at=at, unit_code=unit_code,
                        street_code=street_code, id=uuid.uuid4(), **fields)
    session.add(incident)
    await session.flush()
    return incident


MakeIncident = Callable[..., Awaitable[Incident]]


@pytest.fixture
def make_incident(session: AsyncSession) -> MakeIncident:
    async def make(**fields: Any) -> Incident:
        fields.setdefault("at", sh(2026, 3, 9, 8))
        return await new_incident(session, **fields)
    return make
