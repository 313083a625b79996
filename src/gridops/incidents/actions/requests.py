"""Time asked by the unit and given by a dispatcher: extension (延期), suspension (挂起), resume."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor
from gridops.auth.scope import scope_clause
from gridops.clock import service as clock
from gridops.errors import Forbidden
from gridops.incidents.action_schemas import (
    ActionIn,
    DecisionIn,
    ExtensionDecisionIn,
    ExtensionIn,
    SuspensionIn,
)
from gridops.incidents.actions.base import (
    Ctx,
    begin,
    decide,
    finish,
    load,
    notify,
    pending_request,
    snapshot,
    transition,
    visible,
)
from gridops.incidents.lifecycle import Action
from gridops.incidents.models import Incident, IncidentRequest


async def _ask(session: AsyncSession, incident_id: uuid.UUID, action: Action, kind: str,
               reason: str, ctx: Ctx, hours: float | None = None) -> IncidentRequest:
    incident = await begin(session, incident_id, action, ctx)
    request = IncidentRequest(id=uuid.uuid4(), incident_id=incident.id, kind=kind,
                              state="pending", unit_code=incident.unit_code, reason=reason,
                              hours=hours, requested_by=ctx.actor.subject, requested_at=ctx.now)
    session.add(request)
    extra: dict[str, object] = {"request_id": str(request.id)}
    if hours is not None:
        extra["hours"] = hours
    await finish(session, incident, ctx, f"{kind}_requested", before=snapshot(incident),
                 note=reason, extra=extra)
    return request


async def request_extension(session: AsyncSession, incident_id: uuid.UUID, data: ExtensionIn,
                            ctx: Ctx) -> IncidentRequest:
    return await _ask(session, incident_id, Action.request_extension, "extension", data.reason,
                      ctx, hours=data.hours)


async def request_suspension(session: AsyncSession, incident_id: uuid.UUID, data: SuspensionIn,
                             ctx: Ctx) -> IncidentRequest:
    return await _ask(session, incident_id, Action.request_suspension, "suspension", data.reason,
                      ctx)


async def decide_extension(session: AsyncSession, incident_id: uuid.UUID,
                           data: ExtensionDecisionIn, ctx: Ctx) -> Incident:
    """Approved: the resolve deadline moves by the hours granted (default: asked)."""
    incident = await begin(session, incident_id, Action.decide_extension, ctx)
    request = await pending_request(session, incident.id, "extension")
    decide(request, data.approve, ctx, data.note)
    before = snapshot(incident)
    extra: dict[str, object] = {"request_id": str(request.id)}
    if not data.approve:
        await finish(session, incident, ctx, "extension_rejected", before=before, note=data.note,
                     extra=extra)
        return incident
    asked = request.hours or 0.0
    granted = data.hours or asked
    request.hours = granted
    incident.extension_count += 1
    moved = await clock.extend(session, incident.id, granted, ctx.now, ctx.cal,
                               ctx.settings.sla.due_soon_share)
    extra |= {"hours": [asked, granted],
              "resolve_due_at": moved.due_at.isoformat() if moved else None}
    await finish(session, incident, ctx, "extension_approved", before=before, note=data.note,
                 extra=extra)
    await notify(session, incident, ctx, "extended", data.note)
    return incident


async def decide_suspension(session: AsyncSession, incident_id: uuid.UUID, data: DecisionIn,
                            ctx: Ctx) -> Incident:
    """Approved: every open clock pauses until the order is resumed."""
    incident = await begin(session, incident_id, Action.decide_suspension, ctx)
    request = await pending_request(session, incident.id, "suspension")
    decide(request, data.approve, ctx, data.note)
    before = snapshot(incident)
    extra = {"request_id": str(request.id)}
    if not data.approve:
        await finish(session, incident, ctx, "suspension_rejected", before=before,
                     note=data.note, extra=extra)
        return incident
    incident.prior_state = incident.state
    transition(incident, Action.decide_suspension, "approved")
    await clock.pause_all(session, incident.id, ctx.now)
    await finish(session, incident, ctx, "suspension_approved", before=before, note=data.note,
                 extra=extra)
    return incident


async def resume(session: AsyncSession, incident_id: uuid.UUID, data: ActionIn,
                 ctx: Ctx) -> Incident:
    """Back to the state the order was suspended from; the clocks keep the time they had left."""
    incident = await begin(session, incident_id, Action.resume, ctx)
    before = snapshot(incident)
    transition(incident, Action.resume)
    incident.prior_state = None
    await clock.resume_all(session, incident.id, ctx.now, ctx.cal)
    await finish(session, incident, ctx, "resumed", before=before, note=data.note)
    return incident


async def requests_of(session: AsyncSession, incident_id: uuid.UUID,
                      actor: Actor) -> Sequence[IncidentRequest]:
    incident = await load(session, incident_id, lock=False)
    if not visible(actor, incident):
        raise Forbidden(f"incident {incident.id} is outside your scope")
    return (await session.scalars(select(IncidentRequest).where(
        IncidentRequest.incident_id == incident_id)
        .order_by(IncidentRequest.requested_at, IncidentRequest.id))).all()


async def pending_requests(session: AsyncSession, actor: Actor, *, kind: str | None = None,
                           limit: int = 200) -> Sequence[IncidentRequest]:
    """The dispatcher's queue: pending requests on incidents in the actor's scope, oldest first."""
    query = (select(IncidentRequest).join(Incident, Incident.id == IncidentRequest.incident_id)
             .where(IncidentRequest.state == "pending", scope_clause(actor, Incident))
             .order_by(IncidentRequest.requested_at, IncidentRequest.id).limit(limit))
    if kind is not None:
        query = query.where(IncidentRequest.kind == kind)
    return (await session.scalars(query)).all()
