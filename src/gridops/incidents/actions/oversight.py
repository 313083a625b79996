"""Urge (催办), supervise (督办), comment, and the two ends without a result: merge, void."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clock
from gridops.errors import Conflict, Forbidden, Invalid, NotFound
from gridops.incidents.action_schemas import CommentIn, MergeIn, MessageIn, ReasonIn
from gridops.incidents.actions.base import (
    Ctx,
    begin,
    cancel_pending,
    finish,
    is_open,
    load,
    notify,
    snapshot,
    transition,
    visible,
)
from gridops.incidents.actions.dispatching import ALL_REQUESTS
from gridops.incidents.lifecycle import Action
from gridops.incidents.models import Incident


async def _note(session: AsyncSession, incident_id: uuid.UUID, action: Action, event: str,
                note: str, ctx: Ctx) -> Incident:
    incident = await begin(session, incident_id, action, ctx)
    await finish(session, incident, ctx, event, before=snapshot(incident), note=note)
    return incident


async def urge(session: AsyncSession, incident_id: uuid.UUID, data: MessageIn,
               ctx: Ctx) -> Incident:
    """催办: before a deadline has passed."""
    return await _note(session, incident_id, Action.urge, "urged", data.note, ctx)


async def supervise(session: AsyncSession, incident_id: uuid.UUID, data: MessageIn,
                    ctx: Ctx) -> Incident:
    """督办: once a deadline has passed."""
    return await _note(session, incident_id, Action.supervise, "supervised", data.note, ctx)


async def comment(session: AsyncSession, incident_id: uuid.UUID, data: CommentIn,
                  ctx: Ctx) -> Incident:
    return await _note(session, incident_id, Action.comment, "commented", data.text, ctx)


async def merge(session: AsyncSession, incident_id: uuid.UUID, data: MergeIn,
                ctx: Ctx) -> Incident:
    """Into another open incident in scope, which carries on; this one's clocks end void."""
    if data.into_id == incident_id:
        raise Invalid("an incident cannot be merged into itself")
    if data.into_id < incident_id:
        # Lock both rows in id order, so two crossing merges cannot deadlock. The target is
        # judged only after this incident's own checks: an outsider learns nothing of either.
        with contextlib.suppress(NotFound):
            await load(session, data.into_id)
    incident = await begin(session, incident_id, Action.merge, ctx)
    target = await _target(session, data.into_id, ctx)
    before = snapshot(incident)
    incident.merged_into_id = target.id
    transition(incident, Action.merge)
    await clock.void_all(session, incident.id, ctx.now, ctx.cal)
    await cancel_pending(session, incident, ctx, ALL_REQUESTS, "lapsed: merged")
    await finish(session, incident, ctx, "merged", before=before, note=data.note)
    await finish(session, target, ctx, "merged", before=snapshot(target), note=data.note,
                 extra={"absorbed": str(incident.id)})
    return incident


async def _target(session: AsyncSession, into_id: uuid.UUID, ctx: Ctx) -> Incident:
    try:
        target = await load(session, into_id)
    except NotFound:
        raise Invalid(f"into_id: incident {into_id} does not exist") from None
    if not visible(ctx.actor, target):
        raise Forbidden(f"incident {into_id} is outside your scope")
    if not is_open(target):
        raise Conflict(f"incident {into_id} is {target.state}: merge into an open incident")
    return target


async def void(session: AsyncSession, incident_id: uuid.UUID, data: ReasonIn,
               ctx: Ctx) -> Incident:
    incident = await begin(session, incident_id, Action.void, ctx)
    before = snapshot(incident)
    transition(incident, Action.void)
    await clock.void_all(session, incident.id, ctx.now, ctx.cal)
    await cancel_pending(session, incident, ctx, ALL_REQUESTS, "lapsed: voided")
    await finish(session, incident, ctx, "voided", before=before, note=data.reason)
    await notify(session, incident, ctx, "voided", data.reason)
    return incident
