"""The similarity fallback: texts with no or weak phrase evidence, and clear matches left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridops.routing.evaluate import load_corpus
from gridops.routing.normalise import normalise
from gridops.routing.reporter import split
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.similarity import ItemSimilarity, item_document
from gridops.routing.table import ItemStandard, demo_rules_path, parse_table
from tests.routing.routing_sample import UNITS, document

STREET = "430204001"
TUNE = Path(__file__).parent / "corpus" / "tune.jsonl"
# No phrase of the sample table is in it (not 路灯, not 灯不亮): only its wording is about lights.
DARK_STREET = "街边那排灯晚上都不亮了，黑漆漆的"


@pytest.fixture(scope="module")
def items() -> tuple[ItemStandard, ...]:
    return parse_table(document(), UNITS).items


@pytest.fixture(scope="module")
def rules(items: tuple[ItemStandard, ...]) -> CompiledRules:
    return CompiledRules(7, items, Weights(model=0.0))  # the similarity alone


@pytest.fixture(scope="module")
def phrases_only(items: tuple[ItemStandard, ...]) -> CompiledRules:
    return CompiledRules(7, items, Weights(fallback=0.0, model=0.0))


def clear(rules: CompiledRules, text: str) -> bool:
    """Whether the text alone gives some item (not excluded) a clear phrase score, in the matter
    the router reads at full weight (a reporter's opening counts a quarter: `reporter.split`)."""
    evidence = rules.scan(split(text)[1])
    scores = [sum(found.values()) for index, found in evidence.found.items()
              if index not in evidence.excluded]
    return bool(scores) and max(scores) >= rules.weights.fallback_below


def test_a_street_light_text_without_phrases_routes_by_similarity(
        rules: CompiledRules, phrases_only: CompiledRules) -> None:
    assert rules.scan(DARK_STREET).found == {}
    assert phrases_only.decide(DARK_STREET, Hints(street_code=STREET)).needs_triage
    d = rules.decide(DARK_STREET, Hints(street_code=STREET))
    assert (d.unit_code, d.item_code, d.needs_triage, d.matched) == ("UMLE", "BJ01001", False,
                                                                     ())
    assert d.confidence >= 0.55
    assert any(r.startswith("phrase evidence weak: wording similar to BJ01001 路灯不亮")
               for r in d.reasons)
    assert any("no phrase in the text, wording similarity" in r for r in d.reasons)


def test_a_clear_phrase_match_is_never_overturned(rules: CompiledRules,
                                                  phrases_only: CompiledRules) -> None:
    # A strong 燃气泄漏 beside a sentence that reads exactly like the street-light item.
    text = "燃气泄漏，" + DARK_STREET
    assert clear(rules, text)
    assert rules.decide(text, Hints()) == phrases_only.decide(text, Hints())
    assert rules.decide(text, Hints()).unit_code == "GAS"


def test_no_clear_tune_decision_changes_with_the_demo_table() -> None:
    items = parse_table(demo_rules_path()).items
    with_fallback = CompiledRules(1, items, Weights(model=0.0))
    without = CompiledRules(1, items, Weights(fallback=0.0, model=0.0))
    clear_texts = 0
    for example in load_corpus(TUNE):
        hints = Hints(channel=example.channel, street_code=STREET)
        if clear(with_fallback, example.text):
            clear_texts += 1
            assert with_fallback.decide(example.text, hints) == without.decide(example.text,
                                                                               hints)
    assert clear_texts > 100  # the comparison covered the bulk of the corpus


def test_weak_evidence_is_supported_by_similar_wording(rules: CompiledRules,
                                                       phrases_only: CompiledRules) -> None:
    weak = phrases_only.decide("有个小贩", Hints())
    helped = rules.decide("有个小贩", Hints())
    assert weak.candidates[0].item_code == helped.candidates[0].item_code == "SJ05001"
    assert helped.candidates[0].score > weak.candidates[0].score
    assert helped.confidence >= weak.confidence
    assert any("wording similar to SJ05001" in r for r in helped.reasons)


def test_an_excluded_item_is_not_brought_back_by_similarity(rules: CompiledRules) -> None:
    # 路灯不亮 excludes 电杆: however alike the wording, it stays out.
    d = rules.decide("电杆上的灯晚上不亮", Hints(street_code=STREET))
    assert all(c.item_code != "BJ01001" for c in d.candidates)
    assert d.unit_code == "PWR"


def test_stop_words_alone_are_no_evidence(rules: CompiledRules) -> None:
    d = rules.decide("我们这里的那个问题一直没有解决", Hints(street_code=STREET))
    assert d.needs_triage
    assert d.candidates == ()
    assert any("no phrase of any item matched" in r for r in d.reasons)


def test_off_means_off(phrases_only: CompiledRules) -> None:
    assert phrases_only.similar(normalise(DARK_STREET), 3) == []
    assert not any("wording" in r for r in phrases_only.decide(DARK_STREET, Hints()).reasons)


def test_similarity_ranks_an_items_own_wording_first(items: tuple[ItemStandard, ...]) -> None:
    similarity = ItemSimilarity(items)
    for index, item in enumerate(items):
        own = "".join(item_document(item))
        best, value = similarity.top(own, 1)[0]
        assert (best, item.code) == (index, item.code)
        assert 0.5 < value <= 1.0 + 1e-9
    scores = similarity.scores(normalise(DARK_STREET))
    assert len(scores) == len(items)
    assert all(0.0 <= s <= 1.0 + 1e-9 for s in scores)
    top = similarity.top(normalise(DARK_STREET), 3)
    assert [value for _, value in top] == sorted((value for _, value in top), reverse=True)
    assert similarity.top("", 3) == []


def test_the_fallback_weight_is_lower_than_a_clear_match() -> None:
    w = Weights()
    # Only consulted below a combo's weight, and a typical similarity (0.2–0.3) adds less than a
    # strong phrase.
    assert 0 < w.fallback_below <= w.combo < w.strong
    assert w.fallback * 0.3 < w.strong
