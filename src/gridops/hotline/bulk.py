"""The fast path for new orders: a batch's new orders received in a handful of statements.

Receiving one order through `intake.receive` costs about 18 round trips to the database (checks,
place, rules, duplicates, the incident, two clocks each read before written, two audit events each
reading their chain, the unit's name, the outbox). For a batch of new orders this module does the
same work with the pure parts per order (place from the cached grid index, the compiled router,
the clock policy, the audit digest) and one statement per table for the whole batch. The incident
insert skips orders that exist already (ON CONFLICT DO NOTHING on (channel, external_id)), so a
concurrent delivery is never a second incident: the skipped orders go the per-order way and are
answered from the winner's row.

It writes exactly what `intake.receive` writes for a hotline order (tests/hotline/test_bulk.py
compares the two row by row). If anything here fails, the caller rolls back its savepoint and
receives the orders one by one.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.audit.models import AuditEvent
from gridops.auth.actor import HOTLINE
from gridops.clock import policy
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.incidents import duplicates, intake
from gridops.incidents.models import Incident
from gridops.incidents.schemas import OPEN_STATES, IncidentIn
from gridops.outbox.models import OutboxMessage
from gridops.places import service as places
from gridops.places.geo import GridIndex
from gridops.places.models import Unit
from gridops.routing import service as routing
from gridops.routing.rules import Decision, Hints
from gridops.settings import Settings

CHANNEL = "hotline_12345"


@dataclass(slots=True)
class New:
    order_no: str
    version: int
    data: IncidentIn
    place: intake.Place
    decision: Decision
    row: dict[str, Any]


def _place(index: GridIndex, data: IncidentIn) -> intake.Place:
    """`intake.locate` with the index in hand (the hotline sends no grid code)."""
    if data.location is not None:
        hit = index.locate(data.location.lat, data.location.lon)
        if hit is not None:
            return intake.Place(hit.grid_code, hit.community_code, hit.street_code, "gps")
    for text in (data.address, data.title, data.text):
        if text and (found := index.locate_address(text)) is not None:
            return intake.Place(None, found.community_code, found.street_code, "address")
    return intake.Place()


def _row(order_no: str, version: int, data: IncidentIn, place: intake.Place,
         decision: Decision, now: datetime) -> dict[str, Any]:
    item, reporter, location = decision.item, data.reporter, data.location
    routed = not decision.needs_triage
    urgent = data.urgent if data.urgent is not None else (
        item is not None and item.urgency == "urgent")
    return {
        "id": uuid.uuid4(), "channel": CHANNEL, "external_id": order_no,
        "external_version": version, "title": data.title, "text": data.text,
        "address": data.address, "lat": location.lat if location else None,
        "lon": location.lon if location else None, "grid_code": place.grid_code,
        "community_code": place.community_code, "street_code": place.street_code,
        "item_hint": data.item_code_hint, "source_category": data.category,
        "source_kind": data.source_kind, "item_code": decision.item_code,
        "item_name": item.name if item else None, "kind": item.kind if item else None,
        "level": item.level if item else None, "unit_code": decision.unit_code,
        "assigned_street_code": decision.street_code,
        "co_units": list(item.co_units) if item else [],
        "urgency": "urgent" if urgent else "normal",
        "ruleset_version": decision.ruleset_version, "routing": intake.decision_dict(decision),
        "confidence": decision.confidence, "state": "dispatched" if routed else "triage",
        "prior_state": None, "version": 1,
        "reporter_name": reporter.name if reporter else None,
        "reporter_phone": reporter.phone if reporter else None,
        "reporter_confidential": reporter.confidential if reporter else False,
        "created_by": HOTLINE.subject, "resolved_on_spot": False, "resolution_text": None,
        "possible_duplicates": [], "created_at": now, "updated_at": now,
        "dispatched_at": now if routed else None,
    }


async def receive_new(session: AsyncSession, orders: Sequence[tuple[str, int, IncidentIn]], *,
                      now: datetime, cal: WorkingCalendar,
                      settings: Settings) -> dict[str, uuid.UUID]:
    """Receive orders known to be new; returns order_no → incident id of those inserted (an
    order another delivery inserted meanwhile is left out)."""
    index = await places.current_index(session)
    rules = await routing.active_rules(session)
    threshold = settings.routing.triage_threshold
    news = []
    for order_no, version, data in sorted(orders, key=lambda o: o[0]):
        place = _place(index, data)
        hints = Hints(channel=CHANNEL, grid_code=place.grid_code, street_code=place.street_code,
                      item_code_hint=data.item_code_hint, category=data.category)
        text = "。".join(t for t in (data.title, data.text) if t)
        decision = rules.decide(text, hints, threshold)
        news.append(New(order_no, version, data, place, decision,
                        _row(order_no, version, data, place, decision, now)))
    await _flag_duplicates(session, news, now, settings)
    inserted = await _insert(session, [n.row for n in news])
    kept = [n for n in news if n.order_no in inserted]
    await _children(session, kept, now, cal, settings)
    return {n.order_no: n.row["id"] for n in kept}


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    if not rows:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # The table, not the mapped class: a plain executemany, batched by SQLAlchemy into
    # multi-row INSERTs ("insertmanyvalues") from one cached compiled statement.
    table = Incident.__table__
    statement = (dialect.insert(table)
                 .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                 .returning(table.c.external_id))
    result = await session.execute(statement, rows)
    return {r for r in result.scalars().all() if r is not None}


async def _flag_duplicates(session: AsyncSession, news: list[New], now: datetime,
                           settings: Settings) -> None:
    """`duplicates.find` for the whole batch in one query; earlier orders of the batch count too,
    as they would had the orders come one by one."""
    cfg = settings.duplicates
    candidates = [n.row for n in news if n.row["item_code"] is not None]
    if not candidates:
        return
    near, phones = [], {r["reporter_phone"] for r in candidates if r["reporter_phone"]}
    for r in candidates:
        if r["lat"] is not None and r["lon"] is not None:
            dlat = cfg.radius_m / duplicates.METRES_PER_DEG_LAT
            dlon = dlat / max(0.01, math.cos(math.radians(r["lat"])))
            near.append(and_(Incident.item_code == r["item_code"],
                             Incident.lat.between(r["lat"] - dlat, r["lat"] + dlat),
                             Incident.lon.between(r["lon"] - dlon, r["lon"] + dlon)))
    since = now - timedelta(hours=cfg.window_hours)
    conditions = [and_(Incident.created_at >= since, or_(*near))] if near else []
    if phones:
        conditions.append(Incident.reporter_phone.in_(phones))
    found = (await session.execute(
        select(Incident.id, Incident.created_at, Incident.lat, Incident.lon, Incident.item_code,
               Incident.reporter_phone)
        .where(Incident.state.in_(OPEN_STATES),
               Incident.item_code.in_({r["item_code"] for r in candidates}),
               or_(*conditions)))).all()
    pool = _Pool(cfg.radius_m, [r["lat"] for r in candidates if r["lat"] is not None])
    for f in found:
        pool.add(f.id, f.created_at, f.item_code, f.lat, f.lon, f.reporter_phone)
    for r in candidates:
        hits: dict[uuid.UUID, datetime] = {}
        for fid, created, lat, lon in pool.near(r["item_code"], r["lat"], r["lon"]):
            if created >= since and duplicates.haversine_m(r["lat"], r["lon"], lat,
                                                           lon) <= cfg.radius_m:
                hits[fid] = created
        for fid, created in pool.same_phone(r["item_code"], r["reporter_phone"]):
            hits[fid] = created
        ranked = sorted(hits.items(), key=lambda kv: (kv[1], str(kv[0])), reverse=True)
        r["possible_duplicates"] = [str(i) for i, _ in ranked[:duplicates.MAX_FLAGGED]]
        if r["state"] in OPEN_STATES:
            pool.add(r["id"], now, r["item_code"], r["lat"], r["lon"], r["reporter_phone"])


class _Pool:
    """Open incidents by item, in cells one search radius wide (so a neighbour within the radius
    is in the same or an adjacent cell), and by item and phone."""

    def __init__(self, radius_m: float, lats: list[float]) -> None:
        self.dlat = radius_m / duplicates.METRES_PER_DEG_LAT
        widest = min(89.0, max((abs(lat) for lat in lats), default=0.0) + self.dlat)
        self.dlon = self.dlat / max(0.01, math.cos(math.radians(widest)))
        self.cells: dict[tuple[str, int, int], list[tuple[Any, ...]]] = {}
        self.phones: dict[tuple[str, str], list[tuple[uuid.UUID, datetime]]] = {}

    def _cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.dlat), math.floor(lon / self.dlon)

    def add(self, fid: uuid.UUID, created: datetime, item: str, lat: float | None,
            lon: float | None, phone: str | None) -> None:
        if lat is not None and lon is not None:
            i, j = self._cell(lat, lon)
            self.cells.setdefault((item, i, j), []).append((fid, created, lat, lon))
        if phone:
            self.phones.setdefault((item, phone), []).append((fid, created))

    def near(self, item: str, lat: float | None, lon: float | None) -> list[tuple[Any, ...]]:
        if lat is None or lon is None:
            return []
        i, j = self._cell(lat, lon)
        return [e for di in (-1, 0, 1) for dj in (-1, 0, 1)
                for e in self.cells.get((item, i + di, j + dj), ())]

    def same_phone(self, item: str, phone: str | None) -> list[tuple[uuid.UUID, datetime]]:
        return self.phones.get((item, phone), []) if phone else []


_CLOCK_COLUMNS = tuple(f.name for f in dataclasses.fields(policy.ClockState))


def _event(incident_id: uuid.UUID, seq: int, prev: str, action: str, now: datetime, *,
           from_state: str | None, to_state: str | None, note: str | None,
           changes: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "stream": audit.stream_of(incident_id), "seq": seq, "incident_id": incident_id,
        "at": now, "actor_role": HOTLINE.role.value, "actor_unit": HOTLINE.scope_label,
        "actor_subject": HOTLINE.subject, "action": action, "from_state": from_state,
        "to_state": to_state, "note": note, "changes": changes, "prev_hash": prev}
    # `digest` only reads these attributes; a mapped instance would cost more than the hash.
    row["hash"] = audit.digest(cast(AuditEvent, SimpleNamespace(**row)))
    return row


async def _children(session: AsyncSession, kept: list[New], now: datetime,
                    cal: WorkingCalendar, settings: Settings) -> None:
    """Clocks, audit events and outbox messages of the inserted incidents, one statement per
    table. Audit changes hold only JSON values here (what `audit.record` would round-trip)."""
    rows_ = (await session.execute(select(Unit.code, Unit.name_zh))).all()
    names = {r.code: r.name_zh for r in rows_}
    events: list[dict[str, Any]] = []
    clock_rows: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for n in kept:
        r, incident_id = n.row, n.row["id"]
        received = _event(incident_id, 1, audit.GENESIS, "incident.received", now,
                          from_state=None, to_state="triage", note=None, changes={
                              "channel": CHANNEL, "external_id": n.order_no,
                              "place": n.place.as_dict(), "decision": r["routing"],
                              "urgency": r["urgency"],
                              "possible_duplicates": r["possible_duplicates"],
                              "attachments": []})
        events.append(received)
        if r["state"] != "dispatched":
            continue
        item = n.decision.item
        assert item is not None
        clocks = {}
        for kind in ("sign", "resolve"):
            basis, minutes = policy.limit_for(item, kind, urgent=r["urgency"] == "urgent")
            state = policy.start(kind, basis=basis, limit_minutes=minutes, now=now, cal=cal,
                                 due_soon_share=settings.sla.due_soon_share,
                                 unit_code=r["unit_code"], round=1)
            clocks[kind] = state
            clock_rows.append({"id": uuid.uuid4(), "incident_id": incident_id,
                               **{name: getattr(state, name) for name in _CLOCK_COLUMNS}})
        due = clocks["resolve"].due_at
        events.append(_event(incident_id, 2, received["hash"], "incident.dispatched", now,
                           from_state="triage", to_state="dispatched", note="自动派单 (router)",
                           changes={"unit_code": [None, r["unit_code"]],
                                    "assigned_street_code": [None, r["assigned_street_code"]],
                                    "item_code": [None, r["item_code"]], "by": "router",
                                    "resolve_due_at": due.isoformat()}))
        payload = {"order_no": n.order_no, "incident_id": str(incident_id),
                   "event": "dispatched", "state": "dispatched", "at": now.isoformat(),
                   "unit_code": r["unit_code"], "unit_name": names.get(r["unit_code"]),
                   "note": None, "resolve_due_at": due.isoformat()}
        messages.append({"topic": "hotline.update", "ordering_key": str(incident_id),
                         "incident_id": incident_id, "payload": payload, "created_at": now,
                         "available_at": now, "event_id": uuid.uuid4(), "state": "pending",
                         "attempts": 0, "last_error": None, "delivered_at": None})
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (SlaClock.__table__, clock_rows), (AuditEvent.__table__, events),
        (OutboxMessage.__table__, messages)]
    for table, rows in tables:
        if rows:
            await session.execute(insert(table), rows)
