import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Actor, Role
from gridops.errors import Invalid, NotFound, Unavailable
from gridops.incidents.models import Incident
from gridops.places.models import Unit
from gridops.routing import corrections, replay, service
from gridops.routing.models import RoutingCorrection, Ruleset
from gridops.routing.rules import Hints
from tests.routing.routing_sample import full_document

ADMIN = Actor(subject="admin-1", role=Role.admin)
DISPATCHER = Actor(subject="disp-1", role=Role.dispatcher)


def revised(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2: 停水 learns the strong phrase 没有水, 停电 forgets 没电了 and 断电."""
    items = []
    for row in document["items"]:
        if row["code"] == "SJ09003":  # 停水 (WTR)
            row = {**row, "strong": [*row["strong"], "没有水"]}
        if row["code"] == "SJ09002":  # 停电 (PWR) loses 没电了
            row = {**row, "phrases": ["停电"]}
        items.append(row)
    return {**document, "label": "测试事项表 修订", "items": items}


async def actions(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(AuditEvent.action).where(AuditEvent.stream == "ruleset")
                                 .order_by(AuditEvent.seq))
    return list(rows)


async def test_load_stores_activates_and_audits(session: AsyncSession, now: datetime) -> None:
    result = await service.load_table(session, full_document(), actor=ADMIN, now=now)
    assert (result.version, result.created, result.active, result.item_count) == (1, True, True,
                                                                                  115)
    assert result.units["WTR"] == 5
    row = await session.get(Ruleset, 1)
    assert row is not None
    assert row.active is True
    assert row.activated_at == now
    assert row.created_by == "admin-1"
    assert await actions(session) == ["ruleset.loaded", "ruleset.activated"]


async def test_identical_table_is_a_no_op(session: AsyncSession, now: datetime) -> None:
    first = await service.load_table(session, full_document(), actor=ADMIN, now=now)
    again = await service.load_table(session, full_document(), actor=ADMIN, now=now)
    assert (again.version, again.created) == (first.version, False)
    assert await session.scalar(select(func.count()).select_from(Ruleset)) == 1
    assert len(await actions(session)) == 2


async def test_activation_moves_the_flag_atomically(session: AsyncSession, now: datetime) -> None:
    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    v2 = await service.load_table(session, revised(full_document()), actor=ADMIN, now=now,
                                  activate=False)
    assert (v2.version, v2.active) == (2, False)
    assert (await service.active_rules(session)).version == 1
    await service.activate(session, 2, actor=ADMIN, now=now)
    flags = dict((await session.execute(select(Ruleset.version, Ruleset.active))).all())
    assert flags == {1: None, 2: True}
    assert (await service.active_rules(session)).version == 2
    assert (await actions(session))[-1] == "ruleset.activated"
    with pytest.raises(NotFound):
        await service.activate(session, 9, actor=ADMIN, now=now)


async def test_bad_table_lists_all_problems_and_stores_nothing(session: AsyncSession,
                                                               now: datetime) -> None:
    document = full_document()
    document["items"][0] = {**document["items"][0], "unit": "NOPE", "sign_hours": 99}
    document["declared_count"] = 3
    with pytest.raises(Invalid) as caught:
        await service.load_table(session, document, actor=ADMIN, now=now)
    errors = caught.value.extensions["errors"]
    assert len(errors) == 4  # count, unit, limit, and UMLE now short of five items
    assert await session.scalar(select(func.count()).select_from(Ruleset)) == 0
    assert await actions(session) == []


async def test_active_rules_compiled_once_per_version(session: AsyncSession,
                                                      now: datetime) -> None:
    with pytest.raises(Unavailable):
        await service.active_rules(session)
    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    first = await service.active_rules(session)
    assert await service.active_rules(session) is first


async def test_decide_resolves_the_street_of_a_grid(session: AsyncSession, now: datetime,
                                                    demo_pack: Any) -> None:
    from gridops.places.models import Grid

    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    grid = await session.scalar(select(Grid).limit(1))
    assert grid is not None
    text = "楼上邻居吵架，邻里纠纷好几天了"
    decision = await service.decide(session, text, Hints(grid_code=grid.code), 0.55)
    assert (decision.unit_code, decision.street_code) == ("STR", grid.street_code)
    unknown = await service.decide(session, text, Hints(), 0.55)
    assert unknown.needs_triage


async def make_incident(session: AsyncSession, now: datetime, text: str, *,
                        unit: str | None = None, state: str = "dispatched",
                        routing: dict[str, Any] | None = None) -> Incident:
    incident = Incident(id=uuid.uuid4(), channel="hotline_12345", text=text, state=state,
                        unit_code=unit, street_code="430204001", created_by="test",
                        created_at=now - timedelta(days=1), updated_at=now,
                        routing=routing or {})
    session.add(incident)
    await session.flush()
    return incident


async def add_units(session: AsyncSession, *codes: str) -> None:
    for code in codes:
        if await session.get(Unit, code) is None:
            session.add(Unit(code=code, name_zh=code, name_en=code))
    await session.flush()


async def test_replay_reports_moves_matrix_and_examples(session: AsyncSession,
                                                        now: datetime) -> None:
    await add_units(session, "WTR", "PWR")
    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    v2 = await service.load_table(session, revised(full_document()), actor=ADMIN, now=now,
                                  activate=False)
    await make_incident(session, now, "家里没有水，也没人说", unit="WTR")
    # v2 hears 没有水 (strong) and no longer 没电了: the learned model still hears 没电 and
    # doubts it into triage.
    await make_incident(session, now, "没电了，家里也没有水", unit="PWR")
    await make_incident(session, now, "小区停水了", unit="WTR")
    report = await replay.replay(session, v2.version, since=now - timedelta(days=7))
    assert (report.replayed, report.unit_changed, report.active_version) == (3, 2, 1)
    assert report.matrix == {("triage", "WTR"): 1, ("PWR", "triage"): 1}
    assert (report.to_triage, report.from_triage, report.fixed, report.broken) == (1, 1, 1, 1)
    moved = {c.text: (c.before_unit, c.after_unit) for c in report.examples}
    assert moved["家里没有水，也没人说"] == ("triage", "WTR")
    assert moved["没电了，家里也没有水"] == ("PWR", "triage")
    # An unstored candidate works too, and a broken one is refused with its problems.
    inline = await replay.replay(session, revised(full_document()), since=now - timedelta(7))
    assert inline.candidate_version is None
    assert inline.unit_changed == 2
    with pytest.raises(Invalid):
        await replay.replay(session, {"label": "x", "items": []}, since=now)


async def test_corrections_are_kept_and_reported_with_phrase_ideas(session: AsyncSession,
                                                                   now: datetime) -> None:
    await add_units(session, "WTR", "PWR", "UMLE")
    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    texts = ["自来水发黄有铁锈味，烧开了还有沉淀", "龙头里的水发黄，有股铁锈味",
             "水发黄铁锈味重，不敢喝"]
    for text in texts:
        incident = await make_incident(session, now, text, unit="UMLE", routing={
            "unit_code": "UMLE", "item_code": "SJ01001", "confidence": 0.6})
        stored = await service.record_correction(session, incident, "WTR", "SJ09004",
                                                 "redispatch", DISPATCHER, now)
        assert stored is not None
    triaged = await make_incident(session, now, "电线杆歪了", state="triage",
                                  routing={"needs_triage": True})
    await service.record_correction(session, triaged, "PWR", "BJ01003", "triage", DISPATCHER,
                                    now)
    agreed = await make_incident(session, now, "停电", unit="PWR",
                                 routing={"unit_code": "PWR", "item_code": "SJ09002"})
    assert await service.record_correction(session, agreed, "PWR", None, "return",
                                           DISPATCHER, now) is None
    assert await session.scalar(select(func.count()).select_from(RoutingCorrection)) == 4

    report = await corrections.corrections_report(session)
    top = report[0]
    assert (top.chosen_unit, top.correct_unit, top.count) == ("UMLE", "WTR", 3)
    phrases = [s["phrase"] for s in top.suggested_phrases]
    assert set(phrases[:2]) == {"铁锈味", "水发黄"}
    assert all(s["for_item"] == "SJ09004" for s in top.suggested_phrases)
    assert (report[1].chosen_unit, report[1].correct_unit) == ("triage", "PWR")
    assert "电线杆" not in [s["phrase"] for s in report[1].suggested_phrases]  # PWR has it
