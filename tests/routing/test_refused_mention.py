"""A unit the caller names only to say it turned the matter away (打了供电，说不归他们管) is
evidence against that unit, not for it; named once more without a refusal, it counts as named."""

from __future__ import annotations

import pytest

from gridops.routing.rules import CompiledRules, Hints, TextEvidence
from tests.routing.routing_sample import phrases_only

STREET = "430204001"
BOTH = "楼里停电又停水两天了，"


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return phrases_only()


def unit_lines(reasons: tuple[str, ...]) -> list[str]:
    return [r for r in reasons if "供电" in r]


def leader(reasons: tuple[str, ...]) -> str:
    """The unit ranked first, from the decision's last comparison ("unit PWR 8.00 vs …")."""
    [line] = [r for r in reasons if r.startswith("unit ")]
    return line.split()[1]


def test_a_unit_asked_for_gains(rules: CompiledRules) -> None:
    d = rules.decide(BOTH + "请供电公司尽快处理", Hints(street_code=STREET))
    assert leader(d.reasons) == "PWR"
    assert unit_lines(d.reasons) == ["text names the unit “供电” → PWR +1.5"]


@pytest.mark.parametrize("refusal", ["打了供电公司，说不归他们管", "供电所讲不是他们的事",
                                      "找了供电，他们让找水务", "供电所看了认为不是电的问题",
                                      "供电公司答复不是线路的事"])
def test_a_unit_that_turned_it_away_loses(rules: CompiledRules, refusal: str) -> None:
    plain = rules.decide(BOTH, Hints(street_code=STREET))
    d = rules.decide(BOTH + refusal, Hints(street_code=STREET))
    assert unit_lines(d.reasons) == ["text says “供电” turned it away → PWR −1.5"]
    assert leader(d.reasons) == "WTR"
    assert leader(plain.reasons) == "PWR"  # the table's own order, before the refusal
    assert "text names the unit “供电”" not in " ".join(d.reasons)


def test_named_again_without_refusal_counts_as_named(rules: CompiledRules) -> None:
    d = rules.decide(BOTH + "供电所先说不归他们管，后来供电所又答应今天来修",
                     Hints(street_code=STREET))
    assert unit_lines(d.reasons) == ["text names the unit “供电” → PWR +1.5"]
    assert leader(d.reasons) == "PWR"


def test_a_refusal_far_from_the_name_is_not_its_refusal(rules: CompiledRules) -> None:
    d = rules.decide(BOTH + "已经请供电公司的师傅上门看过线路和电表了，物业说不归他们管",
                     Hints(street_code=STREET))
    assert unit_lines(d.reasons)[0] == "text names the unit “供电” → PWR +1.5"


@pytest.mark.parametrize("question", ["不知道该找供电还是找水务", "是找供电的还是物业的？",
                                       "该找物业还是供电"])
def test_a_unit_named_as_one_of_the_alternatives_is_no_request(rules: CompiledRules,
                                                             question: str) -> None:
    d = rules.decide(BOTH + question, Hints(street_code=STREET))
    assert unit_lines(d.reasons) == []
    asked = rules.decide(BOTH + "请供电公司来修", Hints(street_code=STREET))
    assert unit_lines(asked.reasons) == ["text names the unit “供电” → PWR +1.5"]


PRICES = "药店的药不贴价格，结账时随口报价，比隔壁贵一倍，"


def model_line(reasons: tuple[str, ...]) -> str:
    [line] = [r for r in reasons if r.startswith("learned model consulted")]
    return line


def test_a_refusing_units_name_is_neither_read_by_the_model_nor_an_exclusion(
        demo: CompiledRules) -> None:
    """医保局称不归其管: the model reads no 医保 n-gram, and 医保 (which excludes the drug
    item: a question about reimbursement is the insurance bureau's) excludes nothing."""
    refused = demo.decide(PRICES + "打了医保局，医保局称不归其管", Hints(street_code=STREET))
    assert refused.unit_code == "MRB"
    assert not any(r.startswith("排除 ") for r in refused.reasons)
    assert "医" not in model_line(refused.reasons).split(" for ")[-1]
    asked = demo.decide(PRICES + "请医保局查一下", Hints(street_code=STREET))
    assert any(r.startswith("排除 SJ11041 ") for r in asked.reasons)
    assert "“医保”" in model_line(asked.reasons)


def test_the_alternatives_of_a_question_are_not_read_by_the_model(demo: CompiledRules) -> None:
    text = "家门口的路灯一到晚上就闪，不知道该找供电还是城管"
    scanned = demo.scan(text)
    assert set(scanned.wavering) == {"PWR", "UMLE"}
    assert not scanned.units
    read = demo.model_ids(scanned).tolist()
    blanked = TextEvidence(scanned.norm.replace("供电", "|").replace("城管", "|"))
    whole = TextEvidence(scanned.norm)
    assert read == demo.model_ids(blanked).tolist()
    assert read != demo.model_ids(whole).tolist()  # the model knows those names' n-grams
