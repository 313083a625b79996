"""A learned unit model: multinomial naive Bayes over character 1–2-grams of the normalised text.

The rules say what the table's authors wrote; this says what labelled complaints looked like.
It is trained on three kinds of labelled example, each a text and the unit that was right:
- every item's own wording (name, phrases, strong phrases, combo parts), labelled with its unit;
- complaints written by outsiders to the rules (`examples/corpus-examples.tsv`, written from
  the tuning corpus by `bench/routing_examples.py`, already normalised);
- dispatchers' corrections (`routing_correction`: text → correct unit), added when a version is
  compiled (`gridops.routing.service`), so the router learns from its dispatchers.

Naive Bayes is small and well understood: per unit, the log probability of each gram (add-α
smoothed); a text is the sum over its distinct grams. Its raw sums are overconfident (the grams
of one text are far from independent), so the posterior uses the MEAN log-likelihood per gram
times `sharpness`, which cross-validation calibrates. The class prior is uniform: the corpus'
unit mix is the authors', not the district's.

Not every gram's vote is worth the same. Each gram's row is multiplied by how much the gram
says about the unit, 1 − H(unit | gram) / log(units), from the units its examples were labelled
with: 0.92 for 燃气, 0.85 for 停电, 0.82 for 医保; 0.10 for 楼, 0.06 for 一下, 0.01 for 人 — at
most 1, for a gram seen with one unit only, 0 for one seen with every unit alike. It is the
Kullback–Leibler divergence of the gram's unit distribution from the (uniform) prior over its
maximum: a feature weight in the spirit of Lee, Gutierrez & Dou, "Calculating feature weights in
naive Bayes with Kullback-Leibler measure" (ICDM 2011). Unweighted, a common gram that the
examples of a few units happen to lack votes hard against them (log α) and many such grams drown
the one that tells; weighted, they hardly vote. Grams weighing less than `min_information`
(0.3) are left out: they say almost nothing and cost time. This replaces keeping only the most
telling 80 % of the grams (`keep_share`, still available) by a soft share, and grams seen once
are kept too (a pair seen in one complaint only is evidence for the next one that says it).

Every gram's row is centred (its mean over units subtracted) and multiplied by its weight:
softmax ignores a per-gram constant, and weighted centred rows say directly how much a gram's
vote favours a unit — the explanation quotes the grams with the largest difference between the
chosen unit and the runner-up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from operator import add
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from gridops.routing import precounted
from gridops.routing.ngrams import (
    CUT,
    LONG,
    SEPARATOR,
    Dense,
    Vocabulary,
    batch,
    cut_batch,
    distinct,
    gram_of,
    learned_keys,
    member,
    pair_keys_of,
)
from gridops.routing.normalise import normalise
from gridops.routing.similarity import STOP_GRAMS
from gridops.routing.table import ItemStandard

if TYPE_CHECKING:
    from gridops.routing.linear import Linear

__all__ = ["CORPUS_EXAMPLES", "Example", "Prediction", "UnitModel", "corpus_digest",
           "corpus_examples", "grams", "item_examples", "shipped_counts"]

CORPUS_EXAMPLES = Path(__file__).parent / "examples" / "corpus-examples.tsv"


class Example(NamedTuple):
    text: str  # normalised
    unit: str
    weight: float = 1.0


class Prediction(NamedTuple):
    units: tuple[str, ...]
    posterior: npt.NDArray[np.float64]  # per unit, sums to 1
    ids: npt.NDArray[np.intp]  # the text's grams the model knows, ascending (reading order)
    rows: npt.NDArray[np.float64]  # their weighted log-probability rows (gram × unit), read once

    @property
    def grams(self) -> int:
        return len(self.ids)

    def best(self) -> tuple[str, float]:
        i = int(np.argmax(self.posterior))
        return self.units[i], float(self.posterior[i])


_NO_IDS = np.zeros(0, dtype=np.intp)
_TRUE = np.ones(1, dtype=np.bool_)

# Words that say where, not what: place names shaped XX社区 / XX街道, grid numbers and digits. The
# next complaint comes from another community, so a model that learned 清水塘 → WTR learned noise.
# Latin-letter runs (ktv, wy = 物业, wifi) are cut out of the Chinese and kept as one gram each.
_CUT = CUT
_STOP_KEYS = np.sort(pair_keys_of(STOP_GRAMS)[0])


def grams(norm: str) -> set[str]:
    """Distinct character 1- and 2-grams of a normalised text, without place names and digits
    (`_CUT`) or the stop grams of `gridops.routing.similarity` (的, 反映, 诉求 …).

    The plain definition; the router reads the same grams as integer keys
    (`gridops.routing.ngrams.learned_keys`, `UnitModel.ids`)."""
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


def item_examples(items: Sequence[ItemStandard],
                  normalised: Callable[[str], str] = normalise) -> list[Example]:
    """Each item's wording as one example of its unit: name, phrases, strong phrases, combos.
    The fields are joined by a separator no text holds, so no gram spans two of them.
    (`normalised`: `normalise`, or a compile's memo of it.)"""
    out = []
    for item in items:
        parts = [item.name, *item.phrases, *item.strong, *("".join(c) for c in item.combos)]
        out.append(Example(SEPARATOR.join(p for p in map(normalised, parts) if p), item.unit))
    return out


@lru_cache(maxsize=2)
def _read_examples(path: Path) -> tuple[Example, ...]:
    """id, unit and the normalised text, tab-separated (normalise leaves no tab or newline): a
    split per line, where parsing JSON and normalising them (9,572 texts in the fifth session)
    cost the first compile of a process ≈ 60 ms."""
    rows = (line.split("\t", 2) for line in path.read_text("utf-8").splitlines()[1:] if line)
    return tuple(Example(text, unit) for _, unit, text in rows)


def corpus_examples(path: Path = CORPUS_EXAMPLES) -> tuple[Example, ...]:
    """The shipped labelled complaints (none when the file is absent)."""
    return _read_examples(path) if path.exists() else ()


@lru_cache(maxsize=2)
def corpus_digest(path: Path = CORPUS_EXAMPLES) -> str:
    """The SHA-256 of the shipped examples file ("" when it is absent): the precounted counts
    name the examples they count."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""


class Occurrences(NamedTuple):
    """Each text's distinct grams as `grams` reads them (its `|`-separated fields alike, stop
    grams included), one (text, gram) pair per row, ordered by gram, then by text."""

    text: npt.NDArray[np.intp]  # which text
    gram: npt.NDArray[np.intp]  # which of `keys`
    keys: npt.NDArray[np.int64]  # the distinct grams' keys, ascending (LONG + i: longer[i])
    first: npt.NDArray[np.intp]  # per distinct gram, the first text holding it
    longer: list[str]  # Latin runs longer than two letters, in (length, text) order


def occurrences(texts: Sequence[str]) -> Occurrences:
    """`grams` of many texts (stop grams left in) in one pass of array operations."""
    batched = batch(texts)
    codes, owner = batched.codes, batched.owner
    keep, run_at, runs = cut_batch(texts, batched)
    longer = sorted({run for run in runs if len(run) > 2}, key=lambda run: (len(run), run))
    dense = Dense(codes, longer)
    pair = keep[:-1] & keep[1:]
    found = [dense.of_chars(codes[keep]), dense.of_pairs(codes[:-1][pair], codes[1:][pair])]
    where = [owner[keep], owner[:-1][pair]]
    if runs:
        rank = {run: dense.pairs + i for i, run in enumerate(longer)}
        found.append(np.array([rank[run] if len(run) > 2 else dense.of_short(run)
                               for run in runs], dtype=np.int64))
        where.append(owner[run_at])
    count = max(1, len(texts))
    pairs = np.concatenate(found) * count + np.concatenate(where)
    pairs.sort()
    if len(pairs):
        pairs = pairs[np.concatenate((_TRUE, pairs[1:] != pairs[:-1]))]
    gram, text = np.divmod(pairs, count)
    new = np.concatenate((_TRUE, gram[1:] != gram[:-1])) if len(gram) else gram.astype(bool)
    return Occurrences(text, np.cumsum(new) - 1, dense.key(gram[new]), text[new], longer)


def _relonged(found: Occurrences | Counts, rank: dict[str, int]) -> npt.NDArray[np.int64]:
    """`found.keys` with its longer runs numbered by `rank` (LONG + rank)."""
    if not found.longer:
        return found.keys
    keys = found.keys.copy()
    runs = keys >= LONG
    ranks = np.array([rank[run] for run in found.longer], dtype=np.int64)
    keys[runs] = LONG + ranks[keys[runs] - LONG]
    return keys


Floats = npt.NDArray[np.float64]
Ids = npt.NDArray[np.intp]


class Counts(NamedTuple):
    """How much example weight each unit gives each gram: the model's matrix before smoothing,
    as its non-zero cells (a gram is seen with a few units: nine cells in ten are zero, and a
    dense matrix of the shipped examples' 150,000-odd grams would be copied several times a
    compile)."""

    keys: npt.NDArray[np.int64]  # distinct grams, ascending (LONG + i: longer[i])
    cells: npt.NDArray[np.intp]  # the non-zero cells, row (of keys) × width + unit, ascending
    values: npt.NDArray[np.float64]  # their weight
    width: int  # units
    longer: list[str]

    def dense(self) -> Floats:
        """The gram × unit matrix."""
        matrix = np.zeros(len(self.keys) * self.width)
        matrix[self.cells] = self.values
        return matrix.reshape(len(self.keys), self.width)

    def rows(self, kept: npt.NDArray[np.bool_]) -> Counts:
        """Only the grams where `kept` is true (renumbered in order)."""
        row, column = np.divmod(self.cells, self.width)
        held = kept[row]
        renumbered = np.cumsum(kept) - 1
        return Counts(self.keys[kept], renumbered[row[held]] * self.width + column[held],
                      self.values[held], self.width, self.longer)


def counts(found: Occurrences, examples: Sequence[Example], units: Sequence[str]) -> Counts:
    """Per gram of `found` (the occurrences of the examples' texts), the weight of the examples
    holding it, by unit (an example of a unit not in `units` counts for none)."""
    unit_id = {unit: i for i, unit in enumerate(units)}
    width = len(units)
    columns = np.array([unit_id.get(example.unit, -1) for example in examples],
                       dtype=np.intp)[found.text]
    known = columns >= 0
    weights = np.array([example.weight for example in examples], dtype=np.float64)[found.text]
    matrix = np.bincount(found.gram[known] * width + columns[known], weights=weights[known],
                         minlength=len(found.keys) * width).astype(np.float64, copy=False)
    cells = np.flatnonzero(matrix)
    return Counts(found.keys, cells, matrix[cells], width, found.longer)


def summed(first: Counts, second: Counts) -> Counts:
    """The counts of two sets of examples over the same units as one (whole-number weights:
    the sums are exact, whatever their order)."""
    longer = sorted({*first.longer, *second.longer}, key=lambda run: (len(run), run))
    rank = {run: i for i, run in enumerate(longer)}
    # Renumbering keeps each side ascending: its runs keep their (length, text) order.
    keys_first, keys_second = _relonged(first, rank), _relonged(second, rank)
    # Both are ascending and distinct: the second's new keys go in where they belong (no sort
    # of the first's many keys, which most of the second's already are).
    new = keys_second[~member(keys_second, keys_first)] if len(keys_first) else keys_second
    keys = np.insert(keys_first, keys_first.searchsorted(new), new)
    width = first.width
    # Each side's cells in the new rows stay ascending; the second's few are added to the
    # first's cells they share and put in among them where they are new.
    cells_first = _moved(first.cells, width, keys.searchsorted(keys_first))
    cells_second = _moved(second.cells, width, keys.searchsorted(keys_second))
    at = cells_first.searchsorted(cells_second)
    shared = at < len(cells_first)
    shared[shared] = cells_first[at[shared]] == cells_second[shared]
    values = first.values.copy()
    values[at[shared]] += second.values[shared]
    fresh = ~shared
    return Counts(keys, np.insert(cells_first, at[fresh], cells_second[fresh]),
                  np.insert(values, at[fresh], second.values[fresh]), width, longer)


def _moved(cells: npt.NDArray[np.intp], width: int,
           rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """`cells` with row r moved to rows[r]."""
    row, column = np.divmod(cells, width)
    moved: npt.NDArray[np.intp] = rows[row] * width + column
    return moved


def merged(first: Occurrences, second: Occurrences, offset: int) -> Occurrences:
    """The occurrences of two batches as one (the second's texts numbered from `offset`):
    rows of the first batch, then of the second."""
    longer = sorted({*first.longer, *second.longer}, key=lambda run: (len(run), run))
    rank = {run: i for i, run in enumerate(longer)}
    keys_first, keys_second = _relonged(first, rank), _relonged(second, rank)
    keys, _ = distinct(np.concatenate((keys_first, keys_second)))
    at_first = np.searchsorted(keys, keys_first)
    at_second = np.searchsorted(keys, keys_second)
    text = np.empty(len(keys), dtype=np.intp)
    text[at_second] = second.first + offset
    text[at_first] = first.first  # earlier texts
    return Occurrences(np.concatenate((first.text, second.text + offset)),
                       np.concatenate((at_first[first.gram], at_second[second.gram])),
                       keys, text, longer)


@lru_cache(maxsize=2)
def _shared_occurrences(shared: tuple[Example, ...]) -> Occurrences:
    # The shipped examples are the same for every table version: read once per process.
    return occurrences([example.text for example in shared])


@lru_cache(maxsize=2)
def _shared_counts(shared: tuple[Example, ...], units: tuple[str, ...]) -> Counts:
    # And so are their counts: a later compile adds only its own examples' (its items' wording,
    # its corrections) instead of counting every shipped complaint's grams again.
    return counts(_shared_occurrences(shared), shared, units)


@lru_cache(maxsize=2)
def shipped_counts(units: tuple[str, ...]) -> tuple[Counts, int]:
    """The shipped examples' counts and how many examples they count: as counted when the
    examples were written (`gridops.routing.precounted`), without reading the examples, or else
    counted here, once per process."""
    found = precounted.load(precounted.PRECOUNTED, corpus_digest())
    if found is None:
        shipped = corpus_examples()
        return _shared_counts(shipped, units), len(shipped)
    cells, values = found.cells_of(units)
    return Counts(found.keys, cells, values, len(units), list(found.longer)), found.examples


def _information(row: npt.NDArray[np.intp], value: Floats, grams: int, width: int,
                 power: float) -> Floats:
    """Per gram, (1 − H(unit | gram) / log(units)) ** power, from the non-zero cells of the
    gram × unit weight matrix (`row`, `value`): 1 for a gram seen with one unit only, 0 for one
    seen with every unit alike. `power` 0: every gram weighs 1."""
    if not power or width < 2:
        return np.ones(grams)
    total = np.bincount(row, weights=value, minlength=grams)
    share = value / total[row]
    entropy = -np.bincount(row, weights=share * np.log(share), minlength=grams)
    weight: Floats = np.maximum(0.0, 1.0 - entropy / np.log(width)) ** power
    return weight


def _naive_bayes(tally: Counts, alpha: float, power: float,
                 floor: float) -> tuple[Floats, Floats, Ids]:
    """Per gram (row: its example weight per unit), log P(gram | unit) with add-α smoothing,
    centred over units and multiplied by the gram's information weight — for the grams whose
    weight reaches `floor` —, their weights, and which rows they are. Only the non-zero cells are
    read one by one (a gram is seen with a few units: most of the matrix is zero, and a unit's
    log-probability of a gram it never saw is one number per unit)."""
    grams, width = len(tally.keys), tally.width
    row, column = np.divmod(tally.cells, width)
    value = tally.values
    weight = _information(row, value, grams, width, power)
    log_total = np.log(np.maximum(np.bincount(column, weights=value, minlength=width)
                                  + alpha * grams, 1e-9))
    unseen = np.log(alpha) - log_total  # a unit's log-probability of a gram it never saw
    seen = np.log(value + alpha) - log_total[column]
    mean = (unseen.sum() + np.bincount(row, weights=seen - unseen[column],
                                       minlength=grams)) / width
    kept = np.flatnonzero(weight >= floor) if floor > 0 else np.arange(grams)
    at = np.full(grams, -1)
    at[kept] = np.arange(len(kept))
    held = at[row] >= 0
    row, column, seen = row[held], column[held], seen[held]
    weight_kept = weight[kept]
    logp = np.subtract(unseen, mean[kept, None])
    logp *= weight_kept[:, None]
    logp.ravel()[at[row] * width + column] = (seen - mean[row]) * weight[row]
    return logp, weight_kept, kept


def _complement(matrix: Floats, alpha: float, power: float,
                floor: float) -> tuple[Floats, Floats, Ids]:
    """As `_naive_bayes`, scoring a unit by how unlike the OTHER units' examples the text is
    (complement naive Bayes: each unit's complement pools many units' examples, so its
    estimates rest on far more text than the unit's own)."""
    grams, width = matrix.shape
    cells = np.flatnonzero(matrix)
    row = cells // width
    weight = _information(row, matrix.ravel()[cells], grams, width, power)
    other = matrix.sum(axis=1, keepdims=True) - matrix
    logp = -(np.log(other + alpha) - np.log(np.maximum(other.sum(axis=0) + alpha * grams,
                                                       1e-9)))
    logp -= logp.mean(axis=1, keepdims=True)
    logp *= weight[:, None]
    kept = np.flatnonzero(weight >= floor) if floor > 0 else np.arange(grams)
    return logp[kept], weight[kept], kept


def _gram_of(key: int, longer: Sequence[str]) -> str:
    return longer[key - LONG] if key >= LONG else gram_of(key)


class UnitModel:
    """Naive Bayes over units; trained once per table version, read-only afterwards."""

    def __init__(self, examples: Iterable[Example], units: Sequence[str], *,
                 shared: tuple[Example, ...] | None = (), alpha: float = 0.1,
                 sharpness: float = 8.0, min_count: float = 1.0,
                 min_grams: int = 30, complement: bool = False,
                 keep_share: float = 1.0, information: float = 1.0,
                 min_information: float = 0.3,
                 found: Occurrences | None = None,
                 linear: Linear | None = None, linear_sharpness: float = 3.0) -> None:
        """`shared`: examples common to many versions, whose grams are read once per process
        (None: the shipped corpus, whose grams were counted when it was written); `examples`:
        this version's own (its items' wording, its
        corrections); `found`: `occurrences` of the own examples' texts, if the caller has
        them. `information`: the power of each gram's weight 1 − H(unit | gram) / log(units)
        (0: every gram weighs 1, plain naive Bayes); `min_information`: grams weighing less are
        left out (with `linear`, they stay in the vocabulary, with no naive Bayes vote).
        `linear`: an SVM (`gridops.routing.linear`) whose decision values, × `linear_sharpness`,
        are added to naive Bayes' (× `sharpness` / grams) before the softmax."""
        self.units = tuple(units)
        self.sharpness = sharpness
        self.min_grams = min_grams
        examples = list(examples)
        if found is None:
            found = occurrences([example.text for example in examples])
        width = len(self.units)
        tally = counts(found, examples, self.units)
        common = 0  # examples besides this version's own
        if shared is None:
            counted, common = shipped_counts(self.units)
            tally = summed(counted, tally)
        elif shared:
            tally = summed(_shared_counts(shared, self.units), tally)
            common = len(shared)
        self.examples = common + len(examples)
        # Gram ids in key order (a text's ids, sorted, are then in reading order); stop grams
        # have none.
        tally = tally.rows(~member(tally.keys, _STOP_KEYS))
        # Grams seen (in weight) fewer than `min_count` times are left out. With `keep_share`
        # < 1, so are all but the most telling: telling = how far the gram leans to one unit
        # (its largest share of the weight minus a uniform share) × log(1 + weight), ties in
        # order of first occurrence (texts in order, each text's grams by key). The information
        # weight below makes this unnecessary (grams spread evenly over units hardly vote).
        row = tally.cells // width
        total = np.bincount(row, weights=tally.values, minlength=len(tally.keys))
        kept = total >= min_count
        if keep_share < 1.0 and kept.any():
            keep = np.flatnonzero(kept)
            largest = np.zeros(len(tally.keys))
            np.maximum.at(largest, row, tally.values)
            lean = largest[keep] / total[keep] - 1.0 / width
            telling = lean * np.log1p(total[keep])
            count = max(1, int(len(keep) * keep_share))
            if shared is None:
                shared = corpus_examples()
            if shared:
                found = merged(_shared_occurrences(shared), found, len(shared))
            first = found.first[~member(found.keys, _STOP_KEYS)][keep]
            kept[:] = False
            kept[keep[np.lexsort((first, -telling))[:count]]] = True
        if not kept.all():
            tally = tally.rows(kept)
        keys = tally.keys
        # Weighted, centred log-probabilities (gram × unit).
        # Beside the SVM, every gram is kept: the SVM may weigh one that naive Bayes finds
        # uninformative.
        floor = 0.0 if linear is not None else min_information
        logp, weight, informative = (
            _complement(tally.dense(), alpha, information, floor) if complement
            else _naive_bayes(tally, alpha, information, floor))
        if linear is not None and min_information > 0:
            logp[weight < min_information] = 0.0
        keys = keys[informative]
        self._logp = logp
        self.information = weight  # per gram id, the weight of its vote
        short = int(np.searchsorted(keys, LONG))
        self._keys = keys
        self.vocabulary = Vocabulary(keys[:short],
                                     [_gram_of(key, tally.longer) for key in keys[short:].tolist()])
        self._unit_index = {unit: i for i, unit in enumerate(self.units)}
        self._flat = np.full(len(self.units), 1.0 / len(self.units))
        self._none = self._logp[:0]
        self.linear = linear
        self.linear_sharpness = linear_sharpness
        if linear is not None:
            rows, self._idf_squared, intercept = linear.aligned(self.vocabulary, self.units)
            self._linear_rows = rows
            self._intercept = intercept
            self._linear_intercept = intercept * linear_sharpness

    def __len__(self) -> int:
        return len(self._keys)

    def gram(self, gram_id: int) -> str:
        return self.vocabulary.gram(gram_id)

    @property
    def grams(self) -> list[str]:
        """The model's n-grams, by id."""
        return [self.gram(i) for i in range(len(self))]

    def ids(self, norm: str) -> npt.NDArray[np.intp]:
        """Ids of the grams of a normalised text (`grams`) the model knows, ascending."""
        return self.vocabulary.ids(*learned_keys(norm))

    def known(self, norm: str) -> list[int]:
        return self.ids(norm).tolist()  # type: ignore[no-any-return]

    def known_grams(self, text_grams: Iterable[str]) -> list[int]:
        """Ids of the grams the model knows, ascending."""
        return self.vocabulary.of_grams(text_grams).tolist()  # type: ignore[no-any-return]

    def predict(self, norm: str) -> Prediction:
        return self.predict_ids(self.ids(norm))

    def predict_grams(self, text_grams: Iterable[str]) -> Prediction:
        return self.predict_ids(self.vocabulary.of_grams(text_grams))

    def predict_ids(self, ids: npt.NDArray[np.intp]) -> Prediction:
        """As `predict`, from the ids of the text's grams (`ids`: the router reads them once
        per text)."""
        if not len(ids):
            return Prediction(self.units, self._flat.copy(), _NO_IDS, self._none)
        # The mean weighted vote per gram: a text of many grams that say little (weight near
        # 0) is weak evidence. So is a short text: its mean is taken over at least `min_grams`
        # grams (the missing ones count as neutral), so 今天天气不错 leaves the posterior
        # nearly flat.
        rows = self._logp.take(ids, axis=0)
        if self.linear is not None:
            return self._joint(ids, rows)
        z = np.add.reduce(rows, axis=0)  # rows.sum(axis=0), without the method's wrappers
        z *= self.sharpness / max(len(ids), self.min_grams)
        z -= np.maximum.reduce(z)
        np.exp(z, out=z)
        z /= np.add.reduce(z)
        return Prediction(self.units, z, ids, rows)

    def learn(self, examples: Sequence[Example], cap: float = 1.0) -> int:
        """Teach the SVM part dispatchers' corrections (naive Bayes learns them with its other
        examples): for each, oldest first (`examples` come newest first), while the SVM's
        decision value for the right unit does not beat every other unit's by 1, the text's
        grams move towards it and away from the strongest rival, just enough for a margin of 1
        over that rival — in all at most `cap` × the example's weight (passive-aggressive
        learning, PA-I: Crammer et al., "Online passive-aggressive algorithms", JMLR 2006,
        repeated while another rival is within the margin). The vector is the SVM's own (the
        text's grams' idf, length 1), so a step τ adds τ·idf² / norm to each of its grams'
        rows (`_linear_rows` hold weight × idf). A gram the SVM never saw is learned by naive
        Bayes only. Returns how many examples moved the SVM."""
        if self.linear is None:
            return 0
        index = self._unit_index
        moved = 0
        for example in reversed(examples):
            right = index.get(example.unit)
            ids = self.ids(example.text)
            if right is None or not len(ids):
                continue
            squared = self._idf_squared.take(ids)
            norm = float(np.sqrt(squared.sum()))
            if norm == 0:
                continue
            others = np.arange(len(self.units)) != right
            budget = cap * example.weight
            stepped = False
            for _ in range(len(self.units)):
                rows = self._linear_rows.take(ids, axis=0)
                decision = rows.sum(axis=0, dtype=np.float64) / norm + self._intercept
                rival = int(np.argmax(np.where(others, decision, -np.inf)))
                loss = 1.0 - (decision[right] - decision[rival])
                if loss <= 1e-6 or budget <= 0:
                    break
                # ‖x‖² = 1 (the SVM's vector of a text is normalised): τ = loss / 2.
                tau = min(budget, loss / 2.0)
                budget -= tau
                step = (tau * squared / norm).astype(np.float32)
                self._linear_rows[ids, right] += step
                self._linear_rows[ids, rival] -= step
                stepped = True
            moved += stepped
        return moved

    def _joint(self, ids: npt.NDArray[np.intp], rows: Floats) -> Prediction:
        """Naive Bayes' z (as `predict_ids`) plus the SVM's decision values × its sharpness:
        each gram's row is its share of both, so `drivers` quotes what moved the sum.

        The SVM's decision values are normalised by the text's length, so a short text would
        speak as loud as a long one (天气不错 would lean hard to GAS for 天气). As naive Bayes'
        mean is taken over at least `min_grams` grams, the SVM's values are × grams /
        `min_grams` when the text has fewer: a text of few known grams is weak evidence."""
        grams = len(ids)
        rows = rows * (self.sharpness / max(grams, self.min_grams))
        damp = min(1.0, grams / self.min_grams)
        norm = float(np.sqrt(np.add.reduce(self._idf_squared.take(ids))))
        if norm > 0:
            svm = self._linear_rows.take(ids, axis=0)
            svm *= self.linear_sharpness * damp / norm
            rows += svm
        z = np.add.reduce(rows, axis=0)
        z += self._linear_intercept * damp
        z -= np.maximum.reduce(z)
        np.exp(z, out=z)
        z /= np.add.reduce(z)
        return Prediction(self.units, z, ids, rows)

    def drivers(self, prediction: Prediction, unit: str, versus: str | None,
                count: int = 3) -> list[str]:
        """The text's grams that most favour `unit` over `versus` (or over the average unit);
        a gram inside a longer quoted one is not quoted again."""
        ids = prediction.ids
        column = self._unit_index.get(unit)
        if not len(ids) or column is None:
            return []
        rows = prediction.rows
        other = None if versus is None else self._unit_index.get(versus)
        # The lift's negation (a − b is exactly −(b − a)), sorted ascending: the most telling
        # first, ties in reading order.
        against = -rows[:, column] if other is None else rows[:, other] - rows[:, column]
        quoted: list[str] = []
        order = against.argsort(kind="stable")[: 4 * count].tolist()
        values = against.tolist()
        gram_of_id = self.vocabulary.gram
        for i in order:
            if values[i] >= 0 or len(quoted) == count:
                break
            gram = gram_of_id(ids.item(i))
            if not any(gram in q for q in quoted):
                quoted = [q for q in quoted if q not in gram] + [gram]
        return quoted
