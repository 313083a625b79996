"""The hotline amends an order (`updated`): new text, urgency, address.

The amendment itself is always recorded (`incident.updated`). The order is routed again only
while no unit has touched it: in triage, or dispatched and not yet signed for (签收). Then the
router decides on the new text and place; a confident decision for another unit or item (or a
new urgency) moves the order and restarts its deadlines from the new item standard, since the
unit it leaves never started on it. A triage order the router is now sure of is dispatched. An
order a unit has signed for keeps its unit and deadlines: only a dispatcher moves it then.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.clock import service as clock
from gridops.hotline.schemas import Order
from gridops.incidents import actions, intake
from gridops.incidents.actions import base
from gridops.incidents.hotline_updates import utc_iso
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn
from gridops.routing import service as routing
from gridops.routing.rules import Decision, Hints, ItemStandard

_AMENDED = ("title", "text", "address", "lat", "lon", "source_category", "source_kind",
            "urgency")
_PLACE = ("grid_code", "community_code", "street_code")


def untouched(incident: Incident) -> bool:
    return incident.state == "triage" or (incident.state == "dispatched"
                                          and incident.accepted_at is None)


def _urgency(order: Order, item: ItemStandard | None) -> str:
    if order.urgency == "urgent" or (item is not None and item.urgency == "urgent"):
        return "urgent"
    return "normal"


async def amend(session: AsyncSession, incident: Incident, order: Order, data: IncidentIn,
                ctx: actions.Ctx) -> None:
    before = {name: getattr(incident, name) for name in _AMENDED}
    item = await base.item_standard(session, incident.item_code, incident.ruleset_version)
    incident.title, incident.text, incident.address = data.title, data.text, data.address
    if data.location is not None:
        incident.lat, incident.lon = data.location.lat, data.location.lon
    incident.source_category, incident.source_kind = data.category, data.source_kind
    incident.urgency = _urgency(order, item)
    incident.external_version = order.version
    incident.updated_at = ctx.now
    changes = {name: [old, getattr(incident, name)] for name, old in before.items()
               if getattr(incident, name) != old}
    # The hotline's own 办结时限, shown only (gridops' deadlines stay the item standard's). An
    # amendment without one keeps the stored one.
    if order.deadline is not None and order.deadline != incident.source_deadline:
        changes["source_deadline"] = [utc_iso(incident.source_deadline), utc_iso(order.deadline)]
        incident.source_deadline = order.deadline
    await base.finish(session, incident, ctx, "updated", before=base.snapshot(incident),
                      note="热线工单更新 (amended by the 12345 hotline)",
                      extra={"external_version": order.version, **changes})
    if untouched(incident):
        await _reroute(session, incident, order, data, ctx,
                       urgency_changed="urgency" in changes)


async def _reroute(session: AsyncSession, incident: Incident, order: Order, data: IncidentIn,
                   ctx: actions.Ctx, *, urgency_changed: bool) -> None:
    place = await intake.locate(session, data)
    hints = Hints(channel=incident.channel, grid_code=place.grid_code,
                  street_code=place.street_code, category=data.category)
    decision = await routing.decide(session, "。".join(t for t in (data.title, data.text) if t),
                                    hints, ctx.settings.routing.triage_threshold)
    moved = _moved(incident, decision)
    if decision.needs_triage or (incident.state == "dispatched" and not moved
                                 and not urgency_changed):
        if incident.state == "triage":
            # Still unsure: keep the fresh candidates for the dispatcher who will decide.
            _place(incident, place)
            incident.routing, incident.confidence = intake.decision_dict(decision), \
                decision.confidence
            await session.flush()
        return
    assert decision.item is not None
    before = base.snapshot(incident) | {name: getattr(incident, name) for name in _PLACE}
    was = incident.state
    _place(incident, place)
    _route(incident, decision)
    incident.urgency = _urgency(order, decision.item)
    incident.state, incident.dispatched_at = "dispatched", ctx.now
    await clock.void_all(session, incident.id, ctx.now, ctx.cal)
    for kind in ("sign", "resolve"):
        await base.start_clock(session, incident, decision.item, ctx, kind)
    extra = {name: [before.pop(name), getattr(incident, name)] for name in _PLACE
             if before[name] != getattr(incident, name)}
    await base.finish(session, incident, ctx, "dispatched" if was == "triage" else "routed",
                      before=before, note="热线更新后重新分拨 (routed again after an amendment)",
                      extra={"by": "router", "decision": incident.routing, **extra})
    await base.notify(session, incident, ctx, "dispatched")


def _moved(incident: Incident, decision: Decision) -> bool:
    return (decision.item_code, decision.unit_code, decision.street_code) != (
        incident.item_code, incident.unit_code, incident.assigned_street_code)


def _place(incident: Incident, place: intake.Place) -> None:
    if place.source is None:
        return  # nothing new located: keep what intake found
    incident.grid_code, incident.community_code = place.grid_code, place.community_code
    incident.street_code = place.street_code


def _route(incident: Incident, decision: Decision) -> None:
    item = decision.item
    assert item is not None
    incident.item_code, incident.item_name, incident.kind = item.code, item.name, item.kind
    incident.level, incident.unit_code = item.level, decision.unit_code
    incident.assigned_street_code = decision.street_code
    incident.co_units = list(item.co_units)
    incident.ruleset_version = decision.ruleset_version
    incident.routing = intake.decision_dict(decision)
    incident.confidence = decision.confidence
