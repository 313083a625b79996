"""The optimised router decides exactly as the plain reference (reference_router.py) does.

Every tune text is decided with the hints the corpus gives, then again as a grid-app report
with a hotline category and as a WeChat report with a picked item, each located and unlocated;
the fingerprint covers item, unit, street, confidence, matched phrases, candidates with scores,
triage and every reason. Only the phrase evidence is compared: the similarity fallback is off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from gridops.routing.evaluate import LOCATED_STREET, Example, load_corpus
from gridops.routing.rules import CompiledRules, Decision, Hints, Weights
from gridops.routing.table import ItemStandard, demo_rules_path, parse_table
from tests.routing.reference_router import ReferenceRules
from tests.routing.routing_sample import UNITS, document

TUNE = Path(__file__).parent / "corpus" / "tune.jsonl"
NO_FALLBACK = Weights(fallback=0.0, model=0.0)  # phrase evidence only


class Router(Protocol):
    def decide(self, text: str, hints: Hints | None = None, threshold: float = 0.55,
               ) -> Decision: ...


def cases(examples: list[Example], items: tuple[ItemStandard, ...]) -> Iterator[
        tuple[str, Hints]]:
    for located in (True, False):
        for n, ex in enumerate(examples):
            street = ex.street_code or (LOCATED_STREET if located else None)
            yield ex.text, Hints(channel=ex.channel, grid_code=ex.grid_code, street_code=street,
                                 item_code_hint=ex.item_code_hint, category=ex.category)
            yield ex.text, Hints(channel="grid_app", street_code=street, category=ex.text[:6])
            yield ex.text, Hints(channel="wechat", street_code=street,
                                 item_code_hint=items[n % len(items)].code)


def row(d: Decision) -> list[Any]:
    return [d.item_code, d.unit_code, d.street_code, d.confidence, list(d.matched),
            [list(c) for c in d.candidates], d.needs_triage, list(d.reasons),
            d.ruleset_version]


def fingerprint(router: Router, texts: list[tuple[str, Hints]]) -> str:
    rows = [row(router.decide(text, hints, 0.55)) for text, hints in texts]
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def compare(items: tuple[ItemStandard, ...], texts: list[tuple[str, Hints]]) -> None:
    fast = CompiledRules(3, items, NO_FALLBACK)
    plain = ReferenceRules(3, items, NO_FALLBACK)
    for text, hints in texts:  # the first difference, readably
        assert row(fast.decide(text, hints)) == row(plain.decide(text, hints)), (text, hints)
    assert fingerprint(fast, texts) == fingerprint(plain, texts)


@pytest.fixture(scope="module")
def demo_items() -> tuple[ItemStandard, ...]:
    return parse_table(demo_rules_path()).items


def test_every_tune_decision_is_unchanged(demo_items: tuple[ItemStandard, ...]) -> None:
    texts = list(cases(load_corpus(TUNE), demo_items))
    assert len(texts) == 6 * len(load_corpus(TUNE))
    compare(demo_items, texts)


def test_sample_table_decisions_are_unchanged() -> None:
    items = parse_table(document(), UNITS).items
    samples = ("那家饭店店外经营，桌子摆到路边卖烧烤",
               "变压器旁边的自来水井盖松了，请自来水公司处理",
               "路口那个没人管的电线杆", "背街小巷里有人乱倒垃圾", "停水了，水压低",
               "城管城管，执法局和城管都不来，路边卖菜的", "。。。", "这里有暴露垃圾，垃圾堆")
    texts = [(text, Hints(street_code=street, category=category, item_code_hint=hint))
             for text in samples
             for street in ("430204001", None)
             for category in (None, "供水/水压低")
             for hint in (None, "SJ09003")]
    compare(items, texts)


def test_fingerprint_notices_a_changed_decision(demo_items: tuple[ItemStandard, ...]) -> None:
    texts = list(cases(load_corpus(TUNE), demo_items))[:50]
    fast = CompiledRules(3, demo_items, NO_FALLBACK)
    shifted = CompiledRules(3, demo_items, Weights(fallback=0.0, model=0.0, unit_support=0.3))
    assert fingerprint(fast, texts) != fingerprint(shifted, texts)
