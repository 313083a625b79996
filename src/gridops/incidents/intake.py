"""Intake (受理): the one way an incident comes into being, whatever the channel.

Place first (GPS point → grid; else the grid code sent; else a place name in the address or
text, best effort; else none), then the router, then the state: dispatched with both deadlines
running when the router is sure, triage when it is not, resolved when a grid worker fixed it on
the spot (就地解决). Every incident is written with its `incident.received` event; an incident
the router dispatches also gets `incident.dispatched` (triage → dispatched, by the router), so
every dispatch, automatic or by hand, is one event of the same name.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.auth.actor import Actor, Role
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.errors import Conflict, Forbidden, Invalid
from gridops.incidents import duplicates, storage
from gridops.incidents.models import Attachment, Incident
from gridops.incidents.schemas import IncidentIn
from gridops.outbox import service as outbox
from gridops.places import service as places
from gridops.places.models import Grid, Unit
from gridops.routing import service as routing
from gridops.routing.rules import Decision, Hints
from gridops.settings import Settings

HOTLINE = "hotline_12345"
_CLOCK_FIELDS = tuple(f.name for f in dataclasses.fields(policy.ClockState))


@dataclass(frozen=True, slots=True)
class Place:
    grid_code: str | None = None
    community_code: str | None = None
    street_code: str | None = None
    source: str | None = None  # gps | grid_code | address | worker | None

    def as_dict(self) -> dict[str, str | None]:
        return {"grid_code": self.grid_code, "community_code": self.community_code,
                "street_code": self.street_code, "source": self.source}


def _invalid(field: str, msg: str) -> Invalid:
    return Invalid(msg, errors=[{"loc": ["body", field], "msg": msg, "type": "value_error"}])


async def _grid(session: AsyncSession, code: str) -> Place:
    row = (await session.execute(select(Grid.code, Grid.community_code, Grid.street_code)
                                 .where(Grid.code == code))).first()
    if row is None:
        raise _invalid("grid_code", f"unknown grid {code}")
    return Place(row.code, row.community_code, row.street_code, "grid_code")


async def locate(session: AsyncSession, data: IncidentIn) -> Place:
    """Where the incident is, from the most to the least reliable evidence."""
    if data.location is not None:
        hit = await places.locate(session, data.location.lat, data.location.lon)
        if hit is not None:
            return Place(hit.grid_code, hit.community_code, hit.street_code, "gps")
    if data.grid_code:
        return await _grid(session, data.grid_code)
    index = await places.current_index(session)
    for text in (data.address, data.title, data.text):
        if text and (found := index.locate_address(text)) is not None:
            return Place(None, found.community_code, found.street_code, "address")
    return Place()


async def _place_for(session: AsyncSession, data: IncidentIn, actor: Actor) -> Place:
    """A grid worker reports from their own grid only (403 otherwise); with no point and no
    grid code, their grid is where they are."""
    if actor.role is not Role.grid_worker:
        return await locate(session, data)
    if data.grid_code and data.grid_code != actor.grid_code:
        raise Forbidden(f"grid {data.grid_code} is not your grid")
    place = await locate(session, data)
    if place.source == "gps" and place.grid_code != actor.grid_code:
        raise Forbidden(f"the point lies in grid {place.grid_code}, not in your grid")
    if place.grid_code is None:
        assert actor.grid_code is not None
        place = Place(**{**(await _grid(session, actor.grid_code)).as_dict(), "source": "worker"})
    return place


def decision_dict(decision: Decision) -> dict[str, Any]:
    """The decision as stored on the incident and in its audit event."""
    item = decision.item
    return {
        "item_code": decision.item_code, "item_name": item.name if item else None,
        "unit_code": decision.unit_code, "street_code": decision.street_code,
        "confidence": decision.confidence, "matched": list(decision.matched),
        "candidates": [{"item_code": c.item_code, "item_name": c.item_name,
                        "unit_code": c.unit_code, "score": c.score}
                       for c in decision.candidates],
        "ruleset_version": decision.ruleset_version, "needs_triage": decision.needs_triage,
        "reasons": list(decision.reasons),
    }


async def _check_external(session: AsyncSession, channel: str, external_id: str | None) -> None:
    if external_id is None:
        return
    existing = await session.scalar(select(Incident.id).where(
        Incident.channel == channel, Incident.external_id == external_id))
    if existing is not None:
        raise Conflict(f"{channel} order {external_id} was already received",
                       incident_id=str(existing))


def _routed_text(data: IncidentIn) -> str:
    return "。".join(t for t in (data.title, data.text) if t)


@dataclass(frozen=True, slots=True)
class Received:
    """A new incident with the rows written beside it, so its view needs no reload."""

    incident: Incident
    clocks: list[SlaClock]
    attachments: list[Attachment]


async def receive(session: AsyncSession, data: IncidentIn, *, actor: Actor, now: datetime,
                  cal: WorkingCalendar, settings: Settings, channel: str,
                  external_id: str | None = None, external_version: int | None = None,
                  photos: Sequence[storage.Upload] = (),
                  store: storage.Storage | None = None) -> Incident:
    """Create, place, route and (when sure) dispatch one incident; flush, never commit."""
    received = await receive_full(session, data, actor=actor, now=now, cal=cal,
                                  settings=settings, channel=channel, external_id=external_id,
                                  external_version=external_version, photos=photos, store=store)
    return received.incident


async def receive_full(session: AsyncSession, data: IncidentIn, *, actor: Actor,
                       now: datetime, cal: WorkingCalendar, settings: Settings, channel: str,
                       external_id: str | None = None, external_version: int | None = None,
                       photos: Sequence[storage.Upload] = (),
                       store: storage.Storage | None = None) -> Received:
    """`receive`, also handing back the clocks and attachments it wrote.

    Round trips are the cost of a create, so the writes are batched: both clocks in one
    INSERT, both audit events in one INSERT (a new incident's chain is empty).
    """
    if data.resolved_on_spot and actor.role is not Role.grid_worker:
        raise _invalid("resolved_on_spot", "only a grid worker reports 就地解决")
    await _check_external(session, channel, external_id)
    place = await _place_for(session, data, actor)
    hints = Hints(channel=channel, grid_code=place.grid_code, street_code=place.street_code,
                  item_code_hint=data.item_code_hint, category=data.category)
    decision = await routing.decide(session, _routed_text(data), hints,
                                    settings.routing.triage_threshold)
    incident = _new_incident(data, decision, place, actor=actor, now=now, channel=channel,
                             external_id=external_id, external_version=external_version)
    incident.possible_duplicates = [str(i) for i in await duplicates.find(
        session, item_code=incident.item_code, lat=incident.lat, lon=incident.lon,
        phone=incident.reporter_phone, now=now, settings=settings.duplicates)]
    routed = not data.resolved_on_spot and not decision.needs_triage
    if data.resolved_on_spot:
        incident.state, incident.resolved_at = "resolved", now
        incident.resolution_text = data.text
        # The grid fixed it, not the unit the item would go to: no unit is credited or blamed.
        incident.unit_code = incident.assigned_street_code = None
    elif routed:
        # Inserted in its final state, so a new incident starts at version 1.
        incident.state, incident.dispatched_at = "dispatched", now
    session.add(incident)
    # Its own flush first: without relationship()s the unit of work does not order the INSERTs
    # by foreign key.
    await session.flush()
    clocks = _start_clocks(incident, decision, now=now, cal=cal, settings=settings) \
        if routed else []
    session.add_all(clocks)
    rows: list[Attachment] = []
    if photos:
        if store is None:
            raise RuntimeError("photos given without a storage")
        rows = await storage.save(session, store, incident, photos, purpose="report",
                                  actor=actor, now=now)
    else:
        await session.flush()
    entries = [audit.Entry(
        incident.id, "incident.received",
        to_state="resolved" if data.resolved_on_spot else "triage",
        note="就地解决" if data.resolved_on_spot else None,
        changes={"channel": channel, "external_id": external_id, "place": place.as_dict(),
                 "decision": incident.routing, "urgency": incident.urgency,
                 "possible_duplicates": incident.possible_duplicates,
                 "attachments": storage.described(rows)})]
    if routed:
        entries.append(_dispatched(incident, clocks[-1]))
    await audit.record_first(session, entries, actor=actor, at=now)
    if routed and incident.channel == HOTLINE:
        await _notify_hotline(session, incident, clocks[-1], now=now)
    return Received(incident, clocks, rows)


def _new_incident(data: IncidentIn, decision: Decision, place: Place, *, actor: Actor,
                  now: datetime, channel: str, external_id: str | None,
                  external_version: int | None) -> Incident:
    item = decision.item
    reporter = data.reporter
    location = data.location
    return Incident(
        id=uuid.uuid4(), channel=channel, external_id=external_id,
        external_version=external_version, title=data.title, text=data.text,
        address=data.address, lat=location.lat if location else None,
        lon=location.lon if location else None, grid_code=place.grid_code,
        community_code=place.community_code, street_code=place.street_code,
        item_hint=data.item_code_hint, source_category=data.category,
        source_kind=data.source_kind, item_code=decision.item_code,
        item_name=item.name if item else None, kind=item.kind if item else None,
        level=item.level if item else None, unit_code=decision.unit_code,
        assigned_street_code=decision.street_code,
        co_units=list(item.co_units) if item else [], urgency=_urgency(data, decision),
        ruleset_version=decision.ruleset_version, routing=decision_dict(decision),
        confidence=decision.confidence, state="triage",
        reporter_name=reporter.name if reporter else None,
        reporter_phone=reporter.phone if reporter else None,
        reporter_confidential=reporter.confidential if reporter else False,
        created_by=actor.subject, resolved_on_spot=data.resolved_on_spot,
        created_at=now, updated_at=now, version=1, prior_state=None, rework_count=0,
        return_count=0, extension_count=0, merged_into_id=None, accepted_at=None,
        closed_at=None, resolved_at=None, dispatched_at=None, resolution_text=None,
        callback_resolved=None, callback_satisfaction=None, callback_comment=None,
    )


def _urgency(data: IncidentIn, decision: Decision) -> str:
    if data.urgent is not None:
        return "urgent" if data.urgent else "normal"
    return "urgent" if decision.item is not None and decision.item.urgency == "urgent" \
        else "normal"


def _start_clocks(incident: Incident, decision: Decision, *, now: datetime,
                  cal: WorkingCalendar, settings: Settings) -> list[SlaClock]:
    """The router's dispatch: both deadlines start now, from the item standard. What
    `clock.start` does for round 1, without its look-ups: a new incident has no clocks yet."""
    assert decision.item is not None
    urgent = incident.urgency == "urgent"
    clocks = []
    for kind in ("sign", "resolve"):
        basis, minutes = policy.limit_for(decision.item, kind, urgent=urgent)
        state = policy.start(kind, basis=basis, limit_minutes=minutes, now=now, cal=cal,
                             due_soon_share=settings.sla.due_soon_share,
                             unit_code=incident.unit_code)
        clocks.append(SlaClock(id=uuid.uuid4(), incident_id=incident.id,
                               **{name: getattr(state, name) for name in _CLOCK_FIELDS}))
    return clocks


def _dispatched(incident: Incident, resolve: SlaClock) -> audit.Entry:
    return audit.Entry(
        incident.id, "incident.dispatched", from_state="triage", to_state="dispatched",
        note="自动派单 (router)",
        changes={"unit_code": [None, incident.unit_code],
                 "assigned_street_code": [None, incident.assigned_street_code],
                 "item_code": [None, incident.item_code], "by": "router",
                 "resolve_due_at": resolve.due_at.isoformat()})


async def _notify_hotline(session: AsyncSession, incident: Incident, resolve: SlaClock, *,
                          now: datetime) -> None:
    unit_name = await session.scalar(select(Unit.name_zh).where(
        Unit.code == incident.unit_code))
    await outbox.enqueue(
        session, "hotline.update",
        {"order_no": incident.external_id, "incident_id": str(incident.id),
         "event": "dispatched", "state": incident.state, "at": now.isoformat(),
         "unit_code": incident.unit_code, "unit_name": unit_name, "note": None,
         "resolve_due_at": resolve.due_at.isoformat()},
        ordering_key=str(incident.id), incident_id=incident.id, now=now)
