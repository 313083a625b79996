"""Closing the loop: resolve (办结反馈), verify on site (核查), callback (回访), reopen; with rework
(返工/重办) counted and a fresh resolve deadline each time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clock
from gridops.errors import Invalid
from gridops.incidents.action_schemas import CallbackIn, ReasonIn, ResolveIn, VerifyIn
from gridops.incidents.actions.base import (
    Ctx,
    begin,
    cancel_pending,
    finish,
    item_standard,
    notify,
    snapshot,
    start_clock,
    transition,
)
from gridops.incidents.lifecycle import Action, State, callback_outcome, is_rework
from gridops.incidents.models import Attachment, Incident

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def resolve(session: AsyncSession, incident_id: uuid.UUID, data: ResolveIn,
                  ctx: Ctx) -> Incident:
    """Photos are required when the item standard says so: at least one attachment with purpose
    `resolve` uploaded since the previous resolution (a rework needs new evidence)."""
    incident = await begin(session, incident_id, Action.resolve, ctx)
    item = await item_standard(session, incident.item_code, incident.ruleset_version)
    if item is not None and item.photo_required:
        photos = await session.scalar(select(func.count()).select_from(Attachment).where(
            Attachment.incident_id == incident.id, Attachment.purpose == "resolve",
            Attachment.created_at > (incident.resolved_at or _EPOCH)))
        if not photos:
            raise Invalid(f"item {item.code} {item.name} requires photos of the result: upload "
                          "them with purpose 'resolve' first",
                          errors=[{"loc": ["attachments"], "msg": "photo required",
                                   "type": "photo_required"}])
    before = snapshot(incident)
    transition(incident, Action.resolve)
    incident.resolution_text = data.result
    incident.resolved_at = ctx.now
    await clock.stop(session, incident.id, "resolve", ctx.now, ctx.cal)
    await cancel_pending(session, incident, ctx, {"extension", "suspension"},
                         "lapsed: the order was resolved")
    await finish(session, incident, ctx, "resolved", before=before, note=data.note)
    await notify(session, incident, ctx, "resolved", data.result)
    return incident


async def _after_rework(session: AsyncSession, incident: Incident, ctx: Ctx) -> None:
    incident.rework_count += 1
    incident.closed_at = None
    if incident.state == State.in_progress:
        item = await item_standard(session, incident.item_code, incident.ruleset_version)
        if item is not None:
            await start_clock(session, incident, item, ctx, "resolve")


async def verify(session: AsyncSession, incident_id: uuid.UUID, data: VerifyIn,
                 ctx: Ctx) -> Incident:
    """On site (核查): pass closes; fail sends the order back to its unit as rework."""
    incident = await begin(session, incident_id, Action.verify, ctx)
    before = snapshot(incident)
    transition(incident, Action.verify, data.result)
    if is_rework(Action.verify, data.result):
        await _after_rework(session, incident, ctx)
        await finish(session, incident, ctx, "verify_failed", before=before, note=data.note)
        return incident
    incident.closed_at = ctx.now
    await finish(session, incident, ctx, "verified", before=before, note=data.note)
    await notify(session, incident, ctx, "closed", data.note)
    return incident


async def callback(session: AsyncSession, incident_id: uuid.UUID, data: CallbackIn,
                   ctx: Ctx) -> Incident:
    """回访: (basically) satisfied closes; attributable dissatisfaction is rework. A callback on a
    closed order records the rating, and can still send it back."""
    incident = await begin(session, incident_id, Action.callback, ctx)
    before = snapshot(incident)
    was = incident.state
    outcome = callback_outcome(data.satisfaction, data.attributable)
    incident.callback_resolved = data.resolved
    incident.callback_satisfaction = data.satisfaction
    incident.callback_comment = data.comment
    transition(incident, Action.callback, outcome)
    if is_rework(Action.callback, outcome):
        await _after_rework(session, incident, ctx)
    closing = was != State.closed and incident.state == State.closed
    if closing:
        incident.closed_at = ctx.now
    await finish(session, incident, ctx, "callback_recorded", before=before,
                 note=data.comment or data.note,
                 extra={"resolved": data.resolved, "satisfaction": data.satisfaction,
                        "attributable": data.attributable})
    if closing:
        await notify(session, incident, ctx, "closed", data.comment)
    return incident


async def reopen(session: AsyncSession, incident_id: uuid.UUID, data: ReasonIn,
                 ctx: Ctx) -> Incident:
    """Within `sla.reopen_window_days` of closing; counted as rework."""
    incident = await begin(session, incident_id, Action.reopen, ctx)
    before = snapshot(incident)
    transition(incident, Action.reopen)
    await _after_rework(session, incident, ctx)
    await finish(session, incident, ctx, "reopened", before=before, note=data.reason)
    return incident
