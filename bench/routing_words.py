"""How the tuning authors labelled the complaints that use some words: the evidence behind a rule
edit, e.g. "nine of the ten tuning texts saying 楼没人管 … are STR's" in docs/routing.md.

    .venv/bin/python bench/routing_words.py 楼没人管 没人管的老 小区没人管 [--show]
    .venv/bin/python bench/routing_words.py 改制 没人管 --all     # texts holding both

Reads the tuning parts only (tune … tune44, as bench/routing_cv.py); the dev parts and heldout are
never read. A word matches a text's normalised form (gridops.routing.normalise: no punctuation,
lower case), as the rule table's phrases do. Prints, per word and for texts with any of them (with
--all: with every one of them, as a combo of the table needs): how many texts, and how many of
those each unit was given; --show adds the texts.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from gridops.cli.routing import TUNING
from gridops.routing.evaluate import load_corpus
from gridops.routing.normalise import normalise

CORPUS = Path("tests/routing/corpus")


def line(label: str, units: Counter[str]) -> str:
    by_unit = ", ".join(f"{unit} {n}" for unit, n in units.most_common())
    return f"{label}: {sum(units.values())} texts ({by_unit or 'none'})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("words", nargs="+", help="words as a phrase of the table would be written")
    parser.add_argument("--show", action="store_true", help="print the matching texts too")
    parser.add_argument("--all", action="store_true",
                        help="texts holding every word (as a combo), not any of them")
    args = parser.parse_args()
    words = [normalise(word) for word in args.words]
    texts = [(ex, normalise(ex.text)) for part in TUNING
             for ex in load_corpus(CORPUS / f"{part}.jsonl")]
    for word in words:
        print(line(word, Counter(ex.unit for ex, norm in texts if word in norm)))
    holds = all if args.all else any
    hits = [ex for ex, norm in texts if holds(word in norm for word in words)]
    if len(words) > 1:
        print(line("all of them" if args.all else "any of them", Counter(ex.unit for ex in hits)))
    if args.show:
        for ex in hits:
            print(f"  {ex.id} {ex.unit} {ex.text}")


if __name__ == "__main__":
    main()
