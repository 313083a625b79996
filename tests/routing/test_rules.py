import time

import pytest

from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import parse_table
from tests.routing.routing_sample import ITEMS, UNITS, document, phrases_only

STREET = "430204001"


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return phrases_only()


def test_strong_phrase_routes_with_confidence_and_explains(rules: CompiledRules) -> None:
    d = rules.decide("小区从早上开始停电了，冰箱里的东西都坏了", Hints(street_code=STREET))
    assert (d.unit_code, d.item_code, d.needs_triage, d.ruleset_version) == ("PWR", "SJ09002",
                                                                            False, 7)
    assert d.matched[0] == "停电"
    assert 0.55 <= d.confidence <= 1
    assert any("停电" in r for r in d.reasons)


def test_full_width_and_spaces_do_not_hide_a_phrase(rules: CompiledRules) -> None:
    assert rules.decide("楼下 燃 气 泄 漏！！", Hints()).item_code == "SJ04001"


def test_exclusion_removes_an_item_and_says_so(rules: CompiledRules) -> None:
    d = rules.decide("那家饭店店外经营，桌子摆到路边卖烧烤", Hints())
    assert d.item_code == "SJ05002"
    assert all(c.item_code != "SJ05001" for c in d.candidates)
    assert any(r.startswith("排除 SJ05001") for r in d.reasons)


def test_combo_needs_every_part(rules: CompiledRules) -> None:
    assert rules.decide("有人在路边卖西瓜，一直不走", Hints()).item_code == "SJ05001"
    assert rules.decide("有人在路边，一直不走", Hints()).needs_triage


def test_substring_of_a_longer_phrase_of_the_same_item_counts_once(rules: CompiledRules) -> None:
    # 垃圾 lies inside 暴露垃圾: the item scores the longer phrase only.
    d = rules.decide("这里有暴露垃圾", Hints())
    assert d.matched == ("暴露垃圾",)
    assert d.candidates[0].score == pytest.approx(1.2)


def test_item_hint_is_a_strong_prior_that_text_can_still_beat(rules: CompiledRules) -> None:
    silent = rules.decide("请处理", Hints(item_code_hint="SJ09003", channel="grid_app"))
    assert (silent.item_code, silent.needs_triage) == ("SJ09003", False)
    loud = rules.decide("燃气泄漏，煤气味很重，天然气味", Hints(item_code_hint="SJ09003",
                                                          channel="wechat"))
    assert loud.candidates[0].unit_code == "GAS"  # ahead of the hinted item, whatever the threshold
    unknown = rules.decide("燃气泄漏", Hints(item_code_hint="SJ99999"))
    assert any("not in table" in r for r in unknown.reasons)


def test_hotline_category_helps_at_reduced_weight(rules: CompiledRules) -> None:
    plain = rules.decide("家里水很小", Hints())
    helped = rules.decide("家里水很小", Hints(category="供水/水压低"))
    assert helped.item_code == "SJ09004"
    assert helped.confidence > plain.confidence
    assert any("hotline category" in r for r in helped.reasons)


def test_str_item_needs_a_known_street(rules: CompiledRules) -> None:
    text = "楼上邻居吵架，邻里纠纷好几天了"
    located = rules.decide(text, Hints(street_code=STREET))
    assert (located.unit_code, located.street_code) == ("STR", STREET)
    assert any(r.startswith("属地") for r in located.reasons)
    unlocated = rules.decide(text, Hints())
    assert unlocated.needs_triage
    assert unlocated.unit_code is None
    assert unlocated.candidates[0].unit_code == "STR"


def test_two_items_of_one_unit_are_not_ambiguous_about_the_unit(rules: CompiledRules) -> None:
    d = rules.decide("停水了，水压低", Hints())
    assert d.unit_code == "WTR"
    assert not d.needs_triage
    assert {c.item_code for c in d.candidates[:2]} == {"SJ09003", "SJ09004"}


def test_two_units_level_means_triage_with_candidates(rules: CompiledRules) -> None:
    d = rules.decide("变压器旁边的自来水井盖", Hints(street_code=STREET))
    assert d.needs_triage
    assert {c.unit_code for c in d.candidates} == {"PWR", "WTR"}
    assert any("triage" in r for r in d.reasons)


def test_asset_goes_to_its_owner_before_the_street(rules: CompiledRules) -> None:
    d = rules.decide("路口那个没人管的电线杆", Hints(street_code=STREET), threshold=0.4)
    assert d.unit_code == "PWR"
    assert any(r.startswith("部件先属主") for r in d.reasons)


def test_event_goes_to_the_street_first_when_it_competes(rules: CompiledRules) -> None:
    text = "背街小巷里有人乱倒垃圾"
    d = rules.decide(text, Hints(street_code=STREET), threshold=0.4)
    assert any(r.startswith("事件先属地") for r in d.reasons)
    assert d.unit_code == "STR"


