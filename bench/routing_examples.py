"""Write the learned model's shipped examples from the tuning corpus (the tune parts only).

    .venv/bin/python bench/routing_examples.py

The router must not read tests/ at run time, so the labelled complaints it learns from are
copied, as {"text", "unit"} lines, to src/gridops/routing/examples/corpus-examples.jsonl.
the dev parts (dev … dev5) and heldout.jsonl are never read here: they measure what the model has
not seen.
"""

from __future__ import annotations

import json
from pathlib import Path

from gridops.cli.routing import TUNING

CORPUS = Path("tests/routing/corpus")
PARTS = tuple(f"{part}.jsonl" for part in TUNING)
OUT = Path("src/gridops/routing/examples/corpus-examples.jsonl")


def main() -> None:
    lines = []
    for part in PARTS:
        for line in (CORPUS / part).read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                lines.append(json.dumps({"id": row["id"], "text": row["text"],
                                         "unit": row["unit"]}, ensure_ascii=False))
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} examples from {', '.join(PARTS)} → {OUT}")


if __name__ == "__main__":
    main()
