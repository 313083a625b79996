"""The shipped examples' counts are counted when the examples are written, so that a process
need not count them before its first compile; they must be exactly what counting gives now
(regenerate with `.venv/bin/python bench/routing_examples.py`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gridops.routing import precounted
from gridops.routing.learned import (
    Example,
    _shared_counts,
    corpus_digest,
    corpus_examples,
    counts,
    occurrences,
    shipped_counts,
)
from gridops.routing.rules import _shipped_tally, count_tally, precount


def test_the_shipped_counts_are_the_shipped_examples_counted_now() -> None:
    shipped = precounted.load(precounted.PRECOUNTED, corpus_digest())
    assert shipped is not None, "stale or missing: run bench/routing_examples.py"
    examples = corpus_examples()
    assert shipped.examples == len(examples) > 10_000
    assert shipped.units == tuple(sorted({example.unit for example in examples}))
    units = ("CAB", "GAS", "HURD", "PWR", "STR", "UMLE", "WTR", "XYZ")  # XYZ: no example
    counted = _shared_counts(examples, units)
    read, size = shipped_counts(units)
    assert size == len(examples)
    assert read.keys.tolist() == counted.keys.tolist()
    assert read.longer == counted.longer
    assert read.cells.tolist() == counted.cells.tolist()
    assert read.values.tolist() == counted.values.tolist()
    assert read.dense()[:, units.index("XYZ")].sum() == 0
    assert read.dense()[:, units.index("GAS")].sum() > 1000

    tally = count_tally(examples)
    assert np.array_equal(_shipped_tally().counts, tally.counts)
    assert _shipped_tally().characters == tally.characters


def test_counts_read_for_other_units_are_those_counted_for_them() -> None:
    examples = [Example("燃气管道漏气了", "GAS"), Example("楼道里停电了", "PWR"),
                Example("wifi断了光猫红灯", "TEL"), Example("燃气表坏了停电", "GAS")]
    stored = precount(examples, ("GAS", "PWR", "TEL"))
    for units in [("GAS", "PWR", "TEL"), ("PWR", "GAS"), ("TEL", "CAB", "GAS"), ("CAB",)]:
        cells, values = stored.cells_of(units)
        expected = counts(occurrences([e.text for e in examples]), examples, units)
        assert cells.tolist() == expected.cells.tolist(), units
        assert values.tolist() == expected.values.tolist(), units


def test_counts_of_other_examples_or_another_format_are_not_read(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    examples = [Example("燃气管道漏气了", "GAS"), Example("楼道里停电了", "PWR")]
    stored = precount(examples, ("GAS", "PWR"))
    path = tmp_path / "counts.npz"
    precounted.save(path, "abc", stored)
    read = precounted.load(path, "abc")
    assert read is not None
    assert read.keys.tolist() == stored.keys.tolist()
    assert read.cells.tolist() == stored.cells.tolist()
    assert read.values.tolist() == stored.values.tolist()
    assert read.characters == stored.characters
    assert np.array_equal(read.tally(1 << 20), stored.tally(1 << 20))
    assert precounted.load(path, "abd") is None  # the examples changed since
    assert "counts other examples" in caplog.text
    assert precounted.load(tmp_path / "absent.npz", "abc") is None
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert precounted.load(tmp_path / "broken.npz", "abc") is None
    assert "cannot read" in caplog.text
    old = tmp_path / "old.npz"
    original = precounted.FORMAT
    try:
        precounted.FORMAT = original + 1
        precounted.save(old, "abc", stored)
    finally:
        precounted.FORMAT = original
    assert precounted.load(old, "abc") is None


def test_counts_32_bits_would_change_are_refused_rather_than_rounded(tmp_path: Path) -> None:
    examples = [Example("燃气管道漏气了", "GAS", 0.1)]
    stored = precount(examples, ("GAS",))
    with pytest.raises(ValueError, match="32 bits"):
        precounted.save(tmp_path / "c.npz", "abc", stored)

