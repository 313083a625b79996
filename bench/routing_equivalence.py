"""Do two versions of the router decide alike? Every tuning text, several hint combinations.

    .venv/bin/python bench/routing_equivalence.py [--base /tmp/router-base] [--show 5]

Speed work on the router must not change a single decision. This runs the router of a baseline
checkout (a git worktree, e.g. `git worktree add /tmp/router-base 1efc69b`) and the router of
this checkout over every text of tune.jsonl, tune2.jsonl and tune3.jsonl (never dev* or
heldout), each under several hints (located, no street, a grid_app item hint, a hotline
category, an unknown item code, a lower threshold) and three configurations (the default
weights; the learned model off; the default plus dispatcher corrections), and compares every
field of every decision: item, unit, street, needs_triage, confidence, candidates (codes and
exact scores), matched phrases and the reasons' text. Exit status 1 on any difference.

Both sides read the SAME data: this checkout's rule table, and the lead engineer's files
(the shipped examples, scoring.py's weights, aliases.py) are copied into the baseline first,
so only the code differs. Each side runs in its own process (PYTHONPATH picks the checkout).

`--same-model` also copies this checkout's learned model code (learned.py, learned_decide.py,
ngrams.py) into the baseline: while someone changes the model, the speed work on the rest of
the router is compared against its own starting commit with the model of now.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("tune.jsonl", "tune2.jsonl", "tune3.jsonl")
# The files the lead engineer owns (data and weights): the baseline must use this checkout's.
SHARED = ("src/gridops/routing/examples/corpus-examples.tsv",
          "src/gridops/routing/scoring.py", "src/gridops/routing/aliases.py")
MODEL = ("src/gridops/routing/learned.py", "src/gridops/routing/learned_decide.py",
         "src/gridops/routing/ngrams.py")
CONFIGS = ("default", "model_off", "corrections")


def _rows(corpus: Path) -> list[dict[str, str]]:
    rows = []
    for part in PARTS:
        for line in (corpus / part).read_text("utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


class _Sorted(set[str]):
    """A gram set that iterates in one fixed order: by length, then by code points."""

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set.__iter__(self), key=lambda g: (len(g), g)))


def pin_gram_order() -> None:
    """Make the router at 1efc69b deterministic: it iterates Python sets of gram strings, whose
    order changes with PYTHONHASHSEED, and that order decides which n-grams with equal lift
    the model's reason quotes, the order of float sums, and (in training) gram ids, hence
    which grams tie at the vocabulary cut. Pinned here to the order the current code uses."""
    from gridops.routing import learned, rules

    plain = learned.grams

    def grams(norm: str) -> set[str]:
        return _Sorted(plain(norm))

    def text_grams(text: str) -> set[str]:
        out: set[str] = _Sorted()
        for part in text.split("|"):
            out |= plain(part)
        return out

    learned.grams = rules.grams = grams  # type: ignore[attr-defined]
    learned._text_grams = text_grams


def dump(out: Path, corpus: Path, table_path: Path, pin: bool) -> None:
    """Decide every (text, hints) of every configuration with the gridops found on sys.path."""
    if pin:
        pin_gram_order()
    from gridops.routing.learned import Example
    from gridops.routing.normalise import normalise
    from gridops.routing.rules import CompiledRules, Hints, Weights
    from gridops.routing.table import parse_table

    items = parse_table(table_path).items
    codes = [item.code for item in items]
    by_name = {item.name: item.code for item in items}
    rows = _rows(corpus)
    # Corrections as service.compile_version passes them: every 7th tune2/tune3 text, weight 3.
    corrections = [Example(normalise(row["text"]), row["unit"], 3.0)
                   for row in rows[394::7]]
    configs = {"default": CompiledRules(1, items),
               "model_off": CompiledRules(1, items, Weights(model=0.0)),
               "corrections": CompiledRules(1, items, examples=corrections)}
    with out.open("w", encoding="utf-8") as sink:
        for name in CONFIGS:
            rules = configs[name]
            for n, row in enumerate(rows):
                text, channel = row["text"], row["channel"]
                picked = by_name.get(row["item"], codes[(n * 37) % len(codes)])
                variants = [
                    ("located", Hints(channel=channel, street_code="S01"), 0.55),
                    ("no_street", Hints(channel=channel), 0.55),
                    ("grid_app_item", Hints(channel="grid_app", street_code="S02",
                                            item_code_hint=codes[(n * 13) % len(codes)]), 0.55),
                    ("hotline_category", Hints(channel="hotline_12345",
                                               category=row["item"]), 0.55),
                    ("labelled_item_no_street", Hints(channel="wechat", item_code_hint=picked,
                                                      category="城市管理"), 0.55),
                    ("unknown_item_low", Hints(channel=channel, street_code="S03",
                                               item_code_hint="XX99999"), 0.45),
                ]
                for variant, hints, threshold in variants:
                    d = rules.decide(text, hints, threshold)
                    record = {
                        "config": name, "id": row["id"], "variant": variant,
                        "item": d.item_code, "unit": d.unit_code, "street": d.street_code,
                        "needs_triage": d.needs_triage, "confidence": repr(d.confidence),
                        "candidates": [[c.item_code, c.unit_code, repr(c.score)]
                                       for c in d.candidates],
                        "matched": list(d.matched), "reasons": list(d.reasons),
                        "version": d.ruleset_version,
                    }
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")


def _run(src: Path, out: Path, corpus: Path, table_path: Path, *, pin: bool,
         seed: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, __file__, "--dump", str(out), "--corpus", str(corpus),
                    "--table", str(table_path), *(["--pin"] if pin else [])],
                   check=True, env=env, cwd=str(src.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, default=Path("/tmp/router-base"))
    parser.add_argument("--show", type=int, default=5, help="differences to print")
    parser.add_argument("--unpinned", action="store_true",
                        help="run the baseline as it is (its decisions then vary by hash seed)")
    parser.add_argument("--same-model", action="store_true",
                        help="copy this checkout's model code into the baseline too")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/routing/corpus")
    parser.add_argument("--table", type=Path, default=ROOT / "src/gridops/demo/rules")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump, args.corpus, args.table, args.pin)
        return

    for name in (*SHARED, *(MODEL if args.same_model else ())):
        shutil.copyfile(ROOT / name, args.base / name)
    with tempfile.TemporaryDirectory() as tmp:
        base_out, new_out = Path(tmp) / "base.jsonl", Path(tmp) / "new.jsonl"
        # Different hash seeds on the two sides: neither may depend on one.
        _run(args.base / "src", base_out, args.corpus.resolve(), args.table.resolve(),
             pin=not args.unpinned, seed="1")
        _run(ROOT / "src", new_out, args.corpus.resolve(), args.table.resolve(), pin=False,
             seed="2")
        base = base_out.read_text("utf-8").splitlines()
        new = new_out.read_text("utf-8").splitlines()
    assert len(base) == len(new), (len(base), len(new))
    differ = [(a, b) for a, b in zip(base, new, strict=True) if a != b]
    for a, b in differ[: args.show]:
        left, right = json.loads(a), json.loads(b)
        fields = [k for k in left if left[k] != right[k]]
        print(f"DIFF {left['config']} {left['id']} {left['variant']}: {', '.join(fields)}")
        for field in fields:
            print(f"  base: {left[field]}\n  new:  {right[field]}")
    digest = hashlib.sha256("\n".join(new).encode()).hexdigest()[:16]
    triage = sum(json.loads(line)["needs_triage"] for line in new)
    print(f"{len(new)} decisions ({len(new) // len(CONFIGS)} per configuration; "
          f"{triage} to triage), {len(differ)} differ; sha256 {digest}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
