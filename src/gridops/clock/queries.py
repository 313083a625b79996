"""The command-centre board: open clocks past their due-soon mark, grouped by unit and street."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor
from gridops.auth.scope import scope_clause
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.schemas import BoardGroup, BoardIncident, SlaBoard
from gridops.clock.service import state_of
from gridops.incidents.models import Incident


async def board(session: AsyncSession, actor: Actor, now: datetime, cal: WorkingCalendar,
                per_group: int) -> SlaBoard:
    """Counts are complete; each group lists its `per_group` most urgent clocks (most overdue
    first). Paused clocks are not on the board: their time is not running."""
    street = func.coalesce(Incident.assigned_street_code, Incident.street_code)
    rows = await session.execute(
        select(SlaClock, Incident.title, Incident.item_name, Incident.state, street)
        .join(Incident, Incident.id == SlaClock.incident_id)
        .where(SlaClock.outcome.is_(None), SlaClock.paused_at.is_(None),
               SlaClock.due_soon_at <= now, scope_clause(actor, Incident))
        .order_by(SlaClock.due_at, SlaClock.id))
    entries = []
    for clock, title, item_name, state, street_code in rows:
        reading = policy.status(state_of(clock), now, cal)
        entries.append(BoardIncident(
            incident_id=clock.incident_id, title=title, item_name=item_name, state=state,
            unit_code=clock.unit_code, street_code=street_code, kind=clock.kind,
            status="overdue" if reading.status == "overdue" else "due_soon",
            due_at=clock.due_at, working_minutes_left=round(reading.minutes_left, 2),
            escalation_level=clock.escalation_level))
    overdue = sum(e.status == "overdue" for e in entries)
    return SlaBoard(at=now, overdue=overdue, due_soon=len(entries) - overdue,
                    by_unit=_group(entries, lambda e: e.unit_code, per_group),
                    by_street=_group(entries, lambda e: e.street_code, per_group))


def _group(entries: list[BoardIncident], key: Callable[[BoardIncident], str | None],
           per_group: int) -> list[BoardGroup]:
    groups: dict[str | None, list[BoardIncident]] = {}
    for entry in entries:  # already most urgent first
        groups.setdefault(key(entry), []).append(entry)
    result = [BoardGroup(code=code, overdue=sum(e.status == "overdue" for e in items),
                         due_soon=sum(e.status == "due_soon" for e in items),
                         incidents=items[:per_group])
              for code, items in groups.items()]
    # Worst first: the screen shows the units and streets with most overdue at the top.
    return sorted(result, key=lambda g: (-g.overdue, -g.due_soon, g.code or ""))
