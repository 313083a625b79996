"""The last steps of a decision, branch by branch: one unit or several, and a street that 街镇托底
adds to a text that named one unit only (the unit count changes after the principles)."""

from __future__ import annotations

import pytest

from gridops.routing.rules import CompiledRules, Decision, Hints, Weights
from gridops.routing.table import parse_table
from tests.routing.routing_sample import UNITS, document, phrases_only

STREET = "430204001"
POLE_NOBODY_OWNS = "路口那根电线杆歪了，快倒了，问了一圈找不到主"


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return phrases_only()


def test_one_unit_says_it_is_alone_and_is_a_plain_decision(rules: CompiledRules) -> None:
    d = rules.decide("小区从早上开始停电了，冰箱里的东西都坏了", Hints(street_code=STREET))
    assert isinstance(d, Decision)
    assert (d.unit_code, d.item_code, d.needs_triage, d.confidence) == ("PWR", "SJ09002",
                                                                       False, 0.996)
    assert d.reasons[-1] == "only unit PWR matched; confidence 1.00 (threshold 0.60)"
    assert d._replace(confidence=0.5).confidence == 0.5  # still a named tuple


def test_the_street_added_for_what_nobody_owns_is_weighed_against_the_one_unit(
        rules: CompiledRules) -> None:
    """Only PWR matched; 街镇托底 adds the street, so the confidence compares two units."""
    d = rules.decide(POLE_NOBODY_OWNS, Hints(street_code=STREET))
    assert d.needs_triage
    assert [c.unit_code for c in d.candidates] == ["PWR", "STR"]
    assert d.reasons[0].startswith("街镇托底: the text says “找不到主”")
    assert d.reasons[2].startswith("unit STR ")
    assert " vs runner-up PWR " in d.reasons[2]
    assert d.reasons[2].endswith(f"; confidence {d.confidence:.2f} (threshold 0.60)")
    assert 0.4 < d.confidence < 0.60
    routed = rules.decide(POLE_NOBODY_OWNS, Hints(street_code=STREET), threshold=0.4)
    assert (routed.unit_code, routed.street_code, routed.needs_triage) == ("STR", STREET, False)


def test_words_of_disowning_without_a_street_unit_change_nothing() -> None:
    """The phrase is found, yet a table without the street office has nobody to hand it to."""
    items = tuple(item for item in parse_table(document(), UNITS).items if item.unit != "STR")
    rules = CompiledRules(7, items, Weights(fallback=0.0, model=0.0))
    d = rules.decide(POLE_NOBODY_OWNS, Hints(street_code=STREET), threshold=0.4)
    assert (d.unit_code, d.item_code) == ("PWR", "BJ01003")
    assert not any(r.startswith("街镇托底") for r in d.reasons)
    assert d.reasons[-1].startswith("only unit PWR matched")


def test_owners_asked_and_refusing_do_not_exclude_the_ownerless_item(demo: CompiledRules) -> None:
    """无主井盖 excludes texts that name an owner (水务, 电力 …), but here they are named as the
    owners asked, who said it is not theirs: the cover is ownerless and goes to the street, at the
    default threshold (街镇托底 routes, it is not a tie sent to triage)."""
    text = "门口人行道上有个井盖缺了一角，盖子上什么字都没有，问了水务、电力，都说不是他们的"
    d = demo.decide(text, Hints(street_code=STREET))
    assert (d.unit_code, d.item_code, d.needs_triage) == ("STR", "BJ01710", False), d.reasons
    assert any(r.startswith("BJ01710 无主井盖 not excluded by “水务”") for r in d.reasons)
    owned = demo.decide("门口人行道上有个井盖缺了一角，盖子上写着水务", Hints(street_code=STREET))
    assert owned.unit_code == "WTR"
    assert not any("not excluded" in r for r in owned.reasons)


