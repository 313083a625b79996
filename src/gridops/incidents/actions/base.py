"""The common path of every lifecycle action (see the package docstring).

Each action locks the incident (FOR UPDATE on PostgreSQL), then checks role and scope (403:
first, so an outsider learns nothing of the incident), the version the client read (409
"version") and the state (409 listing the allowed actions); it applies the transition, drives
the clocks, records routing corrections, writes the audit event and, for hotline orders, the
outbox update; all in the caller's transaction. The mapper's version column makes a writer
that slipped past the checks fail with StaleDataError (409) at flush.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit import service as audit
from gridops.auth.actor import Actor
from gridops.auth.scope import in_scope
from gridops.clock import service as clock
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.clock.policy import HandOver
from gridops.errors import Conflict, Forbidden, Invalid, NotFound
from gridops.incidents import hotline_updates
from gridops.incidents.lifecycle import (
    OPEN_STATES,
    RULES,
    Action,
    Situation,
    State,
    allowed_actions,
    fits,
    next_state,
    permits,
    reopen_open,
)
from gridops.incidents.models import Incident, IncidentRequest
from gridops.outbox import service as outbox
from gridops.places.models import Street, Unit
from gridops.routing import service as routing
from gridops.routing.rules import ItemStandard
from gridops.settings import Settings

HOTLINE_CHANNEL = "hotline_12345"
_TRACKED = ("state", "unit_code", "assigned_street_code", "item_code", "co_units", "urgency",
            "prior_state", "rework_count", "return_count", "extension_count", "merged_into_id",
            "resolution_text", "callback_resolved", "callback_satisfaction", "closed_at")


class VersionMismatch(Conflict):
    slug, title = "version", "Version mismatch"


class ActionNotAllowed(Conflict):
    slug, title = "action-not-allowed", "Action not allowed now"


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who acts, when, on which calendar; `version` is what the client last read (None: the
    caller is an adapter that does not check)."""

    actor: Actor
    now: datetime
    cal: WorkingCalendar
    settings: Settings
    version: int | None = None


# -- the common path --------------------------------------------------------------------------

async def load(session: AsyncSession, incident_id: uuid.UUID, *, lock: bool = True) -> Incident:
    query = (select(Incident).where(Incident.id == incident_id)
             .execution_options(populate_existing=True))
    incident = await session.scalar(query.with_for_update() if lock else query)
    if incident is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


def visible(actor: Actor, incident: Incident) -> bool:
    return in_scope(actor, unit_code=incident.unit_code, street_code=incident.street_code,
                    community_code=incident.community_code, grid_code=incident.grid_code,
                    assigned_street_code=incident.assigned_street_code)


async def situation(session: AsyncSession, incident: Incident, ctx: Ctx) -> Situation:
    pending = await session.scalars(select(IncidentRequest.kind).where(
        IncidentRequest.incident_id == incident.id, IncidentRequest.state == "pending"))
    views = await clock.views(session, incident.id, ctx.now, ctx.cal)
    return Situation(pending=frozenset(pending), overdue=any(v.status == "overdue" for v in views),
                     reopen_open=reopen_open(incident.closed_at, ctx.now,
                                             ctx.settings.sla.reopen_window_days))


async def begin(session: AsyncSession, incident_id: uuid.UUID, action: Action,
                ctx: Ctx) -> Incident:
    """Lock and check; nothing is written when this raises."""
    incident = await load(session, incident_id)
    role = ctx.actor.role
    if role not in RULES[action].roles:
        raise Forbidden(f"role {role.value} may not {action.value}")
    if not visible(ctx.actor, incident):
        raise Forbidden(f"incident {incident.id} is outside your scope")
    if ctx.version is not None and ctx.version != incident.version:
        raise VersionMismatch(f"you sent version {ctx.version}; the incident is at version "
                              f"{incident.version}: reload and retry",
                              current_version=incident.version)
    state = State(incident.state)
    found = await situation(session, incident, ctx)
    if not permits(action, state, role) or not fits(action, found):
        raise ActionNotAllowed(_why(action, state, found), state=state.value,
                               allowed_actions=allowed_actions(state, role, found))
    return incident


