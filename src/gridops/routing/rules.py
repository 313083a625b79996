"""The router: one rule-table version compiled into one Aho–Corasick automaton.

Deciding is pure (no I/O): normalise the text, scan it once, score items from phrase weights,
combos and exclusions, add the hints, aggregate by unit, apply the routing principles, and
either name one accountable unit or send the incident to triage with its candidates
(`gridops.routing.decide`). Every step leaves a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

from gridops.routing.aliases import UNIT_ALIASES
from gridops.routing.normalise import normalise
from gridops.routing.scoring import Evidence, Weights, phrase_weight
from gridops.routing.table import ItemStandard

__all__ = ["Candidate", "CompiledRules", "Decision", "Hints", "ItemStandard", "Weights"]

# One automaton value per key: (phrase entries (item, key, weight), items excluded by it, the
# key, combos anchored on it, units it names). Only a combo's anchor (its rarest part) is in the
# automaton; when it is seen, the other parts are plain substring tests. Common one-character
# parts (路, 水, 门) would otherwise wake the Python loop at every other character.
_Value = tuple[tuple[tuple[int, str, float], ...], tuple[int, ...], str, tuple[int, ...],
               tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Hints:
    channel: str | None = None
    grid_code: str | None = None
    street_code: str | None = None
    item_code_hint: str | None = None
    category: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    item_code: str
    item_name: str
    unit_code: str
    score: float


@dataclass(frozen=True, slots=True)
class Decision:
    item: ItemStandard | None
    unit_code: str | None
    street_code: str | None
    confidence: float
    matched: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    ruleset_version: int
    needs_triage: bool
    reasons: tuple[str, ...]

    @property
    def item_code(self) -> str | None:
        return self.item.code if self.item else None


class CompiledRules:
    """One rule-table version, ready to match; built once, shared by every request."""

    def __init__(self, version: int, items: Sequence[ItemStandard],
                 weights: Weights | None = None) -> None:
        self.version = version
        self.items = tuple(items)
        self.weights = weights or Weights()
        self._by_code = {item.code: i for i, item in enumerate(self.items)}
        self._display: dict[str, str] = {}
        # (item, phrase) -> longer phrases of the same item containing it: never count both
        self._covered_by: dict[tuple[int, str], tuple[str, ...]] = {}
        self._combos: list[tuple[int, frozenset[str], str]] = []  # id -> (item, parts, display)
        self._exclude_display: dict[str, str] = {}
        self.automaton = self._build()

    def item(self, code: str) -> ItemStandard | None:
        index = self._by_code.get(code)
        return None if index is None else self.items[index]

    def index(self, code: str | None) -> int | None:
        return None if code is None else self._by_code.get(code)

    def display(self, key: str) -> str:
        return self._display.get(key, key)

    def exclusion_display(self, key: str) -> str:
        return self._exclude_display.get(key, key)

    def _build(self) -> ahocorasick.Automaton:
        phrases: dict[str, list[tuple[int, str, float]]] = {}
        excludes: dict[str, list[int]] = {}
        anchors: dict[str, list[int]] = {}
        combos: list[tuple[int, frozenset[str], str]] = []
        for index, item in enumerate(self.items):
            self._add_item(index, item, phrases, excludes)
            combos.extend((index, frozenset(normalise(p) for p in combo), "+".join(combo))
                          for combo in item.combos)
        # Anchor each combo on its rarest part (fewest combos use it; then the longest), so a
        # text full of 路 and 水 wakes few combos.
        uses: dict[str, int] = {}
        for _, keys, _ in combos:
            for key in keys:
                uses[key] = uses.get(key, 0) + 1
        for combo_id, (_, keys, _) in enumerate(combos):
            anchor = min(keys, key=lambda k: (uses[k], -len(k), k))
            anchors.setdefault(anchor, []).append(combo_id)
        self._combos = combos
        mentions: dict[str, list[str]] = {}
        for unit, aliases in UNIT_ALIASES.items():
            for alias in aliases:
                mentions.setdefault(normalise(alias), []).append(unit)
        automaton = ahocorasick.Automaton()
        for key in phrases.keys() | excludes.keys() | anchors.keys() | mentions.keys():
            value: _Value = (tuple(phrases.get(key, ())), tuple(excludes.get(key, ())),
                             key, tuple(anchors.get(key, ())), tuple(mentions.get(key, ())))
            automaton.add_word(key, value)
        automaton.make_automaton()
        return automaton

    def _add_item(self, index: int, item: ItemStandard,
                  table: dict[str, list[tuple[int, str, float]]],
                  excludes: dict[str, list[int]]) -> None:
        w = self.weights
        excluded = {normalise(e): e for e in item.exclude}
        phrases: dict[str, float] = {}
        # The official name is a phrase too, unless the item's own exclusions contradict it.
        sources = [(item.name, w.phrase), *((p, w.phrase) for p in item.phrases),
                   *((s, w.strong) for s in item.strong)]
        for raw, base in sources:
            key = normalise(raw)
            if not key or any(key in e or e in key for e in excluded):
                continue
            self._display.setdefault(key, raw)
            phrases[key] = max(phrases.get(key, 0.0), phrase_weight(key, base, w))
        for key, weight in phrases.items():
            table.setdefault(key, []).append((index, key, weight))
            longer = tuple(k for k in phrases if k != key and key in k)
            if longer:
                self._covered_by[(index, key)] = longer
        for key, raw in excluded.items():
            excludes.setdefault(key, []).append(index)
            self._exclude_display.setdefault(key, raw)

    def scan(self, text: str, factor: float = 1.0, *, exclusions: bool = True) -> Evidence:
        """Evidence from one pass of the automaton over the normalised text."""
        evidence = Evidence()
        norm = normalise(text)
        if not norm:
            return evidence
        found = evidence.found
        anchored: list[int] = []
        for _end, (phrase_entries, excluded, key, anchors, units) in self.automaton.iter(norm):
            for index, phrase, weight in phrase_entries:
                weight *= factor
                item_found = found.get(index)
                if item_found is None:
                    found[index] = {phrase: weight}
                elif weight > item_found.get(phrase, 0.0):
                    item_found[phrase] = weight
            if excluded and exclusions:
                for index in excluded:
                    evidence.excluded.setdefault(index, key)
            if anchors:
                anchored.extend(anchors)
            if units:
                evidence.units.update(dict.fromkeys(units, key))
        for combo_id in anchored:
            index, needed, display = self._combos[combo_id]
            if all(part in norm for part in needed):
                evidence.phrase(index, display, self.weights.combo * factor)
        if self._covered_by:
            self._drop_covered(evidence)
        return evidence

    def _drop_covered(self, evidence: Evidence) -> None:
        covered_by = self._covered_by
        for index, found in evidence.found.items():
            if len(found) < 2:
                continue
            for key in [k for k in found if (index, k) in covered_by]:
                if any(longer in found for longer in covered_by[(index, key)]):
                    del found[key]

    def decide(self, text: str, hints: Hints | None = None, threshold: float = 0.55,
               ) -> Decision:
        return _decide.decide(self, text, hints or Hints(), threshold)


# At the end: decide.py imports the types above (a module reference resolves at call time).
from gridops.routing import decide as _decide  # noqa: E402
