"""The router as first written (PR #3): a plain, obviously-correct reference.

`CompiledRules` is an optimised version of this code; `test_rules_equivalence.py` checks that
both give the same decisions (item, unit, street, confidence, matched phrases, candidates and
every reason) on every tune text, so speed work cannot change a result unnoticed. Only the
text evidence is compared: the similarity fallback is off in that comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ahocorasick

from gridops.routing.aliases import UNIT_ALIASES
from gridops.routing.normalise import normalise
from gridops.routing.rules import Candidate, Decision, Hints
from gridops.routing.scoring import Weights, phrase_weight
from gridops.routing.table import ItemStandard

STR = "STR"
MAX_CANDIDATES = 5

_Value = tuple[tuple[tuple[int, str, float], ...], tuple[int, ...], str, tuple[int, ...],
               tuple[str, ...]]


class RefEvidence:
    def __init__(self) -> None:
        self.found: dict[int, dict[str, float]] = {}
        self.excluded: dict[int, str] = {}
        self.units: dict[str, str] = {}

    def phrase(self, index: int, key: str, weight: float) -> None:
        found = self.found.get(index)
        if found is None:
            self.found[index] = {key: weight}
        elif weight > found.get(key, 0.0):
            found[key] = weight

    def scores(self) -> dict[int, float]:
        return {index: sum(found.values()) for index, found in self.found.items()}


class ReferenceRules:
    def __init__(self, version: int, items: Sequence[ItemStandard],
                 weights: Weights | None = None) -> None:
        self.version = version
        self.items = tuple(items)
        self.weights = weights or Weights()
        self._by_code = {item.code: i for i, item in enumerate(self.items)}
        self._display: dict[str, str] = {}
        self._covered_by: dict[tuple[int, str], tuple[str, ...]] = {}
        self._weight: dict[tuple[int, str], float] = {}
        self._combos: list[tuple[int, frozenset[str], str]] = []
        self._exclude_display: dict[str, str] = {}
        self.automaton = self._build()

    def _build(self) -> ahocorasick.Automaton:
        phrases: dict[str, list[tuple[int, str, float]]] = {}
        excludes: dict[str, list[int]] = {}
        anchors: dict[str, list[int]] = {}
        combos: list[tuple[int, frozenset[str], str]] = []
        for index, item in enumerate(self.items):
            self._add_item(index, item, phrases, excludes)
            combos.extend((index, frozenset(normalise(p) for p in combo), "+".join(combo))
                          for combo in item.combos)
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
            self._weight[(index, key)] = weight
            longer = tuple(k for k in phrases if k != key and key in k)
            if longer:
                self._covered_by[(index, key)] = longer
        for key, raw in excluded.items():
            excludes.setdefault(key, []).append(index)
            self._exclude_display.setdefault(key, raw)

    def scan(self, text: str, factor: float = 1.0, *, exclusions: bool = True) -> RefEvidence:
        evidence = RefEvidence()
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
        self._drop_covered(evidence)
        return evidence

    def _drop_covered(self, evidence: RefEvidence) -> None:
        # A phrase inside a longer matched phrase of the same item counts once, unless it
        # weighs more than the longer one (a strong 变压器 inside a plain 变压器嗡嗡响).
        for index, found in evidence.found.items():
            for key in [k for k in found if (index, k) in self._covered_by]:
                mine = self._weight[(index, key)]
                if any(longer in found and self._weight[(index, longer)] >= mine
                       for longer in self._covered_by[(index, key)]):
                    del found[key]

    def decide(self, text: str, hints: Hints | None = None, threshold: float = 0.55,
               ) -> Decision:
        hints = hints or Hints()
        w = self.weights
        reasons: list[str] = []
        evidence = self.scan(text)
        scores = evidence.scores()
        if hints.category:
            found = self.scan(hints.category, w.category, exclusions=False)
            for index, phrases in found.found.items():
                scores[index] = scores.get(index, 0.0) + sum(phrases.values())
                for key, weight in phrases.items():
                    evidence.phrase(index, "类别:" + key, weight)
            if found.found:
                reasons.append(f"hotline category “{hints.category}” read at weight "
                               f"×{w.category:g}")
        if hints.item_code_hint:
            hinted = self._by_code.get(hints.item_code_hint)
            if hinted is None:
                reasons.append(f"picked item {hints.item_code_hint} is not in table "
                               f"v{self.version}; ignored")
            else:
                weight = w.hint_grid_app if hints.channel == "grid_app" else w.hint
                scores[hinted] = scores.get(hinted, 0.0) + weight
                item = self.items[hinted]
                reasons.append(f"reporter picked {item.code} {item.name} (+{weight:g}, channel "
                               f"{hints.channel or 'unknown'})")
        for index, key in evidence.excluded.items():
            if scores.pop(index, None) is not None:
                item = self.items[index]
                reasons.append(f"排除 {item.code} {item.name}: text says "
                               f"“{self._exclude_display.get(key, key)}”")
        if not scores:
            reasons.append("no phrase of any item matched (无匹配事项) → triage")
            return self._triage(0.0, (), (), reasons)
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        units: dict[str, float] = {}
        for index, score in ranked:
            unit = self.items[index].unit
            units[unit] = units[unit] + w.unit_support * score if unit in units else score
        for unit, words in evidence.units.items():
            if unit in units:
                units[unit] += w.unit_mention
                reasons.append(f"text names the unit “{words}” → {unit} +{w.unit_mention:g}")
        self._principles(ranked, units, hints, reasons)
        unit_ranked = sorted(units.items(), key=lambda kv: -kv[1])
        top_unit, s1 = unit_ranked[0]
        s2 = unit_ranked[1][1] if len(unit_ranked) > 1 else 0.0
        margin = max(0.0, s1 - s2) / s1 if s1 > 0 else 0.0
        confidence = ((1.0 - math.exp(-s1 / w.scale))
                      * (w.margin_floor + (1 - w.margin_floor) * margin))
        confidence = round(min(1.0, max(0.0, confidence)), 3)
        best = next(index for index, _ in ranked if self.items[index].unit == top_unit)
        item = self.items[best]
        found_best = evidence.found.get(best, {})
        matched = tuple(self._display.get(k, k)
                        for k, _ in sorted(found_best.items(), key=lambda kv: -kv[1]))
        candidates = tuple(
            Candidate(item_code=self.items[i].code, item_name=self.items[i].name,
                      unit_code=self.items[i].unit, score=round(score, 2))
            for i, score in ranked[:MAX_CANDIDATES])
        if matched:
            reasons.append(f"{item.code} {item.name}: matched {'、'.join(matched)} "
                           f"(score {scores[best]:.2f})")
        else:
            reasons.append(f"{item.code} {item.name}: no phrase in the text, prior only "
                           f"(score {scores[best]:.2f})")
        if len(unit_ranked) > 1:
            reasons.append(f"unit {top_unit} {s1:.2f} vs runner-up {unit_ranked[1][0]} "
                           f"{s2:.2f}; confidence {confidence:.2f} (threshold {threshold:.2f})")
        else:
            reasons.append(f"only unit {top_unit} matched; confidence {confidence:.2f} "
                           f"(threshold {threshold:.2f})")
        if confidence < threshold:
            reasons.append("confidence below threshold → triage (置信度不足, 转人工研判)")
            return self._triage(confidence, matched, candidates, reasons)
        street = None
        if item.unit == STR:
            if not hints.street_code:
                reasons.append("属地事项 but the grid/street is unknown → triage "
                               "(无法确定属地街道)")
                return self._triage(confidence, matched, candidates, reasons)
            street = hints.street_code
            reasons.append(f"属地: {item.name} is owned by the street of the grid → {street}")
        return Decision(item=item, unit_code=item.unit, street_code=street,
                        confidence=confidence, matched=matched, candidates=candidates,
                        ruleset_version=self.version, needs_triage=False,
                        reasons=tuple(reasons))

    def _principles(self, ranked: list[tuple[int, float]], units: dict[str, float],
                    hints: Hints, reasons: list[str]) -> None:
        if STR not in units or len(units) < 2:
            return
        top_two = sorted(units, key=lambda u: -units[u])[:2]
        if STR not in top_two:
            return
        other = top_two[0] if top_two[1] == STR else top_two[1]
        low, high = sorted((units[STR], units[other]))
        if low < self.weights.principle_window * high:
            return
        best_str = next(self.items[i] for i, _ in ranked if self.items[i].unit == STR)
        best_other = next(self.items[i] for i, _ in ranked if self.items[i].unit == other)
        bonus = self.weights.principle
        if best_other.kind == "asset":
            units[other] += bonus
            reasons.append(f"部件先属主: {best_other.name} has an owner, {other} before the "
                           f"street (+{bonus:g})")
        elif best_str.kind == "event" and hints.street_code:
            units[STR] += bonus
            reasons.append(f"事件先属地: {best_str.name} goes to the street first (+{bonus:g})")

    def _triage(self, confidence: float, matched: tuple[str, ...],
                candidates: tuple[Candidate, ...], reasons: list[str]) -> Decision:
        return Decision(item=None, unit_code=None, street_code=None, confidence=confidence,
                        matched=matched, candidates=candidates, ruleset_version=self.version,
                        needs_triage=True, reasons=tuple(reasons))
