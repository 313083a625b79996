"""Read side of incidents: one incident in scope, the filtered and sorted list with a keyset
cursor, the views (clocks, attachments, masked reporter) and the audit timeline."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Literal, cast

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import Actor
from gridops.auth.scope import in_scope, scope_clause
from gridops.clock import service as clock
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.policy import ClockState
from gridops.db import UTCDateTime
from gridops.errors import Forbidden, Invalid, NotFound
from gridops.incidents.models import Attachment, Incident
from gridops.incidents.schemas import IncidentOut

SortKey = Literal["created_at", "updated_at", "due"]
Order = Literal["asc", "desc"]
# Incidents without a running deadline sort after all others, in both directions.
_NO_DUE = {"asc": datetime(9999, 12, 31, tzinfo=UTC), "desc": datetime(1970, 1, 1, tzinfo=UTC)}


def visible(actor: Actor, incident: Incident) -> bool:
    return in_scope(actor, unit_code=incident.unit_code, street_code=incident.street_code,
                    community_code=incident.community_code, grid_code=incident.grid_code,
                    assigned_street_code=incident.assigned_street_code)


async def get_visible(session: AsyncSession, incident_id: uuid.UUID, actor: Actor) -> Incident:
    """The incident, 404 when unknown, 403 when outside the actor's scope."""
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    if not visible(actor, incident):
        raise Forbidden("this incident is outside your scope")
    return incident


async def views(session: AsyncSession, incidents: Sequence[Incident], *, actor: Actor,
                now: datetime, cal: WorkingCalendar, due_soon_share: float,
                ) -> list[IncidentOut]:
    """Incidents as `actor` may see them, with their clocks and attachments (two queries)."""
    ids = [i.id for i in incidents]
    clocks = await clock.views_for(session, ids, now, cal, due_soon_share)
    files: dict[uuid.UUID, list[Attachment]] = {}
    if ids:
        for a in await session.scalars(select(Attachment).where(Attachment.incident_id.in_(ids))
                                       .order_by(Attachment.created_at, Attachment.id)):
            files.setdefault(a.incident_id, []).append(a)
    return [IncidentOut.build(i, actor=actor, clocks=clocks.get(i.id, []),
                              attachments=files.get(i.id, [])) for i in incidents]


async def view(session: AsyncSession, incident: Incident, *, actor: Actor, now: datetime,
               cal: WorkingCalendar, due_soon_share: float) -> IncidentOut:
    return (await views(session, [incident], actor=actor, now=now, cal=cal,
                        due_soon_share=due_soon_share))[0]


def fresh_view(row: Mapping[str, Any], clocks: Sequence[ClockState],
               attachments: Sequence[Attachment], *, actor: Actor, now: datetime,
               cal: WorkingCalendar, due_soon_share: float) -> IncidentOut:
    """`view` of an incident written in this transaction, from its row (every column) and
    running clocks in hand: no reload, no mapped instances. Same order as `views`: sign before
    resolve, by round."""
    shown = sorted(clocks, key=lambda c: c.round)
    shown.sort(key=lambda c: c.kind, reverse=True)
    files = sorted(attachments, key=lambda a: (a.created_at, a.id))
    # `build` and `clock.view` only read attributes, which a namespace and a state provide.
    return IncidentOut.build(
        cast(Incident, SimpleNamespace(**row)), actor=actor,
        clocks=[clock.view(cast(SlaClock, c), now, cal, due_soon_share) for c in shown],
        attachments=files)


@dataclass(frozen=True, slots=True)
class Filters:
    state: Sequence[str] = ()
    unit: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    item: str | None = None
    channel: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None


