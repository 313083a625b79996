"""Measure the router against a labelled corpus (tests/routing/corpus/{tune,heldout}.jsonl).

Each line: {"id", "text", "channel", "unit", "item", "kind", "difficulty"} plus optional hints
("grid_code", "street_code", "category", "item_code_hint"). Unless told otherwise the incident
is taken as located (its grid resolved at intake, as every grid-app report is), so 属地 items can
route to a street; `located=False` measures the worst case where no location resolves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gridops.routing.rules import CompiledRules, Hints

LOCATED_STREET = "located"


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    text: str
    unit: str
    item: str | None = None
    channel: str | None = None
    difficulty: str | None = None
    grid_code: str | None = None
    street_code: str | None = None
    category: str | None = None
    item_code_hint: str | None = None


@dataclass(frozen=True, slots=True)
class Miss:
    id: str
    expected: str
    got: str  # a unit code, or "triage"
    confidence: float
    difficulty: str | None


@dataclass(slots=True)
class PartReport:
    part: str
    total: int = 0
    routed: int = 0
    unit_correct: int = 0
    item_comparable: int = 0
    item_correct: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    triaged_by_unit: Counter[str] = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)

    @property
    def triage_share(self) -> float:
        return (self.total - self.routed) / self.total if self.total else 0.0

    @property
    def unit_accuracy(self) -> float:
        return self.unit_correct / self.routed if self.routed else 0.0

    @property
    def item_accuracy(self) -> float:
        return self.item_correct / self.item_comparable if self.item_comparable else 0.0

    @property
    def overall_accuracy(self) -> float:
        return self.unit_correct / self.total if self.total else 0.0

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        return {
            "part": self.part, "total": self.total, "routed": self.routed,
            "triaged": self.total - self.routed,
            "unit_accuracy_routed": round(self.unit_accuracy, 4),
            "item_accuracy": round(self.item_accuracy, 4),
            "item_comparable": self.item_comparable,
            "triage_share": round(self.triage_share, 4),
            "overall_accuracy": round(self.overall_accuracy, 4),
            "top_confusions": [{"expected": e, "got": g, "count": n}
                               for (e, g), n in self.confusion.most_common(top)],
            "triaged_by_unit": dict(self.triaged_by_unit.most_common()),
        }


def load_corpus(path: Path) -> list[Example]:
    fields = set(Example.__dataclass_fields__)
    examples: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            examples.append(Example(**{k: v for k, v in raw.items() if k in fields}))
    return examples


def evaluate(rules: CompiledRules, examples: Iterable[Example], *, part: str,
             threshold: float, located: bool = True) -> PartReport:
    names = {item.name for item in rules.items}
    report = PartReport(part=part)
    for ex in examples:
        street = ex.street_code or (LOCATED_STREET if located or ex.grid_code else None)
        hints = Hints(channel=ex.channel, grid_code=ex.grid_code, street_code=street,
                      item_code_hint=ex.item_code_hint, category=ex.category)
        decision = rules.decide(ex.text, hints, threshold)
        report.total += 1
        if decision.needs_triage or decision.unit_code is None:
            report.triaged_by_unit[ex.unit] += 1
            report.misses.append(Miss(ex.id, ex.unit, "triage", decision.confidence,
                                      ex.difficulty))
            continue
        report.routed += 1
        if decision.unit_code == ex.unit:
            report.unit_correct += 1
        else:
            report.confusion[(ex.unit, decision.unit_code)] += 1
            report.misses.append(Miss(ex.id, ex.unit, decision.unit_code, decision.confidence,
                                      ex.difficulty))
        if ex.item and ex.item in names and decision.item is not None:
            report.item_comparable += 1
            report.item_correct += decision.item.name == ex.item
    return report


def render(report: PartReport, top: int = 10) -> str:
    lines = [
        f"[{report.part}] {report.total} texts, {report.routed} auto-routed, "
        f"{report.total - report.routed} to triage",
        f"  unit accuracy among auto-routed  {report.unit_accuracy:7.2%}  "
        f"({report.unit_correct}/{report.routed})",
        f"  item accuracy (comparable)       {report.item_accuracy:7.2%}  "
        f"({report.item_correct}/{report.item_comparable} whose label is an item name)",
        f"  triage share                     {report.triage_share:7.2%}",
        f"  overall (triage = not routed)    {report.overall_accuracy:7.2%}",
    ]
    if report.confusion:
        lines.append("  top confusions (expected → routed to):")
        lines.extend(f"    {e:>5} → {g:<5} {n}" for (e, g), n in report.confusion.most_common(top))
    if report.triaged_by_unit:
        lines.append("  triaged, by expected unit: " + ", ".join(
            f"{u} {n}" for u, n in report.triaged_by_unit.most_common()))
    return "\n".join(lines)
