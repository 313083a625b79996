"""A first look at a corpus part, per author, with the router of any source tree.

    .venv/bin/python bench/routing_first_look.py tests/routing/corpus/tune11.jsonl
    .venv/bin/python bench/routing_first_look.py tests/routing/corpus/dev6.jsonl --src /tmp/wt/src

How the new authors' first looks in tests/routing/corpus/README.md and docs/routing.md were
taken: each author's lines routed by the router as it stood before anything was learned from
them (`git worktree add /tmp/wt <commit>`, then `--src /tmp/wt/src`), with the demo table and the
shipped examples of that tree, located as `gridops routing eval` is, at the default threshold.
The part is read from the file given, so a tree that never knew the part can judge it. Prints,
per author (an id's first two characters) and in all: right / wrong / triage, accuracy among
auto-routed, triage share.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", type=Path, help="a corpus part (JSON lines)")
    parser.add_argument("--src", type=Path, default=None,
                        help="another tree's src/ to route with (default: this checkout's)")
    parser.add_argument("--threshold", type=float, default=0.60)
    args = parser.parse_args()
    if args.src is not None:
        sys.path.insert(0, str(args.src.resolve()))
    evaluate: Any = importlib.import_module("gridops.routing.evaluate")
    rules_module: Any = importlib.import_module("gridops.routing.rules")
    table: Any = importlib.import_module("gridops.routing.table")
    rules = rules_module.CompiledRules(0, table.parse_table(table.demo_rules_path()).items)
    tally: dict[str, Counter[str]] = {}
    for ex in evaluate.load_corpus(args.part):
        hints = rules_module.Hints(channel=ex.channel, grid_code=ex.grid_code,
                                   street_code=ex.street_code or evaluate.LOCATED_STREET,
                                   item_code_hint=ex.item_code_hint, category=ex.category)
        d = rules.decide(ex.text, hints, args.threshold)
        outcome = "triage" if d.needs_triage else "right" if d.unit_code == ex.unit else "wrong"
        for key in (ex.id[:2], "all"):
            tally.setdefault(key, Counter())[outcome] += 1
    source = args.src or Path(evaluate.__file__).parents[2]
    print(f"{args.part.name}, routed by {source}, threshold {args.threshold:g}")
    for key in sorted(tally, key=lambda k: (k == "all", k)):
        right, wrong, triage = (tally[key][k] for k in ("right", "wrong", "triage"))
        print(f"  {key:4} {right:5} / {wrong:3} / {triage:3}  {right / max(1, right + wrong):7.2%}"
              f" right among auto-routed, {triage / (right + wrong + triage):6.2%} triage")


if __name__ == "__main__":
    main()
