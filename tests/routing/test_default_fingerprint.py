"""The default router (phrases + similarity fallback + learned model) decides exactly as it did
before its speed work (`frozen_default/`, the code of that commit, verbatim).

Every text of tune.jsonl and tune2.jsonl is decided with the corpus' own hints and as four more
reports (grid app with a hotline category, WeChat with a picked item, each located and
unlocated, plus no hints at all). A decision's fingerprint is its unit, item, street,
triage flag, confidence (4 places), candidates (code, unit, score) and every reason (the
model's probabilities and quoted n-grams included).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gridops.routing.evaluate import LOCATED_STREET, load_corpus
from gridops.routing.rules import CompiledRules, Hints
from gridops.routing.table import ItemStandard, demo_rules_path, parse_table
from tests.routing.frozen_default import rules as frozen

CORPUS = Path(__file__).parent / "corpus"


def cases(items: tuple[ItemStandard, ...]) -> Iterator[tuple[str, Hints]]:
    examples = [*load_corpus(CORPUS / "tune.jsonl"), *load_corpus(CORPUS / "tune2.jsonl")]
    for n, ex in enumerate(examples):
        yield ex.text, Hints()
        for street in (ex.street_code or LOCATED_STREET, None):
            yield ex.text, Hints(channel=ex.channel, grid_code=ex.grid_code, street_code=street,
                                 item_code_hint=ex.item_code_hint, category=ex.category)
            yield ex.text, Hints(channel="grid_app", street_code=street, category=ex.text[:6])
            yield ex.text, Hints(channel="wechat", street_code=street,
                                 item_code_hint=items[(7 * n) % len(items)].code)


def row(d: Any) -> list[Any]:
    return [d.unit_code, d.item_code, d.street_code, d.needs_triage, round(d.confidence, 4),
            [[c.item_code, c.unit_code, c.score] for c in d.candidates], list(d.matched),
            list(d.reasons)]


def digest(rows: list[list[Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


@pytest.fixture(scope="module")
def demo_items() -> tuple[ItemStandard, ...]:
    return parse_table(demo_rules_path()).items


def test_default_decisions_match_the_frozen_router(demo_items: tuple[ItemStandard, ...]) -> None:
    fast = CompiledRules(3, demo_items)
    before = frozen.CompiledRules(3, demo_items)
    texts = list(cases(demo_items))
    assert len(texts) > 5000
    fast_rows, before_rows = [], []
    consulted = 0
    for text, hints in texts:
        old = before.decide(text, frozen.Hints(hints.channel, hints.grid_code, hints.street_code,
                                               hints.item_code_hint, hints.category))
        new = fast.decide(text, hints)
        assert row(new) == row(old), (text, hints)  # the first difference, readably
        fast_rows.append(row(new))
        before_rows.append(row(old))
        consulted += any(r.startswith("learned model consulted") for r in old.reasons)
    assert digest(fast_rows) == digest(before_rows)
    # The comparison exercises the model and the fallback, not just the phrases.
    assert consulted > len(texts) // 10
    assert any(r.startswith("phrase evidence weak") for rw in before_rows for r in rw[-1])
