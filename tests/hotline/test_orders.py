"""What each order means: created, duplicate, stale, updated, withdrawn, callback, rejected."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Role
from gridops.clock.models import SlaClock
from gridops.incidents import actions
from gridops.incidents.action_schemas import ActionIn, ResolveIn
from gridops.incidents.models import Attachment, Incident
from gridops.outbox.models import OutboxMessage
from tests.conftest import count_rows
from tests.hotline.conftest import OUTAGE, VAGUE, Post, incident_of, order, outage, results_by_no


async def _events(session: AsyncSession, incident_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(select(AuditEvent.action).where(
        AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq))
    return list(rows)


async def _updates(session: AsyncSession, incident_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(select(OutboxMessage.payload).where(
        OutboxMessage.incident_id == incident_id).order_by(OutboxMessage.id))
    return [p["event"] for p in rows]


async def test_created_becomes_a_routed_incident_with_the_caller_kept_confidential(
        post: Post, district: None, session: AsyncSession) -> None:
    result = results_by_no(await post([order("A1", urgency="normal")]))["A1"]
    assert result["status"] == "created"
    incident = await incident_of(session, "A1")
    assert str(incident.id) == result["incident_id"]
    assert (incident.channel, incident.external_version) == ("hotline_12345", 1)
    assert (incident.unit_code, incident.item_code, incident.state) == ("UMLE", "SJ05001",
                                                                         "dispatched")
    assert incident.grid_code == "430204003001001"
    assert (incident.reporter_name, incident.reporter_phone) == ("王建国", "13812341234")
    assert incident.reporter_confidential is True
    assert (incident.source_kind, incident.source_category) == ("投诉", "城市管理")
    assert incident.created_by == "hotline-12345"
    assert await _events(session, incident.id) == ["incident.received", "incident.dispatched"]
    assert await _updates(session, incident.id) == ["dispatched"]


async def test_hotline_urgency_raises_but_never_lowers_the_standard(
        post: Post, district: None, session: AsyncSession) -> None:
    results_by_no(await post([order("U1", urgency="urgent"),
                              outage("U2", urgency="normal")]))
    assert (await incident_of(session, "U1")).urgency == "urgent"  # stalls are normal items
    assert (await incident_of(session, "U2")).urgency == "urgent"  # 停电 is an urgent item


async def test_mixed_batch_commits_the_valid_and_rejects_the_invalid_with_reasons(
        post: Post, district: None, session: AsyncSession) -> None:
    bad_phone = order("M3", caller={"name": "李四", "phone": "call me", "confidential": False})
    response = await post([
        order("M1"),
        {"order_no": "M2", "version": 1, "event": "created",  # no content at all
         "received_at": "2026-11-24T09:30:00+08:00"},
        bad_phone,
        order("M4", event="updated"),  # never received
        order("M5") | {"version": "two"},
        outage("M6"),
        "not an order",
    ])
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "rejected", "rejected",
                                              "rejected", "created", "rejected"]
    assert [r["order_no"] for r in results] == ["M1", "M2", "M3", "M4", "M5", "M6", None]
    assert "needs" in results[1]["errors"][0]["msg"]
    assert any("phone" in e["loc"] for e in results[2]["errors"])
    assert results[3]["errors"][0]["type"] == "unknown_order"
    assert results[4]["errors"][0]["loc"] == ["version"]
    assert all(r["errors"] for r in results if r["status"] == "rejected")
    assert await count_rows(session, "incident") == 2
    assert {(await incident_of(session, no)).unit_code for no in ("M1", "M6")} == {"UMLE",
                                                                                   "PWR"}


async def test_same_version_again_is_duplicate_and_changes_nothing(
        post: Post, district: None, session: AsyncSession) -> None:
    first = results_by_no(await post([order("D1")]))["D1"]
    audit_before = await count_rows(session, "audit_event")
    changed = order("D1", content="内容变了但版本没变：路灯不亮")
    again = results_by_no(await post([changed, order("D1", event="updated")]))
    assert again["D1"]["status"] == "duplicate"
    assert again["D1"]["incident_id"] == first["incident_id"]
    incident = await incident_of(session, "D1")
    assert incident.text.startswith("建设路口")
    assert await count_rows(session, "audit_event") == audit_before
    assert await count_rows(session, "incident") == 1


async def test_older_version_is_stale(post: Post, district: None,
                                      session: AsyncSession) -> None:
    results_by_no(await post([order("S1", version=5)]))
    stale = results_by_no(await post([order("S1", version=4, event="updated",
                                             content="旧的内容")]))["S1"]
    assert stale["status"] == "stale"
    assert (await incident_of(session, "S1")).external_version == 5


async def test_replaying_a_batch_ten_times_leaves_one_incident_per_order(
        post: Post, district: None, session: AsyncSession) -> None:
    batch = [(outage if n % 2 else order)(f"R{n:03d}") for n in range(20)]
    statuses = []
    for _ in range(10):
        statuses.append({r["status"] for r in (await post(batch)).json()["results"]})
    assert statuses[0] == {"created"}
    assert all(s == {"duplicate"} for s in statuses[1:])
    assert await count_rows(session, "incident") == 20
    assert await count_rows(session, "outbox_message") == 20  # one "dispatched" each


async def test_updated_amends_and_reroutes_while_untouched(
        post: Post, district: None, session: AsyncSession) -> None:
    results_by_no(await post([order("P1")]))
    version_before = (await incident_of(session, "P1")).version
    amended = outage("P1", version=2, event="updated", address="清水塘街道新民社区")
    assert results_by_no(await post([amended]))["P1"]["status"] == "updated"
    incident = await incident_of(session, "P1")
    assert (incident.text, incident.address) == (OUTAGE, "清水塘街道新民社区")
    assert (incident.unit_code, incident.item_code, incident.urgency) == ("PWR", "SJ09002",
                                                                          "urgent")
    assert incident.state == "dispatched"
    assert incident.external_version == 2
    assert incident.version > version_before
    assert await _events(session, incident.id) == [
        "incident.received", "incident.dispatched", "incident.updated", "incident.routed"]
    assert await _updates(session, incident.id) == ["dispatched", "dispatched"]
    clocks = (await session.scalars(select(SlaClock).where(
        SlaClock.incident_id == incident.id).order_by(SlaClock.kind, SlaClock.round))).all()
    # The first unit's deadlines end void; the new ones run on the urgent (continuous) clock.
    assert [(c.kind, c.round, c.outcome) for c in clocks] == [
        ("resolve", 1, "void"), ("resolve", 2, None), ("sign", 1, "void"), ("sign", 2, None)]


async def test_updated_after_sign_for_amends_text_but_keeps_the_unit(
        post: Post, district: None, session: AsyncSession,
        ctx: Callable[..., actions.Ctx]) -> None:
    results_by_no(await post([order("P2")]))
    incident = await incident_of(session, "P2")
    await actions.accept(session, incident.id, ActionIn(), ctx(Role.unit_operator, "UMLE"))
    await session.commit()
    amended = outage("P2", version=3, event="updated")
    assert results_by_no(await post([amended]))["P2"]["status"] == "updated"
    incident = await incident_of(session, "P2")
    assert incident.text == OUTAGE
    assert (incident.unit_code, incident.state) == ("UMLE", "in_progress")
    assert (await _events(session, incident.id))[-1] == "incident.updated"
    assert await _updates(session, incident.id) == ["dispatched", "accepted"]


async def test_updated_triage_order_is_dispatched_once_the_router_is_sure(
        post: Post, district: None, session: AsyncSession) -> None:
    vague = order("P3", **VAGUE)
    results_by_no(await post([vague]))
    incident = await incident_of(session, "P3")
    assert (incident.state, incident.unit_code) == ("triage", None)
    assert await _updates(session, incident.id) == []
    results_by_no(await post([order("P3", version=2, event="updated")]))
    incident = await incident_of(session, "P3")
    assert (incident.state, incident.unit_code) == ("dispatched", "UMLE")
    assert (await _events(session, incident.id))[-2:] == ["incident.updated",
                                                          "incident.dispatched"]
    assert await _updates(session, incident.id) == ["dispatched"]


async def test_withdrawn_voids_the_incident(post: Post, district: None,
                                            session: AsyncSession) -> None:
    results_by_no(await post([order("W1")]))
    result = results_by_no(await post([order("W1", version=2, event="withdrawn",
                                              comment="市民来电撤诉")]))["W1"]
    assert result["status"] == "updated"
    incident = await incident_of(session, "W1")
    assert (incident.state, incident.external_version) == ("voided", 2)
    assert (await _events(session, incident.id))[-1] == "incident.voided"
    assert await _updates(session, incident.id) == ["dispatched", "voided"]
    open_clocks = await session.scalar(select(func.count()).select_from(SlaClock).where(
        SlaClock.incident_id == incident.id, SlaClock.outcome.is_(None)))
    assert open_clocks == 0
    again = results_by_no(await post([order("W1", version=2, event="withdrawn")]))["W1"]
    assert again["status"] == "duplicate"


async def test_withdrawn_after_sign_for_is_rejected_with_the_reason(
        post: Post, district: None, session: AsyncSession,
        ctx: Callable[..., actions.Ctx]) -> None:
    results_by_no(await post([order("W2")]))
    incident = await incident_of(session, "W2")
    await actions.accept(session, incident.id, ActionIn(), ctx(Role.unit_operator, "UMLE"))
    await session.commit()
    result = results_by_no(await post([order("W2", version=2, event="withdrawn")]))["W2"]
    assert result["status"] == "rejected"
    assert "in_progress" in result["errors"][0]["msg"]
    incident = await incident_of(session, "W2")
    assert (incident.state, incident.external_version) == ("in_progress", 1)


async def _resolved(session: AsyncSession, incident: Incident, ctx: Callable[..., actions.Ctx],
                    now: datetime) -> None:
    unit = ctx(Role.unit_operator, "UMLE")
    await actions.accept(session, incident.id, ActionIn(), unit)
    session.add(Attachment(id=uuid.uuid4(), incident_id=incident.id, purpose="resolve",
                           filename="after.jpg", content_type="image/jpeg", size=1,
                           sha256="0" * 64, storage_key="k", uploaded_by="test",
                           created_at=now + timedelta(minutes=1)))
    later = ctx(Role.unit_operator, "UMLE", at=now + timedelta(minutes=2))
    await actions.resolve(session, incident.id, ResolveIn(result="已清理占道摊点"), later)
    await session.commit()


async def test_callback_records_the_result_and_closes(
        post: Post, district: None, session: AsyncSession, now: datetime,
        ctx: Callable[..., actions.Ctx]) -> None:
    results_by_no(await post([order("C1")]))
    await _resolved(session, await incident_of(session, "C1"), ctx, now)
    callback = order("C1", version=2, event="callback", resolved=True, satisfaction="basic",
                     comment="基本满意")
    assert results_by_no(await post([callback]))["C1"]["status"] == "updated"
    incident = await incident_of(session, "C1")
    assert (incident.state, incident.callback_resolved, incident.callback_satisfaction,
            incident.callback_comment) == ("closed", True, "basic", "基本满意")
    assert (await _events(session, incident.id))[-1] == "incident.callback_recorded"
    assert await _updates(session, incident.id) == ["dispatched", "accepted", "resolved",
                                                    "closed"]


async def test_unsatisfied_callback_sends_the_order_back_as_rework(
        post: Post, district: None, session: AsyncSession, now: datetime,
        ctx: Callable[..., actions.Ctx]) -> None:
    results_by_no(await post([order("C2")]))
    await _resolved(session, await incident_of(session, "C2"), ctx, now)
    callback = order("C2", version=2, event="callback", resolved=False,
                     satisfaction="unsatisfied", comment="摊贩又回来了")
    assert results_by_no(await post([callback]))["C2"]["status"] == "updated"
    incident = await incident_of(session, "C2")
    assert (incident.state, incident.rework_count) == ("in_progress", 1)


async def test_callback_before_resolution_is_rejected(post: Post, district: None,
                                                      session: AsyncSession) -> None:
    results_by_no(await post([order("C3")]))
    callback = order("C3", version=2, event="callback", resolved=True,
                     satisfaction="satisfied")
    result = results_by_no(await post([callback]))["C3"]
    assert result["status"] == "rejected"
    assert (await incident_of(session, "C3")).callback_satisfaction is None


async def test_callback_without_a_rating_is_rejected(post: Post, district: None) -> None:
    result = results_by_no(await post([order("C4", event="callback")]))["C4"]
    assert result["status"] == "rejected"
    assert "resolved and satisfaction" in result["errors"][0]["msg"]


async def test_events_for_unknown_orders_are_rejected(post: Post, district: None,
                                                      session: AsyncSession) -> None:
    results = results_by_no(await post([
        order("X1", event="updated"), order("X2", event="withdrawn"),
        order("X3", event="callback", resolved=True, satisfaction="satisfied")]))
    assert {r["status"] for r in results.values()} == {"rejected"}
    assert {r["errors"][0]["type"] for r in results.values()} == {"unknown_order"}
    assert await count_rows(session, "incident") == 0


async def test_created_and_updated_in_one_batch_apply_in_version_order(
        post: Post, district: None, session: AsyncSession) -> None:
    """Sent out of order, the update still lands after the creation it amends."""
    response = await post([outage("B1", version=2, event="updated"),
                           order("B1", version=1)])
    assert [r["status"] for r in response.json()["results"]] == ["updated", "created"]
    incident = await incident_of(session, "B1")
    assert (incident.unit_code, incident.external_version) == ("PWR", 2)
