"""The command-centre board (open clocks past their due-soon mark, by unit and street), and the
sweeper's page of clocks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gridops.auth.actor import Actor
from gridops.auth.scope import scope_clause
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.schemas import BoardGroup, BoardIncident, SlaBoard
from gridops.clock.service import state_of
from gridops.clock.working import Basis
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


# What the sweeper reads of a clock: enough for its decisions, its events and its messages.
SWEEP_COLUMNS = (SlaClock.id, SlaClock.incident_id, SlaClock.kind, SlaClock.round,
                 SlaClock.basis, SlaClock.limit_minutes, SlaClock.started_at, SlaClock.due_at,
                 SlaClock.due_soon_at, SlaClock.unit_code, SlaClock.warned_at,
                 SlaClock.escalation_level)


class Swept(NamedTuple):
    """A row of `sweep_page`, read by name cheaply: the sweeper reads a dozen fields of each of
    thousands of clocks, and a Row's attribute lookup costs ~15 times a tuple's."""

    id: uuid.UUID
    incident_id: uuid.UUID
    kind: str
    round: int
    basis: Basis
    limit_minutes: float
    started_at: datetime
    due_at: datetime
    due_soon_at: datetime
    unit_code: str | None
    warned_at: datetime | None
    escalation_level: int
    street_code: str | None  # the owning street office, else the incident's street


def sweep_page(where: ColumnElement[bool], order: InstrumentedAttribute[datetime], batch: int,
               after: tuple[datetime, uuid.UUID] | None) -> Select[*tuple[Any, ...]]:
    """One keyset page of clocks for the sweeper, each with its incident's street, locking both
    rows and skipping any row someone else holds: a clock another sweeper is flagging, or one
    whose incident a request is changing, waits for the next sweep (NO KEY leaves foreign-key
    inserts alone). The keyset also steps over clocks this sweep looked at and left alone."""
    street = func.coalesce(Incident.assigned_street_code, Incident.street_code)
    query: Select[*tuple[Any, ...]] = (
        select(*SWEEP_COLUMNS, street.label("street_code"))
        .join(Incident, Incident.id == SlaClock.incident_id)
        .where(where).order_by(order, SlaClock.id).limit(batch)
        .with_for_update(skip_locked=True, key_share=True, of=(SlaClock, Incident)))
    if after is not None:
        query = query.where(tuple_(order, SlaClock.id) > tuple_(*after))
    return query
