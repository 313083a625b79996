"""What the actions do to the deadlines: extensions, suspensions, urging against supervising,
rework rounds and the reopen window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gridops.errors import Invalid
from gridops.incidents import actions
from gridops.incidents.action_schemas import (
    ActionIn,
    CallbackIn,
    DecisionIn,
    ExtensionDecisionIn,
    ExtensionIn,
    MessageIn,
    ReasonIn,
    ResolveIn,
    SuspensionIn,
    VerifyIn,
)
from gridops.incidents.models import Incident
from tests.incidents.test_actions_support import DISPATCHER, LEADER, UMLE, WORKER, World, world

__all__ = ["world"]

RESOLVE_DUE = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Fri 10:00 Shanghai
ONE_DAY_LATER = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # Mon 10:00: 8 working hours on


async def in_progress(w: World, **fields: Any) -> Incident:
    incident = await w.dispatched(**fields)
    return await actions.accept(w.session, incident.id, ActionIn(), w.ctx(UMLE, incident))


async def resolved(w: World, at: datetime) -> Incident:
    incident = await in_progress(w)
    await w.photo(incident, at=at)
    return await actions.resolve(w.session, incident.id, ResolveIn(result="已清理"),
                                 w.ctx(UMLE, incident, at=at))


async def test_approved_extension_moves_the_resolve_deadline(world: World) -> None:
    w, s = world, world.session
    incident = await in_progress(w)
    await actions.request_extension(s, incident.id, ExtensionIn(hours=8, reason="需协调产权单位"),
                                    w.ctx(UMLE, incident))
    await actions.decide_extension(s, incident.id, ExtensionDecisionIn(approve=True),
                                   w.ctx(DISPATCHER, incident))
    (resolve,) = await w.clocks(incident, "resolve")
    assert resolve.due_at == ONE_DAY_LATER
    assert resolve.extended_minutes == 480
    assert incident.extension_count == 1
    event = (await w.events(incident))[-1]
    assert event.action == "incident.extension_approved"
    assert event.changes["hours"] == [8, 8]
    assert event.changes["extension_count"] == [0, 1]


async def test_extension_granted_shorter_than_asked(world: World) -> None:
    w, s = world, world.session
    incident = await in_progress(w)
    await actions.request_extension(s, incident.id, ExtensionIn(hours=16, reason="材料采购"),
                                    w.ctx(UMLE, incident))
    await actions.decide_extension(s, incident.id, ExtensionDecisionIn(approve=True, hours=8),
                                   w.ctx(DISPATCHER, incident))
    (resolve,) = await w.clocks(incident, "resolve")
    assert resolve.due_at == ONE_DAY_LATER
    assert (await w.events(incident))[-1].changes["hours"] == [16, 8]


async def test_rejected_extension_leaves_the_deadline(world: World) -> None:
    w, s = world, world.session
    incident = await in_progress(w)
    await actions.request_extension(s, incident.id, ExtensionIn(hours=8, reason="人手不足"),
                                    w.ctx(UMLE, incident))
    await actions.decide_extension(s, incident.id, ExtensionDecisionIn(approve=False),
                                   w.ctx(DISPATCHER, incident))
    (resolve,) = await w.clocks(incident, "resolve")
    assert resolve.due_at == RESOLVE_DUE
    assert incident.extension_count == 0
    # Decided: a second decision has nothing to decide; a new request may be made.
    with pytest.raises(actions.ActionNotAllowed) as refused:
        await actions.decide_extension(s, incident.id, ExtensionDecisionIn(approve=True),
                                       w.ctx(DISPATCHER, incident))
    assert "decide_extension" not in refused.value.extensions["allowed_actions"]


async def test_suspension_pauses_and_resume_restores(world: World) -> None:
    w, s = world, world.session
    incident = await in_progress(w)
    await actions.request_suspension(s, incident.id, SuspensionIn(reason="涉及诉讼，待判决"),
                                     w.ctx(UMLE, incident))
    await actions.decide_suspension(s, incident.id, DecisionIn(approve=True),
                                    w.ctx(DISPATCHER, incident, at=w.later(hours=1)))
    assert (incident.state, incident.prior_state) == ("suspended", "in_progress")
    assert all(c.paused_at == w.later(hours=1) for c in await w.clocks(incident, "resolve"))
    # Tue 11:00 to Wed 11:00 is 8 working hours: the deadline moves by one working day.
    await actions.resume(s, incident.id, ActionIn(), w.ctx(UMLE, incident, at=w.later(hours=25)))
    assert (incident.state, incident.prior_state) == ("in_progress", None)
    (resolve,) = await w.clocks(incident, "resolve")
    assert resolve.paused_at is None
    assert resolve.due_at == ONE_DAY_LATER
    assert (await w.actions_of(incident))[-3:] == [
        "incident.suspension_requested", "incident.suspension_approved", "incident.resumed"]


async def test_rejected_suspension_keeps_the_clock_running(world: World) -> None:
    w, s = world, world.session
    incident = await in_progress(w)
    await actions.request_suspension(s, incident.id, SuspensionIn(reason="等待"),
                                     w.ctx(UMLE, incident))
    await actions.decide_suspension(s, incident.id, DecisionIn(approve=False),
                                    w.ctx(DISPATCHER, incident))
    assert incident.state == "in_progress"
    (resolve,) = await w.clocks(incident, "resolve")
    assert resolve.paused_at is None


async def test_urge_before_the_deadline_supervise_after(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.urge(s, incident.id, MessageIn(note="请尽快签收"), w.ctx(LEADER, incident))
    with pytest.raises(actions.ActionNotAllowed) as early:
        await actions.supervise(s, incident.id, MessageIn(note="督办"), w.ctx(LEADER, incident))
    assert "urge" in early.value.extensions["allowed_actions"]
    assert "supervise" not in early.value.extensions["allowed_actions"]
    late = w.later(hours=5)  # 15:00: the 12:00 sign-for deadline has passed
    await actions.supervise(s, incident.id, MessageIn(note="已超时，督办"),
                            w.ctx(DISPATCHER, incident, at=late))
    with pytest.raises(actions.ActionNotAllowed, match="supervise"):
        await actions.urge(s, incident.id, MessageIn(note="催办"), w.ctx(LEADER, incident, at=late))
    assert (await w.actions_of(incident))[-2:] == ["incident.urged", "incident.supervised"]


async def test_failed_check_is_rework_with_a_fresh_deadline(world: World) -> None:
    w, s = world, world.session
    incident = await resolved(w, w.later(hours=2))
    await actions.verify(s, incident.id, VerifyIn(result="fail", note="摊点仍在"),
                         w.ctx(WORKER, incident, at=w.later(hours=3)))
    assert (incident.state, incident.rework_count) == ("in_progress", 1)
    first, second = await w.clocks(incident, "resolve")
    assert (first.round, first.outcome) == (1, "met")
    assert (second.round, second.outcome, second.started_at) == (2, None, w.later(hours=3))
    event = (await w.events(incident))[-1]
    assert (event.action, event.from_state, event.to_state) == (
        "incident.verify_failed", "resolved", "in_progress")
    # The rework needs new evidence: the old photo predates the first resolution.
    with pytest.raises(Invalid, match="photos"):
        await actions.resolve(s, incident.id, ResolveIn(result="再次清理"),
                              w.ctx(UMLE, incident, at=w.later(hours=4)))
    await w.photo(incident, at=w.later(hours=4))
    await actions.resolve(s, incident.id, ResolveIn(result="再次清理"),
                          w.ctx(UMLE, incident, at=w.later(hours=5)))
    assert incident.state == "resolved"


async def test_rework_of_an_on_spot_fix_goes_to_triage(world: World) -> None:
    w = world
    incident = await w.incident(state="resolved", resolved_on_spot=True, resolved_at=w.now)
    await actions.verify(w.session, incident.id, VerifyIn(result="fail", note="没有清理干净"),
                         w.ctx(DISPATCHER, incident))
    assert (incident.state, incident.rework_count) == ("triage", 1)


@pytest.mark.parametrize(("satisfaction", "attributable", "state", "rework"), [
    ("satisfied", True, "closed", 0),
    ("basic", True, "closed", 0),
    ("unsatisfied", True, "in_progress", 1),
    ("unsatisfied", False, "closed", 0),
])
async def test_callback_closes_or_sends_back(world: World, satisfaction: str, attributable: bool,
                                             state: str, rework: int) -> None:
    w, s = world, world.session
    incident = await resolved(w, w.later(hours=2))
    await actions.callback(s, incident.id, CallbackIn(
        resolved=satisfaction != "unsatisfied", satisfaction=satisfaction,
        attributable=attributable), w.ctx(DISPATCHER, incident, at=w.later(hours=3)))
    assert (incident.state, incident.rework_count) == (state, rework)
    assert incident.callback_satisfaction == satisfaction
    assert (incident.closed_at is not None) is (state == "closed")
    resolve_rounds = len(await w.clocks(incident, "resolve"))
    assert resolve_rounds == 1 + rework


async def test_reopen_within_the_window_is_rework(world: World) -> None:
    w, s = world, world.session
    incident = await resolved(w, w.later(hours=2))
    await actions.verify(s, incident.id, VerifyIn(result="pass"),
                         w.ctx(WORKER, incident, at=w.later(hours=3)))
    closed_at = incident.closed_at
    assert closed_at is not None
    window = timedelta(days=w.settings.sla.reopen_window_days)
    await actions.reopen(s, incident.id, ReasonIn(reason="群众反映问题反弹"),
                         w.ctx(DISPATCHER, incident, at=closed_at + window))
    assert (incident.state, incident.rework_count, incident.closed_at) == ("in_progress", 1, None)
    rounds = [c.round for c in await w.clocks(incident, "resolve")]
    assert rounds == [1, 2]


async def test_reopen_after_the_window_is_refused(world: World) -> None:
    w, s = world, world.session
    incident = await resolved(w, w.later(hours=2))
    await actions.verify(s, incident.id, VerifyIn(result="pass"),
                         w.ctx(WORKER, incident, at=w.later(hours=3)))
    assert incident.closed_at is not None
    too_late = incident.closed_at + timedelta(days=w.settings.sla.reopen_window_days, minutes=1)
    before = await w.audit_count()
    with pytest.raises(actions.ActionNotAllowed, match="reopen window") as refused:
        await actions.reopen(s, incident.id, ReasonIn(reason="问题反弹"),
                             w.ctx(DISPATCHER, incident, at=too_late))
    assert refused.value.extensions["allowed_actions"] == ["callback", "comment"]
    assert (incident.state, incident.rework_count) == ("closed", 0)
    assert await w.audit_count() == before


async def test_resolve_without_required_photos_is_refused(world: World) -> None:
    w = world
    incident = await in_progress(w)
    with pytest.raises(Invalid, match="requires photos"):
        await actions.resolve(w.session, incident.id, ResolveIn(result="已处理"),
                              w.ctx(UMLE, incident))
    assert incident.state == "in_progress"
