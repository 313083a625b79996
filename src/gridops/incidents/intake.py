"""Intake (受理): the one way an incident comes into being, whatever the channel.

Place first (GPS point → grid; else the grid code sent; else a place name in the address or
text, best effort; else none), then the router, then the state: dispatched with both deadlines
running when the router is sure, triage when it is not, resolved when a grid worker fixed it on
the spot (就地解决). Every incident is written with its `incident.received` event; an incident
the router dispatches also gets `incident.dispatched` (triage → dispatched, by the router), so
every dispatch, automatic or by hand, is one event of the same name.

`receive_many` takes a batch (the 12345 webhook's new orders, or one report): places and routes
each from the cached grid index and compiled rule table, flags possible duplicates with one
query, and writes everything with `inserts` (one statement on PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from gridops.audit import service as audit
from gridops.auth.actor import Actor, Role
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.policy import ClockState
from gridops.errors import Conflict, Forbidden, Invalid
from gridops.incidents import duplicates, hotline_updates, inserts, storage
from gridops.incidents.models import Attachment, Incident
from gridops.incidents.schemas import OPEN_STATES, IncidentIn
from gridops.places import service as places
from gridops.places.geo import GridIndex
from gridops.places.models import Grid
from gridops.routing import service as routing
from gridops.routing.rules import Decision, Hints
from gridops.settings import Settings

HOTLINE = "hotline_12345"
_CLOCK_FIELDS = tuple(ClockState.__dataclass_fields__)


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


async def locate(session: AsyncSession, data: IncidentIn,
                 index: GridIndex | None = None) -> Place:
    """Where the incident is, from the most to the least reliable evidence."""
    index = index or await places.current_index(session)
    if data.location is not None:
        hit = index.locate(data.location.lat, data.location.lon)
        if hit is not None:
            return Place(hit.grid_code, hit.community_code, hit.street_code, "gps")
    if data.grid_code:
        return await _grid(session, data.grid_code)
    for text in (data.address, data.title, data.text):
        if text and (found := index.locate_address(text)) is not None:
            return Place(None, found.community_code, found.street_code, "address")
    return Place()


async def _place_for(session: AsyncSession, data: IncidentIn, actor: Actor,
                     index: GridIndex) -> Place:
    """A grid worker reports from their own grid only (403 otherwise); with no point and no
    grid code, their grid is where they are."""
    if actor.role is not Role.grid_worker:
        return await locate(session, data, index)
    if data.grid_code and data.grid_code != actor.grid_code:
        raise Forbidden(f"grid {data.grid_code} is not your grid")
    place = await locate(session, data, index)
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


def _routed_text(data: IncidentIn) -> str:
    return "。".join(t for t in (data.title, data.text) if t)


@dataclass(frozen=True, slots=True)
class NewIncident:
    """One report to receive, and where it came from."""

    data: IncidentIn
    channel: str
    external_id: str | None = None
    external_version: int | None = None
    photos: Sequence[storage.Upload] = ()
    # The hotline's own times (when it took the call, its 办结时限): stored and shown, never
    # used for gridops' clocks.
    source_received_at: datetime | None = None
    source_deadline: datetime | None = None


@dataclass(slots=True)
class Received:
    """A new incident as written: its row (every column), its clocks and attachments, so its
    view needs no reload."""

    row: dict[str, Any]
    clocks: list[ClockState] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def id(self) -> uuid.UUID:
        return cast(uuid.UUID, self.row["id"])


@dataclass(slots=True)
class _Draft:
    new: NewIncident
    place: Place
    decision: Decision
    received: Received

    @property
    def row(self) -> dict[str, Any]:
        return self.received.row

    @property
    def routed(self) -> bool:
        return bool(self.row["state"] == "dispatched")


async def receive(session: AsyncSession, data: IncidentIn, *, actor: Actor, now: datetime,
                  cal: WorkingCalendar, settings: Settings, channel: str,
                  external_id: str | None = None, external_version: int | None = None,
                  photos: Sequence[storage.Upload] = (),
                  store: storage.Storage | None = None,
                  source_received_at: datetime | None = None,
                  source_deadline: datetime | None = None) -> Incident:
    """Create, place, route and (when sure) dispatch one incident; flush, never commit. 409
    when its (channel, external_id) was received before. The incident is in the session."""
    [received] = await receive_many(
        session, [NewIncident(data, channel, external_id, external_version, photos,
                              source_received_at, source_deadline)],
        actor=actor, now=now, cal=cal, settings=settings, store=store)
    if received is None:
        existing = await session.scalar(select(Incident.id).where(
            Incident.channel == channel, Incident.external_id == external_id))
        raise Conflict(f"{channel} order {external_id} was already received",
                       incident_id=str(existing))
    # Written without the unit of work: attached as if loaded, so later changes are UPDATEs.
    incident = Incident(**received.row)
    make_transient_to_detached(incident)
    session.add(incident)
    return incident


async def receive_many(session: AsyncSession, news: Sequence[NewIncident], *, actor: Actor,
                       now: datetime, cal: WorkingCalendar, settings: Settings,
                       store: storage.Storage | None = None) -> list[Received | None]:
    """Receive `news` in the order given (an earlier one can be a later one's possible
    duplicate, as when they come one by one); flush, never commit. None for an incident whose
    (channel, external_id) is stored already (another delivery of a hotline order): nothing of
    it is written."""
    for new in news:
        if new.data.resolved_on_spot and actor.role is not Role.grid_worker:
            raise _invalid("resolved_on_spot", "only a grid worker reports 就地解决")
    index = await places.current_index(session)
    located = [await _place_for(session, new.data, actor, index) for new in news]
    rules = await routing.active_rules(session)
    threshold = settings.routing.triage_threshold
    drafts = []
    for new, place in zip(news, located, strict=True):
        data = new.data
        # A located grid always comes with its street, so the router needs no look-up.
        hints = Hints(channel=new.channel, grid_code=place.grid_code,
                      street_code=place.street_code, item_code_hint=data.item_code_hint,
                      category=data.category)
        decision = rules.decide(_routed_text(data), hints, threshold)
        drafts.append(_Draft(new, place, decision, Received(
            _row(new, decision, place, actor=actor, now=now))))
    await _flag_duplicates(session, drafts, now=now, settings=settings)
    for draft in drafts:
        if draft.routed:
            draft.received.clocks = _start_clocks(draft, now=now, cal=cal, settings=settings)
    if len(drafts) == 1 or all(d.row["external_id"] is None for d in drafts):
        written = await _write(session, drafts, actor=actor, now=now, store=store)
        return [d.received if d.received.id in written else None for d in drafts]
    # An order another delivery stored meanwhile is skipped. Had a later order of the batch been
    # flagged as its possible duplicate, the batch is received again without it.
    savepoint = await session.begin_nested()
    written = await _write(session, drafts, actor=actor, now=now, store=store)
    skipped = {str(d.received.id) for d in drafts if d.received.id not in written}
    if skipped and any(skipped.intersection(d.row["possible_duplicates"]) for d in drafts):
        await savepoint.rollback()
        again = iter(await receive_many(
            session, [d.new for d in drafts if d.received.id in written], actor=actor,
            now=now, cal=cal, settings=settings, store=store))
        return [next(again) if d.received.id in written else None for d in drafts]
    await savepoint.commit()
    return [d.received if d.received.id in written else None for d in drafts]


async def _write(session: AsyncSession, drafts: list[_Draft], *, actor: Actor, now: datetime,
                 store: storage.Storage | None) -> set[uuid.UUID]:
    """Every row of the drafts; returns the ids of the incidents written."""
    rows = inserts.Rows(incidents=[d.row for d in drafts])
    if not any(d.new.photos for d in drafts):
        return await inserts.insert_all(session, _children(drafts, rows, actor=actor, now=now))
    # Attachment rows reference their incident: the incidents go first.
    if store is None:
        raise RuntimeError("photos given without a storage")
    written = await inserts.insert_incidents(session, rows.incidents)
    kept = [d for d in drafts if d.received.id in written]
    for draft in kept:
        if draft.new.photos:
            draft.received.attachments = await storage.save(
                session, store, draft.received.id, draft.new.photos, purpose="report",
                actor=actor, now=now)
    await inserts.insert_children(session, _children(kept, inserts.Rows(), actor=actor,
                                                     now=now))
    return written


def _row(new: NewIncident, decision: Decision, place: Place, *, actor: Actor,
         now: datetime) -> dict[str, Any]:
    """The incident's row, every column."""
    data, item, reporter, location = new.data, decision.item, new.data.reporter, \
        new.data.location
    on_spot = data.resolved_on_spot
    routed = not on_spot and not decision.needs_triage
    return {
        "id": uuid.uuid4(), "channel": new.channel, "external_id": new.external_id,
        "external_version": new.external_version, "title": data.title, "text": data.text,
        "address": data.address, "lat": location.lat if location else None,
        "lon": location.lon if location else None, "grid_code": place.grid_code,
        "community_code": place.community_code, "street_code": place.street_code,
        "item_hint": data.item_code_hint, "source_category": data.category,
        "source_kind": data.source_kind, "source_received_at": new.source_received_at,
        "source_deadline": new.source_deadline, "item_code": decision.item_code,
        "item_name": item.name if item else None, "kind": item.kind if item else None,
        "level": item.level if item else None,
        # The grid fixed it, not the unit the item would go to: no unit is credited or blamed.
        "unit_code": None if on_spot else decision.unit_code,
        "assigned_street_code": None if on_spot else decision.street_code,
        "co_units": list(item.co_units) if item else [], "urgency": _urgency(data, decision),
        "ruleset_version": decision.ruleset_version, "routing": decision_dict(decision),
        "confidence": decision.confidence,
        # Inserted in its final state, so a new incident starts at version 1.
        "state": "resolved" if on_spot else "dispatched" if routed else "triage",
        "prior_state": None, "version": 1,
        "reporter_name": reporter.name if reporter else None,
        "reporter_phone": reporter.phone if reporter else None,
        "reporter_confidential": reporter.confidential if reporter else False,
        "created_by": actor.subject, "resolved_on_spot": on_spot,
        "resolution_text": data.text if on_spot else None, "callback_resolved": None,
        "callback_satisfaction": None, "callback_comment": None, "rework_count": 0,
        "return_count": 0, "extension_count": 0, "merged_into_id": None,
        "possible_duplicates": [], "created_at": now, "updated_at": now,
        "dispatched_at": now if routed else None, "accepted_at": None,
        "resolved_at": now if on_spot else None, "closed_at": None,
    }


