"""The shipped examples' gram counts, counted when the examples are written, not at run time.

The first compile of a process would otherwise read the shipped complaints and count their grams
twice: by unit for the learned model (`gridops.routing.learned.counts`), and by character and
character pair for the automaton's key order and the combos' anchors (`rules.count_tally`):
for 19,508 complaints, `bench/routing_bench.py` timed a first compile at 706–719 ms against
225–248 ms for a later one. `bench/routing_examples.py` writes both counts beside the examples
(`examples/corpus-counts.npz`) with the digest of the examples file they were counted from. A
process loads them when that digest is the shipped examples', and counts for itself otherwise, so an
edited examples file is never read with stale counts. A test recounts the shipped examples and
compares.

Plain arrays only (no pickles): the file is data, and numpy reads it without running code.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["FORMAT", "PRECOUNTED", "Precounted", "load", "save"]

PRECOUNTED = Path(__file__).parent / "examples" / "corpus-counts.npz"
_log = logging.getLogger(__name__)
# Bump when what is counted changes (the grams, the buckets): an old file is then ignored.
FORMAT = 1


class Precounted(NamedTuple):
    """What `learned.counts` and `rules.count_tally` give for the shipped examples
    (`rules.precount`)."""

    examples: int  # how many examples were counted
    units: tuple[str, ...]  # the matrix's columns: every unit the examples name, sorted
    keys: npt.NDArray[np.int64]  # the grams' keys, ascending (as `learned.Counts.keys`)
    cells: npt.NDArray[np.intp]  # the non-zero cells of the gram × unit matrix, flat
    values: npt.NDArray[np.float64]  # their example weight
    longer: tuple[str, ...]  # as `learned.Counts.longer`
    buckets: npt.NDArray[np.int64]  # the tally's non-empty buckets
    bucket_counts: npt.NDArray[np.int32]  # and their counts
    characters: dict[str, int]  # each character's count

    def cells_of(self, units: tuple[str, ...]) -> tuple[npt.NDArray[np.intp],
                                                      npt.NDArray[np.float64]]:
        """The non-zero cells and their values (as `learned.Counts`) with `units` as the
        columns: an example of a unit not in `units` counts for none (as `learned.counts`)."""
        if units == self.units:
            return self.cells, self.values
        to = np.full(len(self.units), -1)
        for i, unit in enumerate(units):
            if unit in self.units:
                to[self.units.index(unit)] = i
        row, column = np.divmod(self.cells, len(self.units))
        moved = to[column]
        held = moved >= 0
        cells = row[held] * len(units) + moved[held]
        order = np.argsort(cells, kind="stable")
        return cells[order], self.values[held][order]

    def tally(self, buckets: int) -> npt.NDArray[np.int32]:
        """Per bucket (of `buckets`), the occurrences of its characters and pairs."""
        out = np.zeros(buckets, dtype=np.int32)
        out[self.buckets] = self.bucket_counts
        return out


def save(path: Path, digest: str, counted: Precounted) -> None:
    """Write `counted`, its cells and counts as 32-bit numbers (the shipped examples' counts are
    whole and small; a count 32 bits would change is refused, not rounded)."""
    values = counted.values.astype(np.float32)
    if not np.array_equal(values, counted.values):
        raise ValueError("a count that 32 bits cannot hold exactly")
    # `np.savez` adds .npz to a name without it; an open file keeps the name as given.
    with path.open("wb") as out:
        np.savez(out, format=np.int64(FORMAT), digest=np.array(digest),
                 examples=np.int64(counted.examples),
                 units=np.array(counted.units), keys=counted.keys,
                 cells=counted.cells.astype(np.int32), values=values,
                 longer=np.array(counted.longer, dtype=np.str_),
                 buckets=counted.buckets.astype(np.int32), bucket_counts=counted.bucket_counts,
                 characters=np.array(list(counted.characters), dtype=np.str_),
                 character_counts=np.array(list(counted.characters.values()), dtype=np.int64))


@lru_cache(maxsize=2)
def load(path: Path, digest: str) -> Precounted | None:
    """The counts in `path` if they were counted from the examples whose digest is `digest`
    (in this file format); None otherwise, or if there is no such file or it cannot be read.
    A file there that is not read is logged: every process then counts for itself."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["format"]) != FORMAT or str(stored["digest"]) != digest:
                _log.warning("%s counts other examples or is of another format: each process "
                             "counts the shipped examples itself (run "
                             "bench/routing_examples.py)", path)
                return None
            return Precounted(
                int(stored["examples"]), tuple(stored["units"].tolist()),
                stored["keys"].astype(np.int64),
                stored["cells"].astype(np.intp), stored["values"].astype(np.float64),
                tuple(stored["longer"].tolist()), stored["buckets"].astype(np.int64),
                stored["bucket_counts"].astype(np.int32),
                dict(zip(stored["characters"].tolist(), stored["character_counts"].tolist(),
                         strict=True)))
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError) as error:
        _log.warning("cannot read %s (%s): each process counts the shipped examples itself",
                     path, error)
        return None
