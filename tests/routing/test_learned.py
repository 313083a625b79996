"""The learned unit model: it learns from dispatchers' corrections, says when it contributed,
and never takes a decision from a strong phrase match on its own."""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime

import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.routing import service
from gridops.routing.learned import Example, UnitModel, grams, item_examples
from gridops.routing.models import RoutingCorrection
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import parse_table
from tests.routing.routing_sample import full_document
from tests.routing.test_service import ADMIN, make_incident, revised

STREET = "430204001"
# No phrase of the sample table; the shipped complaints make it a telecom box (TEL), the
# dispatchers below say it is the power company's meter box (PWR).
BOX = "墙角那个灰色铁盒子一直滴滴叫"
CORRECTED = ("墙上那个灰色铁盒子天天滴滴叫", "那个灰色铁盒子又在滴滴叫了", "灰色铁盒子整夜滴滴叫")


def overwhelming(texts: tuple[str, ...], unit: str) -> CompiledRules:
    """The sample table with a model whose examples all but unanimously say `unit`."""
    items = parse_table(full_document()).items
    units = sorted({item.unit for item in items})
    examples = [Example(normalise(text), unit, 20.0) for text in texts]
    return CompiledRules(1, items, model=UnitModel([*examples, *item_examples(items)], units))


def test_the_model_alone_never_routes_away_from_a_strong_phrase() -> None:
    """The rule: a unit gains at most `model` (< `strong`) from the model. Against a strong
    phrase (燃气泄漏, GAS) the model's overwhelming disagreement only sends the text to triage;
    it routes elsewhere only when the rival's own phrases are as strong (then it breaks the
    tie)."""
    w = Weights()
    assert 0 < w.model < w.strong
    lone = "燃气泄漏，那边黑乎乎的一大片好几天了"
    backed = "燃气泄漏，占道经营黑乎乎的一大片好几天了"
    rules = overwhelming((lone, backed), "UMLE")
    assert rules.model is not None
    assert rules.model.predict(normalise(lone)).best()[0] == "UMLE"
    d = rules.decide(lone, Hints(street_code=STREET))
    assert (d.unit_code, d.needs_triage) == (None, True)
    assert d.candidates[0].unit_code == "GAS"
    assert any(r.startswith("learned model consulted") and "UMLE 1.00" in r for r in d.reasons)
    # 占道经营 is a strong phrase of UMLE: the rules alone tie, the examples decide.
    alone = CompiledRules(1, parse_table(full_document()).items, Weights(model=0.0))
    assert alone.decide(backed, Hints(street_code=STREET)).needs_triage
    assert rules.decide(backed, Hints(street_code=STREET)).unit_code == "UMLE"
    # A text the model agrees with stays with its phrase.
    agree = CompiledRules(1, parse_table(full_document()).items)
    kept = agree.decide("燃气泄漏，楼下烧烤店天天冒烟", Hints(street_code=STREET))
    assert kept.unit_code == "GAS"


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
    assert before.unit_code != "PWR"
    for text in CORRECTED:
        incident = await make_incident(session, now, text)
        session.add(RoutingCorrection(
            id=uuid.uuid4(), incident_id=incident.id, source="triage", text=text,
            ruleset_version=1, chosen_unit=before.unit_code, chosen_item=None,
            correct_unit="PWR",
            correct_item=None, confidence=0.3, actor_subject="disp-1", created_at=now))
    await session.flush()
    # The version already compiled keeps its model; the next one learns the corrections.
    again = await service.decide(session, BOX, Hints(street_code=STREET), 0.55)
    assert again.unit_code == before.unit_code
    table = {**revised(full_document()), "label": "测试事项表 纠错之后"}  # not cached by others
    await service.load_table(session, table, actor=ADMIN, now=now)
    after = await service.decide(session, BOX, Hints(street_code=STREET), 0.55)
    assert (after.unit_code, after.needs_triage) == ("PWR", False), after.reasons
    # The model's first vote is PWR, with most of the probability (the shipped examples'
    # own votes dilute it as they grow: 0.9x with 6,260 of them, 0.8x with 8,468).
    assert any(re.search(r"learned model consulted [^:]*: PWR (0\.[5-9]\d|1\.00)", r)
               for r in after.reasons), after.reasons


def test_grams_leave_out_where_and_filler() -> None:
    """Place names, grid numbers and digits say where, not what; 的, 反映 … say nothing."""
    found = grams(normalise("清水塘社区3网格：反映KTV噪音扰民，wy不管"))
    assert {"ktv", "wy", "噪音", "扰民", "不管"} <= found
    assert not found & {"清", "水塘", "社区", "网格", "3", "反映", "k", "v噪"}


def test_the_model_keeps_only_its_most_telling_grams() -> None:
    """A gram spread evenly over the units is dropped when `keep_share` < 1; one that leans to
    a unit is kept."""
    examples = [Example("路灯不亮楼", "UMLE"), Example("路灯坏了楼", "UMLE"),
                Example("停电了楼", "PWR"), Example("又停电楼", "PWR")]
    every = UnitModel(examples, ("PWR", "UMLE"), min_count=2.0, min_information=0.0)
    telling = UnitModel(examples, ("PWR", "UMLE"), min_count=2.0, min_information=0.0,
                        keep_share=0.75)
    assert "楼" in every.grams
    assert "楼" not in telling.grams
    assert {"路灯", "停电"} <= set(telling.grams)
    assert telling.predict("路灯").best()[0] == "UMLE"