def _open_clock(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(SlaClock.incident_id == Incident.id, SlaClock.outcome.is_(None),
                          *conditions)


def _conditions(f: Filters, now: datetime) -> list[ColumnElement[bool]]:
    c: list[ColumnElement[bool]] = []
    equal = {"unit": Incident.unit_code, "community": Incident.community_code,
             "grid": Incident.grid_code, "item": Incident.item_code,
             "channel": Incident.channel, "urgency": Incident.urgency}
    for name, column in equal.items():
        value = getattr(f, name)
        if value is not None:
            c.append(column == value)
    if f.state:
        c.append(Incident.state.in_(list(f.state)))
    if f.street is not None:
        # The place's street, or the street office that owns an STR order.
        c.append(or_(Incident.street_code == f.street, Incident.assigned_street_code == f.street))
    if f.overdue is not None:
        late = _open_clock(SlaClock.paused_at.is_(None), SlaClock.due_at < now)
        c.append(late if f.overdue else ~late)
    if f.due_before is not None:
        c.append(_open_clock(SlaClock.due_at < f.due_before))
    if f.created_from is not None:
        c.append(Incident.created_at >= f.created_from)
    if f.created_to is not None:
        c.append(Incident.created_at < f.created_to)
    if f.q:
        c.append(or_(Incident.text.contains(f.q, autoescape=True),
                     Incident.title.contains(f.q, autoescape=True),
                     Incident.address.contains(f.q, autoescape=True)))
    return c


def _sort_column(sort: SortKey, order: Order) -> ColumnElement[datetime]:
    if sort == "created_at":
        return Incident.created_at  # type: ignore[return-value]
    if sort == "updated_at":
        return Incident.updated_at  # type: ignore[return-value]
    next_due = (select(func.min(SlaClock.due_at))
                .where(SlaClock.incident_id == Incident.id, SlaClock.outcome.is_(None))
                .correlate(Incident).scalar_subquery())
    return func.coalesce(next_due, literal(_NO_DUE[order], UTCDateTime()),
                         type_=UTCDateTime())


@dataclass(frozen=True, slots=True)
class Cursor:
    sort: str
    order: str
    value: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps([self.sort, self.order, self.value.isoformat(), str(self.id)])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str, order: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            s, o, value, ident = json.loads(raw)
            cursor = cls(str(s), str(o), datetime.fromisoformat(value), uuid.UUID(ident))
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
            raise _bad_cursor("not a cursor of this list") from None
        if cursor.value.tzinfo is None:
            raise _bad_cursor("not a cursor of this list")
        if (cursor.sort, cursor.order) != (sort, order):
            raise _bad_cursor(f"cursor was made for sort={cursor.sort}&order={cursor.order}")
        return cursor


def _bad_cursor(msg: str) -> Invalid:
    return Invalid(msg, errors=[{"loc": ["query", "cursor"], "msg": msg, "type": "value_error"}])


def _after(key: ColumnElement[datetime], order: Order, cursor: Cursor) -> ColumnElement[bool]:
    if order == "asc":
        return or_(key > cursor.value, and_(key == cursor.value, Incident.id > cursor.id))
    return or_(key < cursor.value, and_(key == cursor.value, Incident.id < cursor.id))


def list_query(actor: Actor, f: Filters, *, now: datetime, sort: SortKey, order: Order,
               cursor: Cursor | None, limit: int) -> Select[Incident, datetime]:
    key = _sort_column(sort, order).label("sort_key")
    query = select(Incident, key).where(scope_clause(actor, Incident), *_conditions(f, now))
    if cursor is not None:
        query = query.where(_after(key, order, cursor))
    if order == "asc":
        query = query.order_by(key.asc(), Incident.id.asc())
    else:
        query = query.order_by(key.desc(), Incident.id.desc())
    return query.limit(limit + 1)


async def page(session: AsyncSession, actor: Actor, f: Filters, *, now: datetime,
               sort: SortKey, order: Order, cursor: str | None,
               limit: int) -> tuple[list[Incident], str | None]:
    """One page of incidents in the actor's scope, and the cursor of the next page."""
    after = Cursor.decode(cursor, sort, order) if cursor else None
    result = await session.execute(list_query(actor, f, now=now, sort=sort, order=order,
                                              cursor=after, limit=limit))
    rows = [(incident, value) for incident, value in result]
    more = len(rows) > limit
    rows = rows[:limit]
    incidents = [incident for incident, _ in rows]
    next_cursor = None
    if more and rows:
        last, value = rows[-1]
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        next_cursor = Cursor(sort, order, value, last.id).encode()
    return incidents, next_cursor


async def timeline(session: AsyncSession, incident_id: uuid.UUID) -> list[AuditEvent]:
    return list((await session.scalars(
        select(AuditEvent).where(AuditEvent.stream == audit.stream_of(incident_id))
        .order_by(AuditEvent.seq))).all())
