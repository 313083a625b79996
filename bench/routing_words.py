"""How the tuning authors labelled the complaints that use some words: the evidence behind a rule
edit, e.g. "nine of the ten tuning texts saying 楼没人管 … are STR's" in docs/routing.md.

    .venv/bin/python bench/routing_words.py 楼没人管 没人管的老 小区没人管 [--show]
    .venv/bin/python bench/routing_words.py 改制 没人管 --all     # texts holding both
    .venv/bin/python bench/routing_words.py --marked              # texts reading a marking

Reads the tuning parts only (tune … tune48, as bench/routing_cv.py); the dev parts and heldout are
never read. A word matches a text's normalised form (gridops.routing.normalise: no punctuation,
lower case), as the rule table's phrases do. Prints, per word and for texts with any of them (with
--all: with every one of them, as a combo of the table needs): how many texts, and how many of
those each unit was given; --show adds the texts. --marked counts instead the texts in which
`gridops.routing.marking` reads an owner's marking (写着电力, 印着国网 …), by the marked unit and
the unit the author gave.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from gridops.cli.routing import TUNING
from gridops.routing.evaluate import Example, load_corpus
from gridops.routing.marking import marked_owner
from gridops.routing.normalise import normalise

CORPUS = Path("tests/routing/corpus")


def line(label: str, units: Counter[str]) -> str:
    by_unit = ", ".join(f"{unit} {n}" for unit, n in units.most_common())
    return f"{label}: {sum(units.values())} texts ({by_unit or 'none'})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("words", nargs="*", help="words as a phrase of the table would be written")
    parser.add_argument("--show", action="store_true", help="print the matching texts too")
    parser.add_argument("--all", action="store_true",
                        help="texts holding every word (as a combo), not any of them")
    parser.add_argument("--marked", action="store_true",
                        help="texts reading an owner's marking, by marked and given unit")
    args = parser.parse_args()
    words = [normalise(word) for word in args.words]
    texts = [(ex, normalise(ex.text)) for part in TUNING
             for ex in load_corpus(CORPUS / f"{part}.jsonl")]
    if args.marked:
        marked(texts, args.show)
        return
    if not words:
        parser.error("give words, or --marked")
    for word in words:
        print(line(word, Counter(ex.unit for ex, norm in texts if word in norm)))
    holds = all if args.all else any
    hits = [ex for ex, norm in texts if holds(word in norm for word in words)]
    if len(words) > 1:
        print(line("all of them" if args.all else "any of them", Counter(ex.unit for ex in hits)))
    if args.show:
        for ex in hits:
            print(f"  {ex.id} {ex.unit} {ex.text}")


def marked(texts: list[tuple[Example, str]], show: bool) -> None:
    pairs: Counter[tuple[str, str]] = Counter()
    for ex, norm in texts:
        owner = marked_owner(norm)
        if owner is not None:
            pairs[(owner[0], ex.unit)] += 1
            if show:
                print(f"  {ex.id} {ex.unit} marked {owner[0]} “{owner[1]}” {ex.text}")
    agree = sum(n for (unit, given), n in pairs.items() if unit == given)
    print(f"texts reading a marking: {sum(pairs.values())}, given the marked unit: {agree}")
    for (unit, given), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
        print(f"  marked {unit}, given {given}: {n}")


if __name__ == "__main__":
    main()