def _urgency(data: IncidentIn, decision: Decision) -> str:
    if data.urgent is not None:
        return "urgent" if data.urgent else "normal"
    return "urgent" if decision.item is not None and decision.item.urgency == "urgent" \
        else "normal"


async def _flag_duplicates(session: AsyncSession, drafts: list[_Draft], *, now: datetime,
                           settings: Settings) -> None:
    """Stored possible duplicates of every draft in one query; an earlier draft of the batch
    counts as stored (created now), as it would be had the reports come one by one."""
    cfg = settings.duplicates
    probes = [duplicates.Probe(d.row["item_code"], d.row["lat"], d.row["lon"],
                               d.row["reporter_phone"]) for d in drafts]
    stored = await duplicates.find_many(session, probes, now=now, settings=cfg)
    earlier: dict[str, list[dict[str, Any]]] = {}
    for draft, probe, hits in zip(drafts, probes, stored, strict=True):
        row = draft.row
        if probe.item_code is None:
            continue
        same_item = earlier.setdefault(probe.item_code, [])
        hits = hits + [(now, other["id"]) for other in same_item
                       if probe.near(other["lat"], other["lon"], cfg.radius_m)
                       or (probe.phone and other["reporter_phone"] == probe.phone)]
        hits.sort(reverse=True)
        row["possible_duplicates"] = [str(i) for _, i in hits[:duplicates.MAX_FLAGGED]]
        if row["state"] in OPEN_STATES:
            same_item.append(row)