def test_a_marked_owner_is_not_disowned_by_the_offices_that_refused(demo: CompiledRules) -> None:
    """Offices that are not the owner refusing (派到供电和城管，都说不是他们的) leave the cover's
    own marking (印着电信) standing: it is the telecom's, not the street's."""
    marked = ("田心大道人行道上一块印着电信字样的井盖丢了，只剩一个方洞。"
              "打城管和住建，都说不是他们的")
    d = demo.decide(marked, Hints(street_code=STREET))
    assert (d.unit_code, d.needs_triage) == ("TEL", False), d.reasons
    assert not any(r.startswith("街镇托底") for r in d.reasons)
    unmarked = "田心大道人行道上一块井盖丢了，只剩一个方洞。打城管和住建，都说不是他们的"
    assert demo.decide(unmarked, Hints(street_code=STREET)).unit_code in (None, "STR")


@pytest.mark.parametrize("yard", ["厂子早没了，院子没人管", "单位早没了，也没人认账",
                                  "这几栋楼没人管"])
def test_a_defunct_work_units_yard_is_ownerless(demo: CompiledRules, yard: str) -> None:
    pole = "老机械厂宿舍院子里那根路灯杆歪了，快倒了，"
    d = demo.decide(pole + yard, Hints(street_code=STREET))
    assert d.unit_code == "STR", d.reasons
    assert any(r.startswith("街镇托底") for r in d.reasons)
    kept = demo.decide(pole + "晚上看着吓人", Hints(street_code=STREET))
    assert kept.unit_code == "UMLE", kept.reasons


def test_a_stray_animal_nobody_owns_is_not_a_thing_without_an_owner(
        rules: CompiledRules) -> None:
    """无主 of a dog (无主流浪狗, 无主的狗) says it is a stray, not that no unit owns the matter;
    of a pole it still sends the pole to the street."""
    for stray in ("路口那根电线杆歪了，旁边一只无主流浪狗咬人",
                  "路口那根电线杆歪了，无主的狗天天叫"):
        d = rules.decide(stray, Hints(street_code=STREET))
        assert not any(r.startswith("街镇托底") for r in d.reasons), (stray, d.reasons)
    both = rules.decide("路口那根电线杆歪了，无主的狗天天叫，杆子也是无主的",
                        Hints(street_code=STREET))
    assert any(r.startswith("街镇托底: the text says “无主”") for r in both.reasons)


def test_neighbours_denying_the_source_do_not_make_a_thing_ownerless(demo: CompiledRules) -> None:
    """都说不是自己家的: each household says the smell is not from its home. They deny being the
    source, not owning an asset: the gas smell stays the gas company's, not the street's."""
    text = "楼道里一股臭鸡蛋味，二楼到五楼都闻得到，好几家都说不是自己家的，物业也没来人"
    d = demo.decide(text, Hints(street_code=STREET))
    assert (d.unit_code, d.needs_triage) == ("GAS", False), d.reasons
    assert not any(r.startswith("街镇托底") for r in d.reasons)
    disowned = demo.decide("楼道里一个井盖缺了，问了水务和燃气，都说不是他们的",
                           Hints(street_code=STREET))
    assert any(r.startswith("街镇托底") for r in disowned.reasons), disowned.reasons


def test_a_person_nobody_claims_is_no_thing_without_an_owner(demo: CompiledRules) -> None:
    """无人认领 of a person (一名男子…无人认领) makes them someone to take in, not an ownerless
    thing for the street; of a shed it still leaves the shed to the street."""
    person = demo.decide("车站广场有名男子赤脚游荡两天，疑似精神异常，无人认领，谁来接走安置",
                         Hints(street_code=STREET))
    assert (person.unit_code, person.needs_triage) == ("CAB", False), person.reasons
    assert not any(r.startswith("街镇托底") for r in person.reasons)
    shed = demo.decide("巷子里一个废弃铁皮棚往路上歪，锈穿了，问遍周边无人认领",
                       Hints(street_code=STREET))
    assert (shed.unit_code, shed.needs_triage) == ("STR", False), shed.reasons
