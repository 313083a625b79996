"""The learned unit model: it learns from dispatchers' corrections, says when it contributed,
and never takes a decision from a strong phrase match on its own."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gridops.routing import service
from gridops.routing.models import RoutingCorrection
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import parse_table
from tests.routing.routing_sample import full_document
from tests.routing.test_service import ADMIN, make_incident, revised

STREET = "430204001"
BOX = "墙角那个灰色铁盒子一直滴滴叫"  # no phrase of the sample table
CORRECTED = ("墙上那个灰色铁盒子天天滴滴叫", "那个灰色铁盒子又在滴滴叫了", "灰色铁盒子整夜滴滴叫")


def test_a_strong_phrase_is_never_outweighed_by_the_model_alone() -> None:
    w = Weights()
    # A unit without rule evidence gains at most `model`: less than one strong phrase.
    assert 0 < w.model < w.strong
    rules = CompiledRules(1, parse_table(full_document()).items)
    # 燃气泄漏 (strong, GAS) beside a long sentence the model reads as something else entirely.
    text = "燃气泄漏，" + "家人们谁懂啊楼下烧烤店油烟熏得窗户都不敢开，天天晚上烧烤冒烟"
    d = rules.decide(text, Hints(street_code=STREET))
    assert d.unit_code == "GAS"


def test_reasons_name_the_model_and_its_ngrams() -> None:
    rules = CompiledRules(1, parse_table(full_document()).items)
    d = rules.decide("家人们谁懂啊楼下烧烤店油烟熏得窗户都不敢开", Hints(street_code=STREET))
    line = next(r for r in d.reasons if r.startswith("learned model consulted"))
    assert "naive Bayes" in line
    assert "“" in line
    off = CompiledRules(1, parse_table(full_document()).items, Weights(model=0.0))
    assert off.model is None
    assert not any("learned model" in r for r in off.decide(BOX, Hints()).reasons)


def test_meaningless_short_text_is_not_routed_by_the_model() -> None:
    rules = CompiledRules(1, parse_table(full_document()).items)
    assert rules.decide("今天天气不错", Hints(street_code=STREET)).needs_triage


async def test_a_stored_correction_teaches_the_next_compiled_version(
        session: AsyncSession, now: datetime) -> None:
    await service.load_table(session, full_document(), actor=ADMIN, now=now)
    before = await service.decide(session, BOX, Hints(street_code=STREET), 0.55)
    assert before.unit_code != "TEL"
    for text in CORRECTED:
        incident = await make_incident(session, now, text)
        session.add(RoutingCorrection(
            id=uuid.uuid4(), incident_id=incident.id, source="triage", text=text,
            ruleset_version=1, chosen_unit=None, chosen_item=None, correct_unit="TEL",
            correct_item=None, confidence=0.3, actor_subject="disp-1", created_at=now))
    await session.flush()
    # The version already compiled keeps its model; the next one learns the corrections.
    again = await service.decide(session, BOX, Hints(street_code=STREET), 0.55)
    assert again.unit_code == before.unit_code
    table = {**revised(full_document()), "label": "测试事项表 纠错之后"}  # not cached by others
    await service.load_table(session, table, actor=ADMIN, now=now)
    after = await service.decide(session, BOX, Hints(street_code=STREET), 0.55)
    assert (after.unit_code, after.needs_triage) == ("TEL", False), after.reasons
    assert any("learned model consulted" in r and "TEL 1.00" in r for r in after.reasons)
