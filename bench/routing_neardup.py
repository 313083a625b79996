"""Near-copies: a new author's lines against the corpus, by character-pair Jaccard.

    .venv/bin/python bench/routing_neardup.py NEW.jsonl [MORE.jsonl …] [--floor 0.5]

How the corpus README's "left out as close to … (character-pair Jaccard 0.62)" figures are
taken, before an author's file joins a part: each line's text is cut to its letters and digits
(punctuation, spaces and emoji dropped), read as its set of neighbouring character pairs, and
compared with every line of every corpus part (tests/routing/corpus/*.jsonl) and of the other
files given, except a line with its own id (so a part already in the corpus can be checked too).
Prints, for each line whose closest match reaches `--floor`: its id, the score, and the part and
id of that match — never a text, so the measuring parts stay unread. The rule the README follows:
a measure-only line at 0.55 or more to any line is left out, a tuning line at 0.55 to a
measuring one or at 0.6 to a tuning one.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

CORPUS = Path("tests/routing/corpus")


def pairs(text: str) -> frozenset[str]:
    kept = "".join(ch for ch in text if ch.isalnum())
    return frozenset(kept[i:i + 2] for i in range(len(kept) - 1))


def lines_of(path: Path) -> list[tuple[str, str]]:
    """(id, text) of each line of a JSON-lines file."""
    rows = (json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip())
    return [(row["id"], row["text"]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--floor", type=float, default=0.5)
    args = parser.parse_args()
    new = [(path.stem, ident, pairs(text)) for path in args.files
           for ident, text in lines_of(path)]
    given = {path.resolve() for path in args.files}
    known = [(path.stem, ident, pairs(text)) for path in sorted(CORPUS.glob("*.jsonl"))
             if path.resolve() not in given for ident, text in lines_of(path)]
    everything = known + new
    # An inverted index: each pair → the lines holding it, so a line meets only those it shares
    # a pair with.
    holding: dict[str, list[int]] = {}
    for at, (_, _, grams) in enumerate(everything):
        for gram in grams:
            holding.setdefault(gram, []).append(at)
    for _, ident, grams in new:
        shared = Counter(at for gram in grams for at in holding[gram])
        best, where = 0.0, ""
        for at, count in shared.items():
            part, other, theirs = everything[at]
            if other == ident:
                continue
            score = count / (len(grams) + len(theirs) - count)
            if score > best:
                best, where = score, f"{part} {other}"
        if best >= args.floor:
            print(f"{ident} {best:.2f} {where}")


if __name__ == "__main__":
    main()
