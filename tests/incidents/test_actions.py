"""The lifecycle services against the database: the happy path, returns, redispatch, and what
the clocks, the audit trail and the routing corrections make of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gridops.audit import service as audit
from gridops.errors import Invalid
from gridops.incidents import actions
from gridops.incidents.action_schemas import (
    ActionIn,
    CallbackIn,
    DispatchIn,
    RedispatchIn,
    ResolveIn,
    ReturnDecisionIn,
    ReturnIn,
    VerifyIn,
)
from gridops.incidents.models import IncidentRequest
from gridops.routing.models import RoutingCorrection
from tests.incidents.test_actions_support import (
    DISPATCHER,
    HURD,
    STREET,
    UMLE,
    WORKER,
    World,
    world,
)

__all__ = ["world"]

SIGN_DUE = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # Tue 12:00 Shanghai: 2 working hours
RESOLVE_DUE = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Fri 10:00: 24 working hours


async def test_happy_path_from_triage_to_closed(world: World) -> None:
    w, s = world, world.session
    incident = await w.incident()
    assert incident.version == 1
    await actions.dispatch(s, incident.id, DispatchIn(unit_code="UMLE", note="派城管"),
                           w.ctx(DISPATCHER, incident))
    assert (incident.state, incident.unit_code, incident.dispatched_at) == ("dispatched", "UMLE",
                                                                           w.now)
    assert incident.version == 2
    sign, resolve = await w.clocks(incident)
    assert (sign.kind, sign.due_at, sign.unit_code) == ("sign", SIGN_DUE, "UMLE")
    assert (resolve.kind, resolve.due_at) == ("resolve", RESOLVE_DUE)

    await actions.accept(s, incident.id, ActionIn(), w.ctx(UMLE, incident, at=w.later(hours=1)))
    assert incident.state == "in_progress"
    assert incident.accepted_at == w.later(hours=1)
    sign, _ = await w.clocks(incident)
    assert sign.outcome == "met"

    await w.photo(incident, at=w.later(hours=20))
    await actions.resolve(s, incident.id, ResolveIn(result="已清理占道摊点"),
                          w.ctx(UMLE, incident, at=w.later(hours=22)))
    assert (incident.state, incident.resolution_text) == ("resolved", "已清理占道摊点")
    _, resolve = await w.clocks(incident)
    assert resolve.outcome == "met"

    await actions.verify(s, incident.id, VerifyIn(result="pass", note="已整改"),
                         w.ctx(WORKER, incident, at=w.later(hours=23)))
    assert (incident.state, incident.closed_at) == ("closed", w.later(hours=23))
    await actions.callback(s, incident.id, CallbackIn(resolved=True, satisfaction="satisfied"),
                           w.ctx(DISPATCHER, incident, at=w.later(hours=25)))
    assert incident.state == "closed"
    assert (incident.callback_resolved, incident.callback_satisfaction) == (True, "satisfied")
    assert incident.closed_at == w.later(hours=23)  # the rating does not move the closure
    assert incident.rework_count == 0

    events = await w.events(incident)
    assert [e.action for e in events] == [
        "incident.dispatched", "incident.accepted", "incident.resolved", "incident.verified",
        "incident.callback_recorded"]
    assert [(e.from_state, e.to_state) for e in events] == [
        ("triage", "dispatched"), ("dispatched", "in_progress"), ("in_progress", "resolved"),
        ("resolved", "closed"), (None, None)]
    assert events[0].changes["unit_code"] == [None, "UMLE"]
    assert events[0].actor_subject == DISPATCHER.subject
    assert events[4].changes["satisfaction"] == "satisfied"
    assert (await audit.verify(s)).ok


async def test_triage_dispatch_records_a_routing_correction(world: World) -> None:
    incident = await world.incident()
    await actions.dispatch(world.session, incident.id, DispatchIn(unit_code="HURD"),
                           world.ctx(DISPATCHER, incident))
    correction = await world.session.scalar(select(RoutingCorrection).where(
        RoutingCorrection.incident_id == incident.id))
    assert correction is not None
    assert (correction.source, correction.chosen_unit, correction.correct_unit) == (
        "triage", None, "HURD")


async def test_dispatch_to_the_street_office_needs_the_street(world: World) -> None:
    incident = await world.incident(street_code=None)
    with pytest.raises(Invalid, match="street"):
        await actions.dispatch(world.session, incident.id, DispatchIn(unit_code="STR"),
                               world.ctx(DISPATCHER, incident))
    assert incident.state == "triage"
    await actions.dispatch(world.session, incident.id,
                           DispatchIn(unit_code="STR", street_code=STREET),
                           world.ctx(DISPATCHER, incident))
    assert (incident.unit_code, incident.assigned_street_code) == ("STR", STREET)


async def test_rejected_return_keeps_the_unit(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.request_return(s, incident.id, ReturnIn(reason="不属我单位管养"),
                                 w.ctx(UMLE, incident))
    await actions.decide_return(s, incident.id, ReturnDecisionIn(approve=False, note="请签收"),
                                w.ctx(DISPATCHER, incident))
    assert (incident.state, incident.unit_code, incident.return_count) == ("dispatched", "UMLE",
                                                                          0)
    request = await s.scalar(select(IncidentRequest).where(
        IncidentRequest.incident_id == incident.id))
    assert request is not None
    assert (request.state, request.decided_by, request.unit_code) == ("rejected", "disp-1",
                                                                      "UMLE")
    assert (await w.actions_of(incident))[-2:] == ["incident.return_requested",
                                                   "incident.return_rejected"]


async def test_approved_return_to_triage_keeps_the_deadlines_running(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.request_return(s, incident.id, ReturnIn(reason="不属我单位"),
                                 w.ctx(UMLE, incident, at=w.later(hours=3)))
    await actions.decide_return(s, incident.id, ReturnDecisionIn(approve=True),
                                w.ctx(DISPATCHER, incident, at=w.later(hours=6)))
    assert (incident.state, incident.unit_code, incident.return_count) == ("triage", None, 1)
    event = (await w.events(incident))[-1]
    assert event.action == "incident.return_approved"
    assert (event.from_state, event.to_state) == ("dispatched", "triage")
    assert event.changes["returned_by"] == "UMLE"
    # The sign deadline had passed while UMLE held the order: the hand-over says so.
    sign_handover = next(h for h in event.changes["handovers"] if h["kind"] == "sign")
    assert sign_handover["from_unit"] == "UMLE"
    assert sign_handover["minutes_left"] == -120  # 12:00 due, returned at 16:00

    await actions.dispatch(s, incident.id, DispatchIn(unit_code="HURD"),
                           w.ctx(DISPATCHER, incident, at=w.later(hours=7)))
    sign, resolve = await w.clocks(incident)
    assert (sign.round, sign.unit_code, sign.due_at) == (1, "HURD", SIGN_DUE)
    assert (resolve.round, resolve.unit_code, resolve.due_at) == (1, "HURD", RESOLVE_DUE)


async def test_approved_return_can_redispatch_at_once(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.request_return(s, incident.id, ReturnIn(reason="井盖属住建"),
                                 w.ctx(UMLE, incident))
    await actions.decide_return(s, incident.id, ReturnDecisionIn(approve=True, unit_code="HURD"),
                                w.ctx(DISPATCHER, incident))
    assert (incident.state, incident.unit_code, incident.return_count) == ("dispatched", "HURD",
                                                                          1)
    assert (await w.actions_of(incident))[-2:] == ["incident.return_approved",
                                                   "incident.redispatched"]
    corrections = (await s.scalars(select(RoutingCorrection.source).where(
        RoutingCorrection.incident_id == incident.id))).all()
    assert "return" in corrections
    # HURD now has the order and may sign for it; UMLE no longer may.
    await actions.accept(s, incident.id, ActionIn(), w.ctx(HURD, incident))
    assert incident.state == "in_progress"


async def test_accepting_withdraws_a_pending_return(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.request_return(s, incident.id, ReturnIn(reason="不属我单位"),
                                 w.ctx(UMLE, incident))
    await actions.accept(s, incident.id, ActionIn(), w.ctx(UMLE, incident))
    request = await s.scalar(select(IncidentRequest).where(
        IncidentRequest.incident_id == incident.id).execution_options(populate_existing=True))
    assert request is not None
    assert request.state == "cancelled"


async def test_redispatch_after_accept_needs_a_new_sign_for(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.accept(s, incident.id, ActionIn(), w.ctx(UMLE, incident))
    await actions.redispatch(s, incident.id, RedispatchIn(unit_code="HURD", reason="属住建局"),
                             w.ctx(DISPATCHER, incident, at=w.later(hours=1)))
    assert (incident.state, incident.unit_code) == ("dispatched", "HURD")
    clocks = await w.clocks(incident)
    assert [(c.kind, c.round, c.unit_code, c.outcome) for c in clocks] == [
        ("sign", 1, "UMLE", "met"), ("sign", 2, "HURD", None), ("resolve", 1, "HURD", None)]
    assert clocks[2].due_at == RESOLVE_DUE  # the resolve deadline is not reset