def _why(action: Action, state: State, found: Situation) -> str:
    if state not in RULES[action].states:
        return f"{action.value} is not possible in state {state.value}"
    if action.name.startswith("decide_"):
        return f"there is no pending {action.name.removeprefix('decide_')} request"
    if action.name.startswith("request_"):
        return f"a {action.name.removeprefix('request_')} request is already pending"
    if action is Action.urge:
        return "a deadline has passed: supervise (督办) instead of urging"
    if action is Action.supervise:
        return "no deadline has passed yet: urge (催办) instead"
    return "the reopen window has passed"


def snapshot(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in _TRACKED}


def diff(before: dict[str, Any], incident: Incident) -> dict[str, Any]:
    return {name: [old, getattr(incident, name)] for name, old in before.items()
            if getattr(incident, name) != old}


async def finish(session: AsyncSession, incident: Incident, ctx: Ctx, event: str, *,
                 before: dict[str, Any], note: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
    """Bump the row (its version moves), then the audit event with the fields that changed."""
    incident.updated_at = ctx.now
    await session.flush()
    changes = diff(before, incident)
    from_state, to_state = changes.pop("state", [None, None])
    await audit.record(session, f"incident.{event}", actor=ctx.actor, at=ctx.now,
                       incident=incident, from_state=from_state, to_state=to_state, note=note,
                       changes=changes | (extra or {}))


async def notify(session: AsyncSession, incident: Incident, ctx: Ctx, event: str,
                 note: str | None = None) -> None:
    """The 12345 platform follows its orders: enqueue an update in this transaction."""
    if incident.channel != HOTLINE_CHANNEL:
        return
    unit_name = await session.scalar(select(Unit.name_zh).where(
        Unit.code == incident.unit_code)) if incident.unit_code else None
    due = await session.scalar(select(SlaClock.due_at).where(
        SlaClock.incident_id == incident.id, SlaClock.kind == "resolve",
        SlaClock.outcome.is_(None)).order_by(SlaClock.round.desc()).limit(1))
    payload = hotline_updates.payload(
        order_no=incident.external_id, incident_id=str(incident.id), event=event,
        state=incident.state, at=ctx.now, unit_code=incident.unit_code, unit_name=unit_name,
        note=note, resolve_due_at=due, source_deadline=incident.source_deadline)
    await outbox.enqueue(session, hotline_updates.TOPIC, payload, ordering_key=str(incident.id),
                         incident_id=incident.id, now=ctx.now)


# -- routing, units and clocks ----------------------------------------------------------------

async def item_standard(session: AsyncSession, code: str | None,
                        version: int | None) -> ItemStandard | None:
    if code is None:
        return None
    if version is not None:
        rules = routing.compile_version(await routing.get_version(session, version))
    else:
        rules = await routing.active_rules(session)
    return rules.item(code)


async def route_to(session: AsyncSession, incident: Incident, ctx: Ctx, *, unit_code: str,
                   street_code: str | None, item_code: str | None, co_units: Iterable[str],
                   source: str) -> ItemStandard:
    """Point the incident at `unit_code` (and the item), keeping the dispatcher's choice as a
    routing correction. Returns the item standard that sets the deadlines."""
    version: int | None
    if item_code is not None and item_code != incident.item_code:
        rules = await routing.active_rules(session)
        item, version = rules.item(item_code), rules.version
        if item is None:
            raise Invalid(f"item standard {item_code} is not in rule table v{rules.version}")
    else:
        item = await item_standard(session, incident.item_code, incident.ruleset_version)
        version = incident.ruleset_version
        if item is None:
            raise Invalid("the incident has no item standard yet: give item_code")
    codes = {unit_code, *co_units}
    known = set(await session.scalars(select(Unit.code).where(Unit.code.in_(codes))))
    if codes - known:
        raise Invalid(f"unknown unit(s): {', '.join(sorted(codes - known))}")
    street = street_code or incident.street_code
    if unit_code == "STR" and not street:
        raise Invalid("an order for STR needs the owning street: give street_code")
    if street_code and await session.get(Street, street_code) is None:
        raise Invalid(f"unknown street {street_code}")
    await routing.record_correction(session, incident, unit_code, item.code, source, ctx.actor,
                                    ctx.now)
    incident.unit_code = unit_code
    incident.assigned_street_code = street if unit_code == "STR" else None
    incident.co_units = sorted(set(co_units) - {unit_code})
    incident.item_code, incident.item_name, incident.kind = item.code, item.name, item.kind
    incident.level, incident.ruleset_version = item.level, version
    return item


async def next_round(session: AsyncSession, incident_id: uuid.UUID, kind: str) -> int:
    last = await session.scalar(select(func.max(SlaClock.round)).where(
        SlaClock.incident_id == incident_id, SlaClock.kind == kind))
    return (last or 0) + 1


async def start_clock(session: AsyncSession, incident: Incident, item: ItemStandard, ctx: Ctx,
                      kind: str) -> None:
    await clock.start(session, incident, kind="sign" if kind == "sign" else "resolve", item=item,
                      urgent=incident.urgency == "urgent", now=ctx.now, cal=ctx.cal,
                      round=await next_round(session, incident.id, kind),
                      due_soon_share=ctx.settings.sla.due_soon_share)


async def hand_over(session: AsyncSession, incident: Incident, ctx: Ctx) -> list[dict[str, Any]]:
    """Open clocks follow the order to its new holder without resetting (退单 / 改派)."""
    handovers = await clock.reassign(session, incident.id, incident.unit_code, ctx.now, ctx.cal)
    return [_handover(h) for h in handovers]


def _handover(h: HandOver) -> dict[str, Any]:
    return {"kind": h.kind, "round": h.round, "from_unit": h.from_unit, "to_unit": h.to_unit,
            "minutes_left": round(h.minutes_left, 2)}


async def open_clock_kinds(session: AsyncSession, incident_id: uuid.UUID) -> set[str]:
    return set(await session.scalars(select(SlaClock.kind).where(
        SlaClock.incident_id == incident_id, SlaClock.outcome.is_(None))))


# -- requests ---------------------------------------------------------------------------------

async def pending_request(session: AsyncSession, incident_id: uuid.UUID,
                          kind: str) -> IncidentRequest:
    found = await session.scalar(select(IncidentRequest).where(
        IncidentRequest.incident_id == incident_id, IncidentRequest.kind == kind,
        IncidentRequest.state == "pending"))
    if found is None:  # begin() already checked; only a race gets here
        raise ActionNotAllowed(f"there is no pending {kind} request")
    return found


def decide(request: IncidentRequest, approve: bool, ctx: Ctx, note: str | None) -> None:
    request.state = "approved" if approve else "rejected"
    request.decided_by, request.decided_at, request.decision_note = (ctx.actor.subject, ctx.now,
                                                                     note)


async def cancel_pending(session: AsyncSession, incident: Incident, ctx: Ctx, kinds: set[str],
                         why: str) -> None:
    """Requests the order has left behind (a redispatch, the resolution, the end) lapse."""
    await session.execute(
        update(IncidentRequest)
        .where(IncidentRequest.incident_id == incident.id, IncidentRequest.state == "pending",
               IncidentRequest.kind.in_(kinds))
        .values(state="cancelled", decided_by=ctx.actor.subject, decided_at=ctx.now,
                decision_note=why)
        .execution_options(synchronize_session="fetch"))


def transition(incident: Incident, action: Action, outcome: str | None = None) -> None:
    incident.state = next_state(incident.state, action, outcome=outcome,
                                prior_state=incident.prior_state,
                                has_unit=incident.unit_code is not None).value


def is_open(incident: Incident) -> bool:
    return State(incident.state) in OPEN_STATES
