"""部件先属主 by its marking: the owner printed on a cover, a box or a pole decides
(gridops.routing.marking)."""

from __future__ import annotations

import pytest

from gridops.routing.marking import marked_owner
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

STREET = "430204001"
LOOSE_COVER = "人行道上的方盖子松了，一踩就晃，盖子上印着通信两个字"


@pytest.mark.parametrize(("text", "unit", "words"), [
    ("路边那个写着“电力”的井盖碎了一角", "PWR", "写着电力"),
    ("盖子上写的是给水，麻烦修一下", "WTR", "写的是给水"),
    ("配电柜上印着“国网”，门一直开着", "PWR", "印着国网"),
    ("废弃水泥杆，杆身可辨石峰供电字样", "PWR", "供电字样"),
    ("灯杆上喷有石峰路灯sf0321编号", "UMLE", "喷有石峰路灯"),
    ("箱门上印有中国联通", "TEL", "印有中国联通"),
    ("圆盖子上刻着燃气两个字", "GAS", "刻着燃气"),
    ("井盖上写着电力，旁边那块也写着电力", "PWR", "写着电力"),
    # One character on a worn or small cover names its owner too.
    ("路边那个印着“电”字的铁盖子翘起来了", "PWR", "电字"),
    ("盖子上的字磨得只剩半个“雨”字", "WTR", "雨字"),
    ("上面铸了个“气”字，被叉车压裂了", "GAS", "气字"),
    ("盖面只能认出一个“信”字", "TEL", "信字"),
    ("圆铁盖中间一个“污”字，踩上去直晃", "WTR", "污字"),
])
def test_a_marking_read_on_the_thing_names_its_owner(text: str, unit: str, words: str) -> None:
    assert marked_owner(normalise(text)) == (unit, words)


@pytest.mark.parametrize("text", [
    "路边一个水泥桩子，顶上铜帽子刻着严禁移动损毁",  # move, not China Mobile
    "路边停着两台贴着易燃气体标志的槽罐车",  # a hazard label, not the gas company
    "核实线较细，未见高压标识，杆上无变压器",  # a marking looked for and not found
    "一块井盖写着电力，另一块写着电信，都碎了",  # two owners: the marking decides nothing
    "路灯不亮，井盖也碎了",  # no marking read
    "井盖上电字迹模糊，看不清",  # 字迹: the writing, no character read
    "短信字数太多，发不出去",  # 字数: a count, no character read
    "一块盖子印着“水”字，旁边那块印着“电”字，都碎了",  # two owners again
])
def test_no_marking_or_a_denied_or_doubtful_one_names_nobody(text: str) -> None:
    assert marked_owner(normalise(text)) is None


@pytest.fixture(scope="module")
def phrases() -> tuple[CompiledRules, CompiledRules]:
    """The demo table on phrase evidence alone, with and without the marking."""
    items = parse_table(demo_rules_path()).items
    return (CompiledRules(1, items, Weights(fallback=0.0, model=0.0)),
            CompiledRules(1, items, Weights(fallback=0.0, model=0.0, marking=0.0)))


def test_a_marked_unit_no_phrase_matched_enters_with_its_asset_item(
        phrases: tuple[CompiledRules, CompiledRules]) -> None:
    """No phrase names a loose square cover; the marking read on it makes it the telecom's, with
    its cover item, where the phrases alone find nothing."""
    marking, without = phrases
    d = marking.decide(LOOSE_COVER, Hints(street_code=STREET))
    assert (d.unit_code, d.item_code, d.needs_triage) == ("TEL", "BJ01670", False), d.reasons
    assert d.item is not None
    assert d.item.kind == "asset"
    assert "部件先属主: the text reads the marking “印着通信” on the thing → TEL +6" in d.reasons
    assert without.decide(LOOSE_COVER, Hints(street_code=STREET)).needs_triage


def test_the_marking_outweighs_what_the_rest_of_the_text_reads_like(
        demo: CompiledRules) -> None:
    """A broken cover in the dark also reads like a dead street lamp (黑灯瞎火): the marking
    routes it, with a confidence the plain evidence did not reach."""
    text = "小区门口那个印着“燃气”的井盖裂开了，晚上黑灯瞎火的，差点踩进去"
    off = CompiledRules(2, demo.items, Weights(marking=0.0))
    d, plain = demo.decide(text, Hints(street_code=STREET)), off.decide(text,
                                                                       Hints(street_code=STREET))
    assert (d.unit_code, d.needs_triage) == ("GAS", False), d.reasons
    assert d.confidence > plain.confidence
    assert not any(r.startswith("部件先属主") for r in plain.reasons)


def test_a_denied_marking_adds_nothing(demo: CompiledRules) -> None:
    text = "巷口一根黑线垂到路面上，车一过就被带起来，线较细，未见高压标识"
    d = demo.decide(text, Hints(street_code=STREET))
    assert not any(r.startswith("部件先属主") for r in d.reasons)