def test_a_grams_vote_is_weighted_by_what_it_says_about_the_unit() -> None:
    """A gram seen with one unit only weighs 1, one seen with every unit alike 0 (left out),
    one seen with two of three units in between: 1 − H(unit | gram) / log(units)."""
    examples = [Example("停电楼", "PWR"), Example("停电楼", "PWR"), Example("路灯楼", "UMLE"),
                Example("路灯破楼", "UMLE"), Example("水管楼", "WTR"), Example("水管破楼", "WTR")]
    units = ("PWR", "UMLE", "WTR")
    model = UnitModel(examples, units, min_information=0.0)
    weight = dict(zip(model.grams, model.information.tolist(), strict=True))
    assert weight["停电"] == pytest.approx(1.0)
    assert weight["楼"] == pytest.approx(0.0, abs=1e-12)  # 2 : 2 : 2
    assert weight["破"] == pytest.approx(1 - math.log(2) / math.log(3))  # UMLE 1, WTR 1
    # Left out below `min_information`: they say (almost) nothing about the unit.
    pruned = UnitModel(examples, units, min_information=0.5)
    assert "楼" not in pruned.grams
    assert "破" not in pruned.grams
    assert {"停电", "路灯", "水管"} <= set(pruned.grams)


def test_grams_that_say_little_do_not_drown_a_telling_one() -> None:
    """麻烦帮忙 — seen with four units alike, never with WTR — says little about the unit.
    Unweighted, its grams outnumber 水管's (WTR's alone) and vote hard against WTR (log α for a
    gram a unit never showed): the text looks like anything but WTR. Weighted by what they
    tell, they hardly vote."""
    topics = {"PWR": "停电", "UMLE": "路灯", "PSB": "噪音", "CAB": "低保"}
    examples = [*(Example(f"{n}{topic}麻烦帮忙", unit) for unit, topic in topics.items()
                  for n in "一二三"),
                Example("水管漏水", "WTR"), Example("自来水管破了", "WTR")]
    units = ("CAB", "PSB", "PWR", "UMLE", "WTR")
    text = "麻烦帮忙看看水管"
    plain = UnitModel(examples, units, information=0.0, min_information=0.0)
    assert plain.predict(text).posterior[units.index("WTR")] < 0.1
    unit, p = UnitModel(examples, units).predict(text).best()
    assert unit == "WTR"
    assert p > 0.75


def test_counts_of_two_sets_of_examples_add_up_to_the_counts_of_both() -> None:
    """A compile adds its own examples' counts to the shipped examples' counts (read once per
    process) instead of counting every text again: the sum must be what counting all of them
    at once gives — the same grams, Latin runs new to either side included, the same weights."""
    from gridops.routing.learned import Counts, counts, occurrences, summed

    units = ("GAS", "PWR", "TEL")
    first = [("楼道里有股臭鸡蛋味像漏气", "GAS", 1.0), ("wifi连不上宽带断了", "TEL", 1.0),
             ("整栋楼停电了ktv也黑了", "PWR", 1.0), ("不知道是哪家的管子", "XXX", 1.0)]
    second = [("电表箱冒烟ktv门口", "PWR", 3.0), ("光猫亮红灯5g也没信号app也打不开", "TEL", 1.0),
              ("燃气表走字很快", "GAS", 1.0)]

    def counted(examples: list[tuple[str, str, float]]) -> Counts:
        own = [Example(text, unit, weight) for text, unit, weight in examples]
        return counts(occurrences([example.text for example in own]), own, units)

    both = counted(first + second)
    added = summed(counted(first), counted(second))
    assert added.longer == both.longer
    assert added.keys.tolist() == both.keys.tolist()
    assert added.cells.tolist() == both.cells.tolist()
    assert added.values.tolist() == both.values.tolist()
    assert np.all(np.diff(added.cells) > 0)  # ascending, each cell once
    assert np.array_equal(added.dense(), both.dense())
    assert added.dense()[:, units.index("PWR")].sum() > 0


def test_item_grams_count_the_text_grams_each_item_holds() -> None:
    from gridops.routing.rules import ItemGrams

    # items 0..2; (gram, item) pairs ordered by gram
    pairs = [(1, 0), (1, 2), (4, 1), (7, 0), (7, 1), (7, 2), (9, 2)]
    index = ItemGrams(np.array([g for g, _ in pairs]), np.array([c for _, c in pairs]), 3)
    dense = np.zeros((10, 3), dtype=np.intp)
    for gram, column in pairs:
        dense[gram, column] = 1
    for ids in ([], [1], [0, 2, 3], [1, 7], [4, 7, 9], [0, 1, 4, 7, 9], [9]):
        text = np.array(ids, dtype=np.intp)
        assert index.shared(text) == dense[text].sum(axis=0).tolist(), ids
    assert ItemGrams(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), 2).shared(
        np.array([3])) == [0, 0]
