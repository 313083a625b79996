"""A learned unit model: multinomial naive Bayes over character 1–2-grams of the normalised text.

The rules say what the table's authors wrote; this says what labelled complaints looked like.
It is trained on three kinds of labelled example, each a text and the unit that was right:
- every item's own wording (name, phrases, strong phrases, combo parts), labelled with its unit;
- complaints written by outsiders to the rules (`examples/corpus-examples.jsonl`, generated from
  the tuning corpus by `gridops.routing.examples`);
- dispatchers' corrections (`routing_correction`: text → correct unit), added when a version is
  compiled (`gridops.routing.service`), so the router learns from its dispatchers.

Naive Bayes is small and well understood: per unit, the log probability of each gram (add-α
smoothed); a text is the sum over its distinct grams. Its raw sums are overconfident (the grams
of one text are far from independent), so the posterior uses the MEAN log-likelihood per gram
times `sharpness`, which cross-validation calibrates. The class prior is uniform: the corpus'
unit mix is the authors', not the district's.

Every gram's row is centred (its mean over units subtracted): softmax ignores a per-gram
constant, and centred rows say directly how much a gram favours a unit — the explanation quotes
the grams with the largest difference between the chosen unit and the runner-up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from operator import add
from pathlib import Path
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from gridops.routing.normalise import normalise
from gridops.routing.similarity import STOP_GRAMS
from gridops.routing.table import ItemStandard

__all__ = ["CORPUS_EXAMPLES", "Example", "Prediction", "UnitModel", "corpus_examples",
           "grams", "item_examples"]

CORPUS_EXAMPLES = Path(__file__).parent / "examples" / "corpus-examples.jsonl"


class Example(NamedTuple):
    text: str  # normalised
    unit: str
    weight: float = 1.0


class Prediction(NamedTuple):
    units: tuple[str, ...]
    posterior: npt.NDArray[np.float64]  # per unit, sums to 1
    ids: list[int]  # the text's grams the model knows
    id_array: npt.NDArray[np.intp]  # the same, as an array for gathers
    rows: npt.NDArray[np.float64]  # their log-probability rows (gram × unit), read once

    @property
    def grams(self) -> int:
        return len(self.ids)

    def best(self) -> tuple[str, float]:
        i = int(np.argmax(self.posterior))
        return self.units[i], float(self.posterior[i])


_NO_IDS = np.zeros(0, dtype=np.intp)


# Words that say where, not what: place names shaped XX社区 / XX街道, grid numbers and digits. The
# next complaint comes from another community, so a model that learned 清水塘 → WTR learned noise.
# Latin-letter runs (ktv, wy = 物业, wifi) are cut out of the Chinese and kept as one gram each.
_CUT = re.compile(r"[\u4e00-\u9fff]{2,3}?(?:社区|街道)|网格|[0-9]+|([a-z]+)")


def grams(norm: str) -> set[str]:
    """Distinct character 1- and 2-grams of a normalised text, without place names and digits
    (`_CUT`) or the stop grams of `gridops.routing.similarity` (的, 反映, 诉求 …)."""
    out: set[str] = set()
    for i, part in enumerate(_CUT.split(norm)):
        if not part:
            continue
        if i % 2:  # a Latin run (the split's captured group)
            out.add(part)
        else:
            out.update(map(add, part, part[1:]))
            out.update(part)
    out.difference_update(STOP_GRAMS)
    return out


def item_examples(items: Sequence[ItemStandard]) -> list[Example]:
    """Each item's wording as one example of its unit: name, phrases, strong phrases, combos.
    The fields are joined by a separator no text holds, so no gram spans two of them."""
    out = []
    for item in items:
        parts = [item.name, *item.phrases, *item.strong, *("".join(c) for c in item.combos)]
        out.append(Example("|".join(p for p in map(normalise, parts) if p), item.unit))
    return out


@lru_cache(maxsize=2)
def _read_examples(path: Path) -> tuple[Example, ...]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return tuple(Example(normalise(row["text"]), row["unit"]) for row in rows)


def corpus_examples(path: Path = CORPUS_EXAMPLES) -> tuple[Example, ...]:
    """The shipped labelled complaints (none when the file is absent)."""
    return _read_examples(path) if path.exists() else ()


def _text_grams(text: str) -> set[str]:
    out: set[str] = set()
    for part in text.split("|"):
        out |= grams(part)
    return out


class _Counts(NamedTuple):
    """Sparse gram counts: gram -> id, and one (gram id, unit, weight) triple per occurrence."""

    ids: dict[str, int]
    gram_ids: list[int]
    units: list[str]
    weights: list[float]


def _count(examples: Iterable[Example], ids: dict[str, int] | None = None) -> _Counts:
    ids = {} if ids is None else ids
    gram_ids: list[int] = []
    units: list[str] = []
    weights: list[float] = []
    setdefault = ids.setdefault
    for example in examples:
        found = [setdefault(g, len(ids)) for g in _text_grams(example.text)]
        gram_ids += found
        units += [example.unit] * len(found)
        weights += [example.weight] * len(found)
    return _Counts(ids, gram_ids, units, weights)


_Arrays = tuple[dict[str, int], npt.NDArray[np.intp], npt.NDArray[np.intp],
                npt.NDArray[np.float64]]


@lru_cache(maxsize=4)
def _counted(examples: tuple[Example, ...], units: tuple[str, ...]) -> _Arrays:
    # The shipped examples are the same for every table version: counted once per process.
    counts = _count(examples)
    unit_id = {unit: i for i, unit in enumerate(units)}
    return (counts.ids, np.array(counts.gram_ids, dtype=np.intp),
            np.array([unit_id.get(u, -1) for u in counts.units], dtype=np.intp),
            np.array(counts.weights))


class UnitModel:
    """Naive Bayes over units; trained once per table version, read-only afterwards."""

    def __init__(self, examples: Iterable[Example], units: Sequence[str], *,
                 shared: tuple[Example, ...] = (), alpha: float = 0.1,
                 sharpness: float = 8.0, min_count: float = 2.0,
                 min_grams: int = 30, complement: bool = False,
                 keep_share: float = 1.0) -> None:
        """`shared`: examples common to many versions (counted once per process); `examples`:
        this version's own (its items' wording, its corrections)."""
        self.units = tuple(units)
        self.sharpness = sharpness
        self.min_grams = min_grams
        examples = list(examples)
        self.examples = len(shared) + len(examples)
        unit_id = {unit: i for i, unit in enumerate(self.units)}
        base_ids, base_rows, base_columns, base_values = _counted(tuple(shared), self.units)
        own = _count(examples, dict(base_ids))
        width = len(self.units)
        rows = np.concatenate([base_rows, np.array(own.gram_ids, dtype=np.intp)])
        columns = np.concatenate([base_columns, np.array([unit_id.get(u, -1) for u in own.units],
                                                         dtype=np.intp)])
        values = np.concatenate([base_values, np.array(own.weights)])
        known = columns >= 0
        flat = np.bincount(rows[known] * width + columns[known], weights=values[known],
                           minlength=len(own.ids) * width)
        matrix = flat.reshape(len(own.ids), width)
        # Grams seen (in weight) fewer than `min_count` times say too little to keep. Of the
        # rest, only the `keep_share` most telling are kept: telling = how far the gram leans to
        # one unit (its largest share of the weight minus a uniform share) × log(1 + weight).
        # Grams spread evenly over units (来, 说, 楼 …) add noise to every sum and are dropped.
        total = matrix.sum(axis=1)
        keep = np.flatnonzero(total >= min_count)
        if keep_share < 1.0 and len(keep):
            lean = matrix[keep].max(axis=1) / total[keep] - 1.0 / width
            telling = lean * np.log1p(total[keep])
            count = max(1, int(len(keep) * keep_share))
            keep = np.sort(keep[np.argsort(-telling, kind="stable")[:count]])
        names = list(own.ids)
        self.grams = [names[i] for i in keep.tolist()]
        self._ids = {gram: i for i, gram in enumerate(self.grams)}
        matrix = matrix[keep]
        if complement:
            # Complement naive Bayes: a unit is scored by how unlike the OTHER units' examples
            # the text is. Each unit's complement pools many units' examples, so its estimates
            # rest on far more text than the unit's own — better when units have few examples.
            matrix = matrix.sum(axis=1, keepdims=True) - matrix
        totals = matrix.sum(axis=0) + alpha * len(keep)
        logp = np.log(matrix + alpha) - np.log(np.maximum(totals, 1e-9))
        if complement:
            logp = -logp
        self._logp = logp - logp.mean(axis=1, keepdims=True)
        self._unit_index = {unit: i for i, unit in enumerate(self.units)}
        self._flat = np.full(len(self.units), 1.0 / len(self.units))
        self._none = self._logp[:0]

    def __len__(self) -> int:
        return len(self._ids)

    def known(self, norm: str) -> list[int]:
        return self.known_grams(grams(norm))

    def known_grams(self, text_grams: set[str]) -> list[int]:
        """Ids of the grams the model knows, in the set's order (the sums below follow it)."""
        get = self._ids.get
        return [i for i in map(get, text_grams) if i is not None]

    def predict(self, norm: str) -> Prediction:
        return self.predict_grams(grams(norm))

    def predict_grams(self, text_grams: set[str]) -> Prediction:
        """As `predict`, from the text's `grams` (the router extracts them once per text)."""
        ids = self.known_grams(text_grams)
        if not ids:
            return Prediction(self.units, self._flat.copy(), ids, _NO_IDS, self._none)
        # A short text is weak evidence: its mean is taken over at least `min_grams` grams (the
        # missing ones count as neutral), so 今天天气不错 leaves the posterior nearly flat.
        index = np.array(ids, dtype=np.intp)
        rows = self._logp[index]
        z = rows.sum(axis=0)
        z *= self.sharpness / max(len(ids), self.min_grams)
        p = np.exp(z - z.max())
        return Prediction(self.units, p / p.sum(), ids, index, rows)

    def drivers(self, prediction: Prediction, unit: str, versus: str | None,
                count: int = 3) -> list[str]:
        """The text's grams that most favour `unit` over `versus` (or over the average unit);
        a gram inside a longer quoted one is not quoted again."""
        ids = prediction.ids
        column = self._unit_index.get(unit)
        if not ids or column is None:
            return []
        rows = prediction.rows
        lift = rows[:, column]
        other = None if versus is None else self._unit_index.get(versus)
        if other is not None:
            lift = lift - rows[:, other]
        quoted: list[str] = []
        order = np.argsort(-lift, kind="stable")[: 4 * count]
        names = self.grams
        for i, value in zip(order.tolist(), lift[order].tolist(), strict=True):
            if value <= 0 or len(quoted) == count:
                break
            gram = names[ids[i]]
            if not any(gram in q for q in quoted):
                quoted = [q for q in quoted if q not in gram] + [gram]
        return quoted