def _start_clocks(draft: _Draft, *, now: datetime, cal: WorkingCalendar,
                  settings: Settings) -> list[ClockState]:
    """The router's dispatch: both deadlines start now, from the item standard. What
    `clock.start` does for round 1, without its look-ups: a new incident has no clocks yet."""
    item = draft.decision.item
    assert item is not None
    urgent = draft.row["urgency"] == "urgent"
    states = []
    for kind in ("sign", "resolve"):
        basis, minutes = policy.limit_for(item, kind, urgent=urgent)
        states.append(policy.start(kind, basis=basis, limit_minutes=minutes, now=now, cal=cal,
                                   due_soon_share=settings.sla.due_soon_share,
                                   unit_code=draft.row["unit_code"]))
    return states


def _children(drafts: Sequence[_Draft], rows: inserts.Rows, *, actor: Actor,
              now: datetime) -> inserts.Rows:
    """Clocks, audit events and hotline updates of the drafts, added to `rows`."""
    entries = []
    for draft in drafts:
        row, incident_id = draft.row, draft.received.id
        on_spot = row["resolved_on_spot"]
        entries.append(audit.Entry(
            incident_id, "incident.received", to_state="resolved" if on_spot else "triage",
            note="就地解决" if on_spot else None,
            changes={"channel": row["channel"], "external_id": row["external_id"],
                     "place": draft.place.as_dict(), "decision": row["routing"],
                     "urgency": row["urgency"], "possible_duplicates": row["possible_duplicates"],
                     "attachments": storage.described(draft.received.attachments)}))
        if not draft.routed:
            continue
        rows.clocks += [{"id": uuid.uuid4(), "incident_id": incident_id,
                         **{name: getattr(state, name) for name in _CLOCK_FIELDS}}
                        for state in draft.received.clocks]
        due = draft.received.clocks[-1].due_at
        entries.append(audit.Entry(
            incident_id, "incident.dispatched", from_state="triage", to_state="dispatched",
            note="自动派单 (router)",
            changes={"unit_code": [None, row["unit_code"]],
                     "assigned_street_code": [None, row["assigned_street_code"]],
                     "item_code": [None, row["item_code"]], "by": "router",
                     "resolve_due_at": due.isoformat()}))
        if row["channel"] == HOTLINE:
            rows.messages.append(_hotline_update(row, due, now))
    rows.events += audit.chained_rows(entries, actor=actor, at=now)
    return rows


def _hotline_update(row: dict[str, Any], resolve_due_at: datetime,
                    now: datetime) -> dict[str, Any]:
    """The 12345 platform hears of the dispatch (`outbox.enqueue`'s row; `unit_name` is filled
    in when written)."""
    return {"event_id": uuid.uuid4(), "topic": hotline_updates.TOPIC,
            "ordering_key": str(row["id"]), "incident_id": row["id"], "state": "pending",
            "attempts": 0, "last_error": None, "created_at": now, "available_at": now,
            "delivered_at": None,
            "payload": hotline_updates.payload(
                order_no=row["external_id"], incident_id=str(row["id"]), event="dispatched",
                state=row["state"], at=now, unit_code=row["unit_code"], unit_name=None,
                note=None, resolve_due_at=resolve_due_at,
                source_deadline=row["source_deadline"])}
