"""The learned model's shipped examples are exactly the tuning parts' complaints, and none of the
measuring parts': the figures of dev … dev4 and heldout mean something only while nothing learns
from them (regenerate with `.venv/bin/python bench/routing_examples.py`)."""

from __future__ import annotations

import json
from pathlib import Path

from gridops.cli.routing import MEASURING, TUNING
from gridops.routing.learned import CORPUS_EXAMPLES, corpus_examples
from gridops.routing.normalise import normalise

CORPUS = Path(__file__).parent / "corpus"


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _shipped() -> list[tuple[str, str, str]]:
    """(id, normalised text, unit) of each shipped example."""
    header, *lines = CORPUS_EXAMPLES.read_text("utf-8").splitlines()
    assert header == "id\tunit\ttext"
    rows = [line.split("\t") for line in lines]
    assert all(len(row) == 3 for row in rows)  # no text holds a tab
    return [(id_, text, unit) for id_, unit, text in rows]


def test_the_shipped_examples_are_the_tuning_parts_as_they_are_now() -> None:
    shipped = _shipped()
    tuning = [(r["id"], normalise(r["text"]), r["unit"]) for part in TUNING
              for r in _rows(CORPUS / f"{part}.jsonl")]
    assert len(shipped) == len(tuning)
    assert shipped == tuning, "stale: run bench/routing_examples.py"


def test_the_model_reads_them_as_shipped() -> None:
    assert [(e.text, e.unit) for e in corpus_examples()] == [(t, u) for _, t, u in _shipped()]


def test_no_measuring_text_is_learned_from() -> None:
    shipped = {text for _, text, _ in _shipped()}
    for part in MEASURING:
        measured = {normalise(r["text"]) for r in _rows(CORPUS / f"{part}.jsonl")}
        assert measured, part
        assert not measured & shipped, part
