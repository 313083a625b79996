from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.clock.calendar import WorkingCalendar, build_calendar
from gridops.review import service
from gridops.review.metrics import COUNTS, Card
from gridops.review.week import parse_week
from gridops.settings import Settings
from tests.review import builders as b

LEADER = Actor(subject="leader", role=Role.leader)
Run = Callable[..., Awaitable[service.Review]]


@pytest.fixture(scope="session")
def cal() -> WorkingCalendar:
    return build_calendar()


@pytest.fixture
async def district(session: AsyncSession) -> None:
    await b.district(session)


@pytest.fixture
def run(session: AsyncSession, cal: WorkingCalendar, settings: Settings, district: None) -> Run:
    async def go(scope: service.Scope = "unit", week: str = b.WEEK, actor: Actor = LEADER,
                 now: Any = b.NOW) -> service.Review:
        return await service.weekly(session, parse_week(week, settings.timezone), scope,
                                    actor=actor, now=now, cal=cal, settings=settings)
    return go


def card(review: service.Review, key: str) -> Card:
    found = [c for c in review.cards if c.key == key]
    assert found, f"no card {key}; have {[c.key for c in review.cards]}"
    return found[0]


def counts(c: Card) -> dict[str, int]:
    """Every count of the card that is not zero (so a test states all it expects)."""
    return {name: getattr(c.tally, name) for name in COUNTS if getattr(c.tally, name)}