def test_nothing_matched_goes_to_triage(rules: CompiledRules) -> None:
    d = rules.decide("。。。", Hints())
    assert d.needs_triage
    assert d.candidates == ()
    assert d.confidence == 0


def test_threshold_is_respected(rules: CompiledRules) -> None:
    text = "有个小贩"
    assert not rules.decide(text, Hints(), threshold=0.1).needs_triage
    assert rules.decide(text, Hints(), threshold=0.99).needs_triage


def test_items_lookup_and_compile_is_fast() -> None:
    items = parse_table(document(), UNITS).items
    start = time.perf_counter()
    rules = CompiledRules(1, items * 12)
    assert time.perf_counter() - start < 0.5
    assert rules.item("SJ05001") is not None
    assert rules.item("SJ00000") is None
    assert len(ITEMS) == 25


def test_a_named_unit_breaks_a_tie_and_enters_below_matched_evidence(
        rules: CompiledRules) -> None:
    d = rules.decide("变压器旁边的自来水井盖松了，请自来水公司处理", Hints())
    assert d.unit_code == "WTR"
    assert any("自来水公司" in r for r in d.reasons)
    # 城管 is named but no UMLE phrase matched: UMLE enters at the mention's weight only (with
    # its item most like the text, at score 0), far below the outage's strong phrase.
    alone = rules.decide("楼下停电了，请城管处理", Hints())
    assert alone.unit_code == "PWR"
    assert [c.unit_code for c in alone.candidates] == ["PWR", "UMLE"]
    assert alone.candidates[-1].score == 0.0
    assert "text names the unit “城管” → UMLE +1.5" in alone.reasons


def test_a_request_is_heard_beside_evidence_and_the_street_never_enters_by_name(
        rules: CompiledRules) -> None:
    # No phrase matched, and the model is off: the request alone routes (1.5 with no rival).
    asked = rules.decide("昨晚的事，请城管来处理一下", Hints())
    assert (asked.unit_code, asked.needs_triage) == ("UMLE", False), asked.reasons
    assert asked.candidates[0].score == 0.0
    assert "text names the unit “城管” → UMLE +1.5" in asked.reasons
    # Naming the street office alone names nothing: triage, as with no evidence at all.
    nothing = rules.decide("昨晚的事，找了居委会", Hints())
    assert nothing.needs_triage
    assert nothing.reasons == ("no phrase of any item matched (无匹配事项) → triage",)
    # A plain phrase of another unit (变压器, 1.1) and the request (1.5) are close: triage, with
    # both units for the dispatcher.
    mixed = rules.decide("变压器响，请城管来处理一下", Hints())
    assert mixed.needs_triage
    assert {c.unit_code for c in mixed.candidates} == {"PWR", "UMLE"}
    street = rules.decide("变压器响，找了居委会", Hints())
    assert {c.unit_code for c in street.candidates} == {"PWR"}


def test_a_strong_phrase_inside_a_weaker_longer_phrase_keeps_its_weight() -> None:
    # 变压器 is strong (6.5); 变压器嗡嗡响 is a plain phrase (1.4): the long one must not wipe
    # out the strong one, while 垃圾 inside the heavier 暴露垃圾 still counts once.
    rows = [dict(r) for r in ITEMS]
    for row in rows:
        if row["code"] == "BJ01004":
            row.update(phrases=["箱变", "变压器", "变压器嗡嗡响"], strong=["变压器"])
    strong = CompiledRules(1, parse_table(document(rows), UNITS).items,
                           Weights(fallback=0.0, model=0.0))
    d = strong.decide("楼下变压器嗡嗡响一整夜", Hints())
    assert d.item_code == "BJ01004"
    assert set(d.matched) == {"变压器", "变压器嗡嗡响"}
    assert d.candidates[0].score == pytest.approx(Weights().strong + 1.4)
    assert strong.decide("这里有暴露垃圾", Hints()).matched == ("暴露垃圾",)


def test_what_nobody_owns_goes_to_the_street(rules: CompiledRules) -> None:
    """街镇托底: the asset reads like PWR's, but the text says no owner can be found."""
    owned = rules.decide("路口那根电线杆歪了，快倒了", Hints(street_code=STREET), threshold=0.4)
    assert owned.unit_code == "PWR"
    assert not any(r.startswith("街镇托底") for r in owned.reasons)
    text = "路口那根电线杆歪了，快倒了，问了一圈找不到主"
    d = rules.decide(text, Hints(street_code=STREET), threshold=0.4)
    assert (d.unit_code, d.street_code, d.item_code) == ("STR", STREET, "BJ06001")
    assert any(r.startswith("街镇托底") and "找不到主" in r for r in d.reasons)
    assert not d.needs_triage
    # The street is the owner only where the street is known.
    assert rules.decide(text, Hints(), threshold=0.4).needs_triage
    off = CompiledRules(7, rules.items, Weights(fallback=0.0, model=0.0, no_owner=0.0))
    assert off.decide(text, Hints(street_code=STREET), threshold=0.4).unit_code == "PWR"
