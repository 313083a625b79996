"""Write the learned model's shipped examples from the tuning corpus (the tune parts only).

    .venv/bin/python bench/routing_examples.py

The router must not read tests/ at run time, so the labelled complaints it learns from are
copied to src/gridops/routing/examples/corpus-examples.tsv: a header, then id, unit and the text
as `gridops.routing.normalise` leaves it (no tab, no newline), one complaint a line, so that a
process reads them with a split per line instead of parsing and normalising each.
It then counts their grams (by unit for the learned model, by character and pair for the
automaton) into src/gridops/routing/examples/corpus-counts.npz, with the digest of the examples
file, so that a process need not count them before its first compile
(`gridops.routing.precounted`), and trains the linear SVM that votes beside naive Bayes on them
(`gridops.routing.linear`; scikit-learn, a development dependency) into
src/gridops/routing/examples/corpus-linear.npz, with the same digest.
The dev parts (dev … dev23) and heldout.jsonl are never read here: they measure what the model has
not seen.
"""

from __future__ import annotations

import json
from pathlib import Path

from gridops.cli.routing import TUNING
from gridops.routing import linear, precounted
from gridops.routing.learned import corpus_digest, corpus_examples
from gridops.routing.normalise import normalise
from gridops.routing.rules import precount

CORPUS = Path("tests/routing/corpus")
PARTS = tuple(f"{part}.jsonl" for part in TUNING)
OUT = Path("src/gridops/routing/examples/corpus-examples.tsv")


def main() -> None:
    lines = ["id\tunit\ttext"]
    for part in PARTS:
        for line in (CORPUS / part).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lines.append(f"{row['id']}\t{row['unit']}\t{normalise(row['text'])}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines) - 1} examples from {', '.join(PARTS)} → {OUT}")
    write_counts()
    write_linear()


def write_linear() -> None:
    examples = corpus_examples()
    trained = linear.fit(examples)
    linear.save(linear.LINEAR, corpus_digest(), trained)
    weights = int((trained.rows != 0).sum())
    print(f"linear SVM: {len(trained.idf):,} grams, {weights:,} non-zero weights "
          f"→ {linear.LINEAR}")


def write_counts() -> None:
    examples = corpus_examples()
    counted = precount(examples, tuple(sorted({example.unit for example in examples})))
    precounted.save(precounted.PRECOUNTED, corpus_digest(), counted)
    print(f"{len(counted.keys):,} grams, {len(counted.cells):,} non-zero cells, "
          f"{len(counted.buckets):,} buckets → {precounted.PRECOUNTED}")


if __name__ == "__main__":
    main()
