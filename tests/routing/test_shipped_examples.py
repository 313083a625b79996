"""The learned model's shipped examples are exactly the tuning parts' complaints, and none of the
measuring parts': the figures of dev … dev4 and heldout mean something only while nothing learns
from them (regenerate with `.venv/bin/python bench/routing_examples.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from gridops.cli.routing import MEASURING, TUNING
from gridops.routing.learned import CORPUS_EXAMPLES
from gridops.routing.normalise import normalise

CORPUS = Path(__file__).parent / "corpus"


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_the_shipped_examples_are_the_tuning_parts_as_they_are_now() -> None:
    shipped = [(r["id"], r["text"], r["unit"]) for r in _rows(CORPUS_EXAMPLES)]
    tuning = [(r["id"], r["text"], r["unit"]) for part in TUNING
              for r in _rows(CORPUS / f"{part}.jsonl")]
    assert len(shipped) == len(tuning)
    assert shipped == tuning, "stale: run bench/routing_examples.py"


def test_no_measuring_text_is_learned_from() -> None:
    shipped = {normalise(r["text"]) for r in _rows(CORPUS_EXAMPLES)}
    for part in MEASURING:
        measured = {normalise(r["text"]) for r in _rows(CORPUS / f"{part}.jsonl")}
        assert measured, part
        assert not measured & shipped, part
