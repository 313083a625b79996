"""Getting the order to the right unit: dispatch, sign-for (签收), return (退单),
redispatch (改派)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clock
from gridops.incidents.action_schemas import (
    ActionIn,
    DispatchIn,
    RedispatchIn,
    ReturnDecisionIn,
    ReturnIn,
)
from gridops.incidents.actions.base import (
    Ctx,
    begin,
    cancel_pending,
    decide,
    finish,
    hand_over,
    notify,
    open_clock_kinds,
    pending_request,
    route_to,
    snapshot,
    start_clock,
    transition,
)
from gridops.incidents.lifecycle import Action
from gridops.incidents.models import Incident, IncidentRequest
from gridops.routing.rules import ItemStandard

ALL_REQUESTS = {"return", "extension", "suspension"}


async def dispatch(session: AsyncSession, incident_id: uuid.UUID, data: DispatchIn,
                   ctx: Ctx) -> Incident:
    """From triage to a unit. A first dispatch starts the sign-for and resolve clocks; after an
    approved return the running clocks pass to the new unit unchanged."""
    incident = await begin(session, incident_id, Action.dispatch, ctx)
    before = snapshot(incident)
    item = await route_to(session, incident, ctx, unit_code=data.unit_code,
                          street_code=data.street_code, item_code=data.item_code,
                          co_units=data.co_units, source="triage")
    if data.urgent is not None:
        incident.urgency = "urgent" if data.urgent else "normal"
    transition(incident, Action.dispatch)
    incident.dispatched_at = ctx.now
    handovers = await _clocks_follow(session, incident, item, ctx)
    await finish(session, incident, ctx, "dispatched", before=before, note=data.note,
                 extra={"handovers": handovers} if handovers else None)
    await notify(session, incident, ctx, "dispatched", data.note)
    return incident


async def _clocks_follow(session: AsyncSession, incident: Incident, item: ItemStandard,
                         ctx: Ctx) -> list[dict[str, object]]:
    """Hand running clocks to the unit now holding the order; start those not running."""
    running = await open_clock_kinds(session, incident.id)
    handovers = await hand_over(session, incident, ctx) if running else []
    for kind in ("sign", "resolve"):
        if kind not in running:
            await start_clock(session, incident, item, ctx, kind)
    return handovers


async def accept(session: AsyncSession, incident_id: uuid.UUID, data: ActionIn,
                 ctx: Ctx) -> Incident:
    incident = await begin(session, incident_id, Action.accept, ctx)
    before = snapshot(incident)
    transition(incident, Action.accept)
    incident.accepted_at = ctx.now
    await clock.stop(session, incident.id, "sign", ctx.now, ctx.cal)
    # Signing for the order withdraws a return the unit asked for.
    await cancel_pending(session, incident, ctx, {"return"}, "withdrawn: the unit signed for it")
    await finish(session, incident, ctx, "accepted", before=before, note=data.note)
    await notify(session, incident, ctx, "accepted", data.note)
    return incident


async def request_return(session: AsyncSession, incident_id: uuid.UUID, data: ReturnIn,
                         ctx: Ctx) -> IncidentRequest:
    incident = await begin(session, incident_id, Action.request_return, ctx)
    request = IncidentRequest(id=uuid.uuid4(), incident_id=incident.id, kind="return",
                              state="pending", unit_code=incident.unit_code, reason=data.reason,
                              requested_by=ctx.actor.subject, requested_at=ctx.now)
    session.add(request)
    await finish(session, incident, ctx, "return_requested", before=snapshot(incident),
                 note=data.reason, extra={"request_id": str(request.id)})
    return request


async def decide_return(session: AsyncSession, incident_id: uuid.UUID, data: ReturnDecisionIn,
                        ctx: Ctx) -> Incident:
    """Approved: back to triage, or straight to `unit_code`; the clocks keep running and the
    time so far stays the returning unit's. Rejected: the unit keeps the order."""
    incident = await begin(session, incident_id, Action.decide_return, ctx)
    request = await pending_request(session, incident.id, "return")
    decide(request, data.approve, ctx, data.note)
    before = snapshot(incident)
    extra: dict[str, object] = {"request_id": str(request.id)}
    if not data.approve:
        await finish(session, incident, ctx, "return_rejected", before=before, note=data.note,
                     extra=extra)
        return incident
    incident.return_count += 1
    held_by = incident.unit_code
    incident.unit_code, incident.assigned_street_code, incident.co_units = None, None, []
    transition(incident, Action.decide_return, "to_triage")
    extra["handovers"] = await hand_over(session, incident, ctx)
    await finish(session, incident, ctx, "return_approved", before=before, note=data.note,
                 extra=extra | {"returned_by": held_by})
    await notify(session, incident, ctx, "returned", data.note)
    if data.unit_code:
        await _redispatch(session, incident, ctx, data.unit_code, data.street_code,
                          data.item_code, [], data.note, source="return")
    return incident


async def redispatch(session: AsyncSession, incident_id: uuid.UUID, data: RedispatchIn,
                     ctx: Ctx) -> Incident:
    incident = await begin(session, incident_id, Action.redispatch, ctx)
    await _redispatch(session, incident, ctx, data.unit_code, data.street_code, data.item_code,
                      data.co_units, data.reason, source="redispatch")
    return incident


async def _redispatch(session: AsyncSession, incident: Incident, ctx: Ctx, unit_code: str,
                      street_code: str | None, item_code: str | None, co_units: list[str],
                      note: str | None, *, source: str) -> None:
    """改派: the new unit inherits the running deadlines and must sign for the order anew."""
    before = snapshot(incident)
    item = await route_to(session, incident, ctx, unit_code=unit_code, street_code=street_code,
                          item_code=item_code, co_units=co_units, source=source)
    # Bypass the table for the second step of an approved return (triage → dispatched).
    incident.state = "dispatched"
    incident.dispatched_at = ctx.now
    await cancel_pending(session, incident, ctx, ALL_REQUESTS, f"lapsed: order {source}")
    handovers = await _clocks_follow(session, incident, item, ctx)
    await finish(session, incident, ctx, "redispatched", before=before, note=note,
                 extra={"handovers": handovers, "source": source})
    await notify(session, incident, ctx, "dispatched", note)
