"""Who may act, on what, in which state and on which version, and that a refusal writes
nothing; the terminal ends; the hotline's outbox; the audit chain over a long history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from sqlalchemy import select

from gridops.audit import service as audit
from gridops.errors import Conflict, Forbidden, Invalid
from gridops.incidents import actions
from gridops.incidents.action_schemas import (
    ActionIn,
    CallbackIn,
    CommentIn,
    DecisionIn,
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionIn,
    MergeIn,
    MessageIn,
    ReasonIn,
    RedispatchIn,
    ResolveIn,
    ReturnDecisionIn,
    ReturnIn,
    SuspensionIn,
    VerifyIn,
)
from gridops.incidents.models import Incident
from gridops.outbox.models import OutboxMessage
from tests.incidents.test_actions_support import (
    AUDITOR,
    DISPATCHER,
    FOREIGN_DISPATCHER,
    HURD,
    LEADER,
    OTHER_WORKER,
    STREET_DISPATCHER,
    UMLE,
    WORKER,
    World,
    at_version,
    world,
)

__all__ = ["world"]
E = TypeVar("E", bound=Exception)


async def refused_without_trace(w: World, incident: Incident,
                                attempt: Callable[[], Awaitable[object]],
                                error: type[E]) -> E:
    state, version, events = incident.state, incident.version, await w.audit_count()
    with pytest.raises(error) as caught:
        await attempt()
    fresh = await actions.load(w.session, incident.id, lock=False)
    assert (fresh.state, fresh.version) == (state, version)
    assert await w.audit_count() == events
    return caught.value


async def test_out_of_role_is_forbidden_and_writes_nothing(world: World) -> None:
    w = world
    incident = await w.dispatched()
    for actor in (DISPATCHER, WORKER, LEADER, AUDITOR):
        await refused_without_trace(w, incident, lambda a=actor: actions.accept(  # type: ignore[misc]
            w.session, incident.id, ActionIn(), w.ctx(a, incident)), Forbidden)
    await refused_without_trace(w, incident, lambda: actions.redispatch(
        w.session, incident.id, RedispatchIn(unit_code="HURD", reason="改派"),
        w.ctx(UMLE, incident)), Forbidden)


async def test_out_of_scope_is_forbidden_and_writes_nothing(world: World) -> None:
    w = world
    incident = await w.dispatched()
    error = await refused_without_trace(w, incident, lambda: actions.accept(
        w.session, incident.id, ActionIn(), w.ctx(HURD, incident)), Forbidden)
    assert "scope" in str(error)
    await refused_without_trace(w, incident, lambda: actions.urge(
        w.session, incident.id, MessageIn(note="催办"), w.ctx(FOREIGN_DISPATCHER, incident)),
        Forbidden)
    # The street's own dispatcher may.
    await actions.urge(w.session, incident.id, MessageIn(note="催办"),
                       w.ctx(STREET_DISPATCHER, incident))


async def test_only_the_grid_worker_of_that_grid_verifies(world: World) -> None:
    w = world
    incident = await w.incident(state="resolved", resolved_on_spot=True, resolved_at=w.now,
                                unit_code="UMLE")
    await refused_without_trace(w, incident, lambda: actions.verify(
        w.session, incident.id, VerifyIn(result="pass"), w.ctx(OTHER_WORKER, incident)),
        Forbidden)
    await actions.verify(w.session, incident.id, VerifyIn(result="pass"),
                         w.ctx(WORKER, incident))
    assert incident.state == "closed"


async def test_wrong_state_is_a_conflict_listing_the_allowed_actions(world: World) -> None:
    w = world
    incident = await w.dispatched()
    error = await refused_without_trace(w, incident, lambda: actions.resolve(
        w.session, incident.id, ResolveIn(result="已处理"), w.ctx(UMLE, incident)),
        actions.ActionNotAllowed)
    assert isinstance(error, Conflict)
    assert error.extensions["state"] == "dispatched"
    assert error.extensions["allowed_actions"] == ["accept", "request_return", "comment"]
    assert "not possible in state dispatched" in str(error)


async def test_stale_version_is_a_conflict_and_of_two_writers_one_wins(world: World) -> None:
    w = world
    incident = await w.dispatched()
    read = incident.version
    # Two operators read the same version; the first to write wins.
    await actions.accept(w.session, incident.id, ActionIn(), at_version(w.ctx(UMLE), read))
    error = await refused_without_trace(w, incident, lambda: actions.request_return(
        w.session, incident.id, ReturnIn(reason="不属我单位"), at_version(w.ctx(UMLE), read)),
        actions.VersionMismatch)
    assert error.extensions["current_version"] == read + 1
    assert incident.state == "in_progress"


async def test_adapters_without_a_version_are_not_checked(world: World) -> None:
    w = world
    incident = await w.dispatched()
    await actions.comment(w.session, incident.id, CommentIn(text="热线补充：摊贩早上七点出摊"),
                          w.ctx(DISPATCHER))
    assert (await w.events(incident))[-1].note == "热线补充：摊贩早上七点出摊"


async def test_requests_cannot_be_doubled(world: World) -> None:
    w = world
    incident = await w.dispatched()
    await actions.request_return(w.session, incident.id, ReturnIn(reason="不属我单位"),
                                 w.ctx(UMLE, incident))
    await refused_without_trace(w, incident, lambda: actions.request_return(
        w.session, incident.id, ReturnIn(reason="再申请"), w.ctx(UMLE, incident)),
        actions.ActionNotAllowed)


async def test_merge_ends_the_incident_and_voids_its_clocks(world: World) -> None:
    w = world
    keeper = await w.dispatched()
    duplicate = await w.dispatched()
    await actions.merge(w.session, duplicate.id, MergeIn(into_id=keeper.id, note="同一诉求"),
                        w.ctx(DISPATCHER, duplicate))
    assert (duplicate.state, duplicate.merged_into_id) == ("merged", keeper.id)
    assert {c.outcome for c in await w.clocks(duplicate)} == {"void"}
    assert {c.outcome for c in await w.clocks(keeper)} == {None}
    absorbed = (await w.events(keeper))[-1]
    assert (absorbed.action, absorbed.changes["absorbed"]) == ("incident.merged",
                                                               str(duplicate.id))
    error = await refused_without_trace(w, duplicate, lambda: actions.comment(
        w.session, duplicate.id, CommentIn(text="备注"), w.ctx(DISPATCHER, duplicate)),
        actions.ActionNotAllowed)
    assert error.extensions["allowed_actions"] == []
    # Nothing merges into an ended incident, nor into itself.
    other = await w.incident()
    with pytest.raises(Conflict, match="open incident"):
        await actions.merge(w.session, other.id, MergeIn(into_id=duplicate.id),
                            w.ctx(DISPATCHER, other))
    with pytest.raises(Invalid, match="itself"):
        await actions.merge(w.session, other.id, MergeIn(into_id=other.id),
                            w.ctx(DISPATCHER, other))


async def test_void_is_terminal_and_cancels_pending_requests(world: World) -> None:
    w = world
    incident = await w.dispatched()
    await actions.request_return(w.session, incident.id, ReturnIn(reason="重复工单"),
                                 w.ctx(UMLE, incident))
    await actions.void(w.session, incident.id, ReasonIn(reason="测试工单，作废"),
                       w.ctx(DISPATCHER, incident))
    assert incident.state == "voided"
    assert {c.outcome for c in await w.clocks(incident)} == {"void"}
    (request,) = await actions.requests_of(w.session, incident.id, DISPATCHER)
    assert request.state == "cancelled"
    assert await actions.pending_requests(w.session, DISPATCHER) == []
    for attempt in (lambda: actions.dispatch(w.session, incident.id, DispatchIn(unit_code="UMLE"),
                                             w.ctx(DISPATCHER, incident)),
                    lambda: actions.reopen(w.session, incident.id, ReasonIn(reason="恢复"),
                                           w.ctx(DISPATCHER, incident))):
        await refused_without_trace(w, incident, attempt, actions.ActionNotAllowed)


async def test_pending_queue_is_scoped(world: World) -> None:
    w = world
    incident = await w.dispatched()
    await actions.request_return(w.session, incident.id, ReturnIn(reason="不属我单位"),
                                 w.ctx(UMLE, incident))
    assert [r.kind for r in await actions.pending_requests(w.session, STREET_DISPATCHER)] == [
        "return"]
    assert await actions.pending_requests(w.session, FOREIGN_DISPATCHER) == []
    assert await actions.pending_requests(w.session, HURD) == []
    assert await actions.pending_requests(w.session, DISPATCHER, kind="extension") == []
    with pytest.raises(Forbidden):
        await actions.requests_of(w.session, incident.id, HURD)


async def test_hotline_orders_are_followed_in_order(world: World) -> None:
    w, s = world, world.session
    incident = await w.incident(channel="hotline_12345")
    steps: list[Callable[[], Awaitable[object]]] = [
        lambda: actions.dispatch(s, incident.id, DispatchIn(unit_code="HURD"),
                                 w.ctx(DISPATCHER, incident)),
        lambda: actions.request_return(s, incident.id, ReturnIn(reason="不属我单位"),
                                       w.ctx(HURD, incident)),
        lambda: actions.decide_return(s, incident.id, ReturnDecisionIn(approve=True,
                                                                       unit_code="UMLE"),
                                      w.ctx(DISPATCHER, incident)),
        lambda: actions.accept(s, incident.id, ActionIn(), w.ctx(UMLE, incident)),
        lambda: actions.request_extension(s, incident.id, ExtensionIn(hours=8, reason="协调"),
                                          w.ctx(UMLE, incident)),
        lambda: actions.decide_extension(s, incident.id, ExtensionDecisionIn(approve=True),
                                         w.ctx(DISPATCHER, incident)),
        lambda: w.photo(incident, at=w.later(hours=1)),
        lambda: actions.resolve(s, incident.id, ResolveIn(result="已清理"),
                                w.ctx(UMLE, incident, at=w.later(hours=2))),
        lambda: actions.callback(s, incident.id, CallbackIn(resolved=True, satisfaction="basic"),
                                 w.ctx(DISPATCHER, incident, at=w.later(hours=3))),
    ]
    for step in steps:
        await step()
    messages = (await s.scalars(select(OutboxMessage).where(
        OutboxMessage.incident_id == incident.id).order_by(OutboxMessage.id))).all()
    assert [m.payload["event"] for m in messages] == [
        "dispatched", "returned", "dispatched", "accepted", "extended", "resolved", "closed"]
    assert {m.topic for m in messages} == {"hotline.update"}
    assert {m.ordering_key for m in messages} == {str(incident.id)}
    first, *_, extended, resolved_msg, closed = [m.payload for m in messages]
    assert (first["order_no"], first["unit_code"]) == (incident.external_id, "HURD")
    assert first["unit_name"]
    assert extended["resolve_due_at"] > first["resolve_due_at"]
    assert resolved_msg["note"] == "已清理"
    assert (closed["state"], closed["resolve_due_at"]) == ("closed", None)


async def test_other_channels_enqueue_nothing(world: World) -> None:
    incident = await world.dispatched()
    assert incident.channel == "grid_app"
    assert (await world.session.scalars(select(OutboxMessage).where(
        OutboxMessage.incident_id == incident.id))).all() == []


async def test_audit_chain_verifies_after_a_long_history(world: World) -> None:
    w, s = world, world.session
    incident = await w.dispatched()
    await actions.request_return(s, incident.id, ReturnIn(reason="不属我"), w.ctx(UMLE, incident))
    await actions.decide_return(s, incident.id, ReturnDecisionIn(approve=False),
                                w.ctx(DISPATCHER, incident))
    await actions.accept(s, incident.id, ActionIn(), w.ctx(UMLE, incident))
    await actions.request_suspension(s, incident.id, SuspensionIn(reason="待判决"),
                                     w.ctx(UMLE, incident))
    await actions.decide_suspension(s, incident.id, DecisionIn(approve=True),
                                    w.ctx(DISPATCHER, incident))
    await actions.resume(s, incident.id, ActionIn(), w.ctx(DISPATCHER, incident))
    for round_ in range(3):
        await w.photo(incident, at=w.later(hours=2 * round_ + 1))
        await actions.resolve(s, incident.id, ResolveIn(result=f"第{round_ + 1}次处理"),
                              w.ctx(UMLE, incident, at=w.later(hours=2 * round_ + 1, minutes=1)))
        await actions.verify(s, incident.id, VerifyIn(result="fail", note="仍未整改"),
                             w.ctx(WORKER, incident, at=w.later(hours=2 * round_ + 2)))
        await actions.comment(s, incident.id, CommentIn(text="继续跟进"), w.ctx(LEADER, incident))
    assert incident.rework_count == 3
    trail = await w.events(incident)
    assert len(trail) == 7 + 3 * 3
    assert [e.seq for e in trail] == list(range(1, 17))
    report = await audit.verify(s, stream=f"incident:{incident.id}")
    assert report.ok
    assert report.events == 16
