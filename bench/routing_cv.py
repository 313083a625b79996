"""Calibrate the learned model and its combination with the rules by k-fold cross-validation
over the tuning parts, tune + tune2 + tune3 (the model never sees the fold it is measured on; dev,
dev2 and heldout are never read here).

    .venv/bin/python bench/routing_cv.py [--folds 5] [--quick]

Per fold the naive Bayes model is trained on the items' wording and the other folds' texts, the
rules are the demo table as it is. Prints, per configuration, right/wrong/triage over all folds
at threshold 0.55 and cost = 4 × wrong + triage (a wrong route costs a return and a second
dispatch, a triage one look), best first; then the threshold curve of the best configuration.
"""

from __future__ import annotations

import argparse
import itertools
import random
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from gridops.routing.evaluate import LOCATED_STREET, load_corpus
from gridops.routing.evaluate import Example as Labelled
from gridops.routing.learned import Example, UnitModel, item_examples
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

CORPUS = Path("tests/routing/corpus")
PARTS = ("tune", "tune2", "tune3", "tune4", "tune5")
THRESHOLDS = (0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70)


def folds(examples: list[Labelled], k: int) -> list[list[Labelled]]:
    by_unit: dict[str, list[Labelled]] = defaultdict(list)
    for ex in examples:
        by_unit[ex.unit].append(ex)
    out: list[list[Labelled]] = [[] for _ in range(k)]
    n = 0
    for unit in sorted(by_unit):
        group = by_unit[unit]
        random.Random(20250101).shuffle(group)
        for ex in group:
            out[n % k].append(ex)
            n += 1
    return out


CONSULTED: dict[tuple[float, ...], int] = defaultdict(int)


def outcomes(rules: CompiledRules, fold: list[Labelled], key: tuple[float, ...] = (),
             threshold: float = 0.55) -> list[tuple[bool, bool, float]]:
    """(routed, right, confidence) per text. The threshold matters beyond the cut: the model is
    consulted only where it could change the outcome at that threshold."""
    rows = []
    for ex in fold:
        hints = Hints(channel=ex.channel, grid_code=ex.grid_code,
                      street_code=ex.street_code or LOCATED_STREET,
                      item_code_hint=ex.item_code_hint, category=ex.category)
        d = rules.decide(ex.text, hints, threshold)
        CONSULTED[key] += any(r.startswith("learned model consulted") for r in d.reasons)
        rows.append((not d.needs_triage, d.unit_code == ex.unit, d.confidence))
    return rows


def summary(rows: list[tuple[bool, bool, float]], threshold: float) -> tuple[int, int, int]:
    routed = [(right, c) for ok, right, c in rows if ok and c >= threshold]
    right = sum(r for r, _ in routed)
    return right, len(routed) - right, len(rows) - len(routed)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--complement", action="store_true", help="complement naive Bayes")
    parser.add_argument("--grid", default="", help="alpha:sharpness pairs, e.g. 0.05:25,0.1:30")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--models", default="0,2.0,2.5,2.9",
                        help="model weights to compare (comma-separated)")
    parser.add_argument("--rules", type=Path, default=None,
                        help="a rule table the corpus was not fitted to (e.g. an older version)")
    args = parser.parse_args()
    items = parse_table(args.rules or demo_rules_path()).items
    units = sorted({item.unit for item in items})
    names = [n for n in PARTS if (args.corpus / f"{n}.jsonl").exists()]
    part_of = {}
    labelled: list[Labelled] = []
    for name in names:
        rows = load_corpus(args.corpus / f"{name}.jsonl")
        part_of.update({ex.id: name for ex in rows})
        labelled += rows
    parts = folds(labelled, args.folds)
    own = item_examples(items)
    train_grid = [(0.1, 8.0)] if args.quick else list(itertools.product(
        (0.05, 0.1, 0.3), (6.0, 8.0, 12.0)))
    if args.grid:
        train_grid = [(float(a), float(b)) for a, b in
                      (pair.split(":") for pair in args.grid.split(","))]
    weights = [float(m) for m in args.models.split(",")]
    decide_grid = list(itertools.product(weights, (0.0,), (0.0,), (8.0,)))
    results: dict[tuple[float, ...], list[tuple[bool, bool, float]]] = defaultdict(list)
    by_part: dict[tuple[float, ...], dict[str, list[tuple[bool, bool, float]]]] = defaultdict(
        lambda: defaultdict(list))
    for alpha, sharpness in train_grid:
        for f, fold in enumerate(parts):
            train = tuple(Example(normalise(ex.text), ex.unit)
                          for g, part in enumerate(parts) if g != f for ex in part)
            model = UnitModel(own, units, shared=train, alpha=alpha, sharpness=sharpness,
                              complement=args.complement)
            rules = CompiledRules(0, items, Weights(), model=model)
            for m, below, close, fallback in decide_grid:
                if False:
                    continue
                rules.weights = replace(Weights(), model=m, fallback=fallback,
                                        model_exact=bool(below))
                if m == 0:
                    rules.model, kept = None, rules.model
                key = (alpha, sharpness, m, below, close, fallback)
                rows = outcomes(rules, fold, key)
                if m == 0:
                    rules.model = kept
                results[key] += rows
                for ex, row in zip(fold, rows, strict=True):
                    by_part[key][part_of[ex.id]].append(row)
    ranked = sorted(results, key=lambda key: (4 * summary(results[key], 0.55)[1]
                                               + summary(results[key], 0.55)[2]))
    print("alpha sharp  w   below close fallback | right wrong triage acc(routed) triage%"
          "  cost | " + " | ".join(f"{n}: acc triage%" for n in names) + " | consulted")
    for key in ranked[:25] + [k for k in ranked if k[2] == 0]:
        right, wrong, triage = summary(results[key], 0.55)
        per_part = []
        for name in names:
            r2, w2, t2 = summary(by_part[key][name], 0.55)
            per_part.append(f"{r2 / max(1, r2 + w2):7.2%} {t2 / len(by_part[key][name]):6.2%}")
        print(f"{key[0]:5} {key[1]:5} {key[2]:4} {key[3]:5} {key[4]:5} {key[5]:5}    | "
              f"{right:5} {wrong:5} {triage:5}   {right / max(1, right + wrong):7.2%}  "
              f"{triage / len(results[key]):6.2%} {4 * wrong + triage:5} | "
              + " | ".join(per_part) + f" | {CONSULTED[key] / len(results[key]):5.1%}")
    best = ranked[0]
    print(f"threshold curve, best {best} (each threshold decided anew):")
    alpha, sharpness, m, _, _, fallback = best
    for threshold in THRESHOLDS:
        rows = []
        for f, fold in enumerate(parts):
            train = tuple(Example(normalise(ex.text), ex.unit)
                          for g, part in enumerate(parts) if g != f for ex in part)
            model = UnitModel(own, units, shared=train, alpha=alpha, sharpness=sharpness,
                              complement=args.complement)
            rules = CompiledRules(0, items, replace(Weights(), model=m, fallback=fallback),
                                  model=model)
            rows += outcomes(rules, fold, ("curve", threshold), threshold)
        right, wrong, triage = summary(rows, threshold)
        print(f"  {threshold:.2f}  right {right} wrong {wrong} triage {triage}  "
              f"acc {right / max(1, right + wrong):.2%}  triage {triage / len(rows):.2%}  "
              f"consulted {CONSULTED[('curve', threshold)] / len(rows):.1%}")

if __name__ == "__main__":
    main()
