"""The scan finds combos through their part rarest in complaints and adds keys to the automaton
in the order that makes it fast (with keys that never match); here it is held against the plain
reading it replaced: every key's first occurrence found by `str.find`, phrases counted in that
order, then combos in the order of the first occurrence of their part rarest in the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gridops.routing.negation import denied
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Weights
from gridops.routing.scoring import Evidence
from gridops.routing.table import demo_rules_path, parse_table

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return CompiledRules(1, parse_table(demo_rules_path()).items,
                         Weights(fallback=0.0, model=0.0))


_Combo = tuple[int, frozenset[str], str, str]  # item, parts, display, the table-rarest part


def table_combos(rules: CompiledRules) -> list[_Combo]:
    """Each combo under the part fewest of the table's combos use (then the longest)."""
    combos = [(index, frozenset(normalise(p) for p in combo), "+".join(combo))
              for index, item in enumerate(rules.items) for combo in item.combos]
    uses: dict[str, int] = {}
    for _, keys, _ in combos:
        for key in keys:
            uses[key] = uses.get(key, 0) + 1
    return [(index, keys, display, min(keys, key=lambda k: (uses[k], -len(k), k)))
            for index, keys, display in combos]


def plain_scan(rules: CompiledRules, combos: list[_Combo], text: str,
               factor: float = 1.0) -> Evidence:
    norm = normalise(text)
    evidence = Evidence(norm)
    records = {record[2]: record for record in rules._records}
    # Each key in the order the first router met it: by where its first occurrence ends, the
    # longer first (as Aho–Corasick reports).
    present = [key for key in records if key and key in norm]
    present.sort(key=lambda key: (norm.find(key) + len(key), -len(key)))
    several: list[int] = []
    for key in present:
        entries, excluding, _, _ = records[key]
        for index, phrase, weight in entries:
            if index in evidence.found:
                several.append(index)
            evidence.found.setdefault(index, {})[phrase] = weight * factor
        for index in excluding if not denied(norm, key) else ():
            evidence.excluded.setdefault(index, key)
    # A unit named twice is quoted by its last naming.
    namings = []
    for key in present:
        if records[key][3]:
            at = norm.find(key)
            while at >= 0:
                namings.append((at + len(key), -len(key), key))
                at = norm.find(key, at + 1)
    for _, _, key in sorted(namings):
        evidence.units.update(dict.fromkeys(records[key][3], key))
    # Combos after every phrase, in the order their table-rarest part first occurs.
    found = []
    for number, (index, keys, display, anchor) in enumerate(combos):
        if anchor and all(key in norm for key in keys):
            found.append(((norm.find(anchor) + len(anchor), -len(anchor), number), index,
                          display))
    for _, index, display in sorted(found):
        evidence.phrase(index, display, rules.weights.combo * factor)
    if several:
        rules._drop_covered(evidence.found, several)
    return evidence


def texts() -> list[str]:
    rows = [json.loads(line) for part in ("tune.jsonl", "tune2.jsonl")
            for line in (CORPUS / part).read_text("utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows[::3]] + [row["item"] for row in rows[::7]]


def test_the_scan_finds_what_the_plain_reading_finds_in_the_same_order(
        rules: CompiledRules) -> None:
    combos, matched = table_combos(rules), 0
    for text in texts():
        fast, plain = rules.scan(text), plain_scan(rules, combos, text)
        assert list(fast.found) == list(plain.found), text
        for index in plain.found:
            assert list(fast.found[index].items()) == list(plain.found[index].items()), text
        assert fast.excluded == plain.excluded
        assert fast.units == plain.units
        matched += sum("+" in key for found in plain.found.values() for key in found)
    assert matched > 50  # the texts do match combos
    category = rules.scan("城市管理/市容环境/占道经营", 0.5, exclusions=False)
    assert category.found == plain_scan(rules, combos, "城市管理/市容环境/占道经营", 0.5).found


def test_keys_that_never_match_are_never_reported(rules: CompiledRules) -> None:
    never = [key for key in rules.automaton if key.endswith("\x00")]
    assert never
    for text in texts()[:100]:
        assert all(key_id >= 0 for _, key_id in rules.automaton.iter(normalise(text)))
