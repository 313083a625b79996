"""Character n-grams as integer keys: a text's distinct 1–2-grams found in a vocabulary with a
few array operations instead of a Python set of strings and a dictionary look-up per gram.

A character's key is its code point; a pair's is (first << 32) | second, which is what the
text encoded as UTF-32 big-endian reads as when taken as overlapping 64-bit words; a Latin run
longer than two letters (`ktv`, `wifi`: the learned model keeps it whole) is keyed past every
pair. Sorting keys sorts grams by length, then by code points: that is the order in which the
router reads a text's grams, and it fixes the order of float sums and which of two equally
telling n-grams a reason quotes, whatever the process' hash seed.

`|` separates fields and texts: no vocabulary holds it or a pair with it, so no gram spans two
fields. `tests/routing/test_ngrams.py` holds these against the plain string versions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["CUT", "LONG", "SEPARATOR", "Batch", "Dense", "GramIndex", "Vocabulary", "batch",
           "cut_batch", "distinct", "gram_of", "key_of", "keys", "learned_keys", "member",
           "pair_keys_of"]

Keys = npt.NDArray[np.int64]
Ids = npt.NDArray[np.intp]

SEPARATOR = "|"
LONG = 1 << 53  # past every pair key (a pair's is below 2^53)
_END = np.iinfo(np.int64).max  # a sentinel past every key: searchsorted never runs off the end
_TRUE = np.ones(1, dtype=np.bool_)

# Words that say where, not what: place names shaped XX社区 / XX街道, grid numbers and digits.
# Latin-letter runs (ktv, wy = 物业, wifi) are cut out of the Chinese and kept as one gram each.
# (gridops.routing.learned reads texts through this: see `grams` there.)
_PLACE_NAME = r"[\u4e00-\u9fff]{2,3}?(?:社区|街道)"
CUT = re.compile(_PLACE_NAME + r"|网格|[0-9]+|([a-z]+)")
_CUT_REST = re.compile(r"网格|[0-9]+|([a-z]+)")


def key_of(gram: str) -> int | None:
    """The key of a one- or two-character gram (None for a longer one)."""
    if len(gram) == 1:
        return ord(gram)
    if len(gram) == 2:
        return ord(gram[0]) << 32 | ord(gram[1])
    return None


def gram_of(key: int) -> str:
    """The gram of a one- or two-character key."""
    return chr(key) if key < 1 << 32 else chr(key >> 32) + chr(key & 0xFFFFFFFF)


_CHAR = np.dtype(">u4")
_PAIR = np.dtype(">u8")
_KEY = np.dtype(np.int64)


def keys(text: str) -> Keys:
    """The keys of every character and every pair of neighbours of `text`, repeats included,
    characters first."""
    raw = text.encode("utf-32-be")
    count = len(text)
    if count < 2:
        return np.frombuffer(raw, dtype=_CHAR).astype(_KEY)
    return np.concatenate((np.frombuffer(raw, dtype=_CHAR),
                           np.ndarray((count - 1,), dtype=_PAIR, buffer=raw, strides=(4,))),
                          dtype=_KEY, casting="unsafe")


def learned_keys(norm: str) -> tuple[Keys, list[str]]:
    """The keys of the 1–2-grams `gridops.routing.learned.grams` reads in a normalised text
    (repeats and stop grams included: no vocabulary holds a stop gram), and its Latin runs
    longer than two letters, which have no key of their own."""
    # A place name ends in 社区 or 街道: without them, the rest of `CUT` cuts alike, faster.
    parts = (CUT if "社区" in norm or "街道" in norm else _CUT_REST).split(norm)
    if len(parts) == 1:
        return keys(norm), []
    found = keys(SEPARATOR.join(parts[0::2]))
    runs: list[str] = [run for run in parts[1::2] if run]
    if not runs:
        return found, []
    short = [key for key in map(key_of, runs) if key is not None]
    if short:
        found = np.concatenate((found, np.array(short, dtype=np.int64)))
    return found, [run for run in runs if len(run) > 2]


def pair_keys_of(grams: Iterable[str]) -> tuple[Keys, list[str]]:
    """Keys of one- and two-character grams; the longer ones as they are."""
    short: list[int] = []
    longer: list[str] = []
    for gram in grams:
        key = key_of(gram)
        if key is None:
            longer.append(gram)
        else:
            short.append(key)
    return np.array(short, dtype=np.int64), longer


def distinct(values: Keys) -> tuple[Keys, Ids]:
    """The distinct values, ascending, and how often each occurs (as `np.unique`, whose
    hash-based path is slow on keys that differ only in their high bits)."""
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.intp)
    starts = np.flatnonzero(np.concatenate((_TRUE, ordered[1:] != ordered[:-1])))
    return ordered[starts], np.diff(np.append(starts, len(ordered)))


def member(values: Keys, table: Keys) -> npt.NDArray[np.bool_]:
    """Whether each value is in `table` (sorted, not empty): `np.isin`, without the import of
    numpy.ma its first call costs (≈ 15 ms, once per process)."""
    at = np.minimum(table.searchsorted(values), len(table) - 1)
    held: npt.NDArray[np.bool_] = table.take(at) == values
    return held


class Batch(NamedTuple):
    """Many texts joined by `|`, as arrays: per character its code point and its text."""

    codes: Keys
    owner: Ids  # which text (a separator counts with the text before it)
    keep: npt.NDArray[np.bool_]  # not a separator


def batch(texts: Sequence[str]) -> Batch:
    joined = SEPARATOR.join(texts)
    codes = np.frombuffer(joined.encode("utf-32-be"), dtype=">u4").astype(np.int64)
    lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.intp), lengths + 1)[: len(joined)]
    return Batch(codes, owner, codes != ord(SEPARATOR))


# A place name can only be where 社区 or 街道 is; scanning for it (with 网格, which can start
# where a place name would) is the slow part of `CUT`, so batches run it only on such texts.
_PLACE = re.compile(_PLACE_NAME + "|网格")
_WANG, _GE = ord("网"), ord("格")


def cut_batch(texts: Sequence[str], found: Batch) -> tuple[npt.NDArray[np.bool_], Ids,
                                                           list[str]]:
    """What `CUT` cuts out of each text of a batch (`batch(texts)`): the characters to keep,
    and the Latin runs (where each starts, and the run).

    `CUT` scans left to right for a place name, 网格, a digit run or a Latin run. Only place
    names and 网格 contain Chinese characters, so digits and Latin letters are cut wherever
    they are; every 网格 is cut (inside a place name or on its own: no match ends on 网); place
    names come from scanning texts that hold 社区 or 街道 with the place and 网格 alternatives
    alone, which match where `CUT` matches."""
    codes = found.codes
    size = len(codes)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    latin = (codes >= ord("a")) & (codes <= ord("z"))
    cut = digit | latin
    wang = np.flatnonzero((codes[:-1] == _WANG) & (codes[1:] == _GE))
    cut[wang] = True
    cut[wang + 1] = True
    edges: list[int] = []
    offset = 0
    for text in texts:
        if "社区" in text or "街道" in text:
            for match in _PLACE.finditer(text):
                start, end = match.span()
                edges += (offset + start, offset + end)
        offset += len(text) + 1
    if edges:
        depth = np.cumsum(np.bincount(edges[0::2], minlength=size + 1)
                          - np.bincount(edges[1::2], minlength=size + 1))
        cut |= depth[:size] > 0
    bounds = np.flatnonzero(np.diff(latin, prepend=False, append=False))
    starts = bounds[0::2]
    if len(starts):
        joined = SEPARATOR.join(texts)
        runs = [joined[start:end] for start, end in zip(starts.tolist(), bounds[1::2].tolist(),
                                                        strict=True)]
    else:
        runs = []
    return found.keep & ~cut, starts, runs


class Dense:
    """A batch's grams numbered densely, so that (text, gram, position) fits one int64 for a
    sort: a character by its rank among the batch's characters (c), a pair by C + c₁ × C + c₂,
    a longer Latin run by C + C² + its rank in (length, text) order. The order is the keys'."""

    def __init__(self, codes: Keys, longer: Sequence[str] = ()) -> None:
        present = np.bincount(codes) if len(codes) else np.zeros(1, dtype=np.intp)
        self.chars = np.flatnonzero(present)
        self.rank = np.zeros(len(present), dtype=np.int64)
        self.rank[self.chars] = np.arange(len(self.chars))
        count = self.count = len(self.chars)
        self.pairs = count + count * count  # where longer runs begin
        self.size = self.pairs + len(longer)

    def of_chars(self, codes: Keys) -> Keys:
        return self.rank[codes]

    def of_pairs(self, first: Keys, second: Keys) -> Keys:
        return self.count + self.rank[first] * self.count + self.rank[second]

    def of_short(self, gram: str) -> int:
        """The dense number of a one- or two-character gram of the batch."""
        rank = self.rank
        if len(gram) == 1:
            return int(rank[ord(gram)])
        return int(self.count + rank[ord(gram[0])] * self.count + rank[ord(gram[1])])

    def key(self, dense: Keys) -> Keys:
        """The `keys` key of each dense number (LONG + i for the i-th longer run)."""
        out = np.empty(len(dense), dtype=np.int64)
        chars = dense < self.count
        out[chars] = self.chars[dense[chars]]
        pairs = ~chars & (dense < self.pairs)
        first, second = np.divmod(dense[pairs] - self.count, self.count)
        out[pairs] = self.chars[first] << 32 | self.chars[second]
        runs = dense >= self.pairs
        out[runs] = LONG + dense[runs] - self.pairs
        return out


def _search(table: Keys, found: Keys) -> Ids:
    """Positions in `table` (sorted, ending with a sentinel) of the distinct keys of `found`
    it holds, ascending. Sorts `found` in place (sorted needles also search faster)."""
    found.sort()
    at: Ids = table.searchsorted(found)
    hit = table.take(at) == found
    hit[1:] &= found[1:] != found[:-1]
    known: Ids = at[hit]
    return known


class Vocabulary:
    """Grams numbered in key order, so that the ids of a text's grams, sorted, are in the order
    the router reads them."""

    def __init__(self, sorted_keys: Keys, longer: Sequence[str] = ()) -> None:
        """`sorted_keys`: the short grams' keys, ascending (id = position); `longer`: the Latin
        runs longer than two letters, in (length, text) order, numbered after them."""
        self._keys = np.append(sorted_keys, _END)
        self.short = len(sorted_keys)
        self._longer = {run: self.short + i for i, run in enumerate(longer)}
        self._runs = list(longer)
        self._named: dict[int, str] = {}

    def gram(self, gram_id: int) -> str:
        """The gram with this id."""
        name = self._named.get(gram_id)
        if name is None:
            if gram_id >= self.short:
                name = self._runs[gram_id - self.short]
            else:
                name = gram_of(int(self._keys[gram_id]))
            self._named[gram_id] = name
        return name

    def __len__(self) -> int:
        return self.short + len(self._longer)

    @property
    def keys(self) -> Keys:
        """The short grams' keys, ascending."""
        return self._keys[:-1]

    def ids(self, found: Keys, longer: Sequence[str] = ()) -> Ids:
        """Sorted ids of the distinct grams among `found` (keys, repeats allowed) and `longer`
        that the vocabulary holds."""
        return self.with_longer(_search(self._keys, found.copy()), longer)

    def with_longer(self, ids: Ids, longer: Sequence[str]) -> Ids:
        """`ids` (of short grams, ascending) followed by the ids of the `longer` runs known."""
        if longer:
            more = sorted({i for i in map(self._longer.get, longer) if i is not None})
            if more:
                return np.concatenate((ids, np.array(more, dtype=np.intp)))
        return ids

    def positions(self, found: Keys, longer: Sequence[str] = ()) -> Ids:
        """The id of each key (repeats kept; -1 where the vocabulary lacks it); a key LONG + i
        stands for `longer[i]`."""
        at = np.searchsorted(self._keys, found)
        at[self._keys[at] != found] = -1
        if longer:
            named = np.array([self._longer.get(run, -1) for run in longer], dtype=np.intp)
            runs = found >= LONG
            at[runs] = named[found[runs] - LONG]
        return at

    def of_grams(self, grams: Iterable[str]) -> Ids:
        found, longer = pair_keys_of(grams)
        return self.ids(found, longer)


class GramIndex:
    """Several vocabularies searched at once: a text's keys are sorted and looked up once, and
    each vocabulary's ids are read off the positions found (the model's and the similarity
    index's share most grams)."""

    def __init__(self, vocabularies: Sequence[Vocabulary]) -> None:
        every, _ = distinct(np.concatenate([vocabulary.keys for vocabulary in vocabularies]
                                           or [np.zeros(0, dtype=np.int64)]))
        self._keys = np.append(every, _END)
        self._vocabularies = tuple(vocabularies)
        self._ids: list[Ids] = []
        for vocabulary in vocabularies:
            ids = np.full(len(every), -1, dtype=np.intp)
            ids[every.searchsorted(vocabulary.keys)] = np.arange(vocabulary.short)
            self._ids.append(ids)

    def positions(self, found: Keys) -> Ids:
        """Where the distinct keys of `found` are, ascending (sorts `found` in place)."""
        return _search(self._keys, found)

    def ids(self, which: int, positions: Ids, longer: Sequence[str] = ()) -> Ids:
        """The ids in vocabulary `which` of the grams at `positions` and of `longer`,
        ascending."""
        ids = self._ids[which].take(positions)
        return self._vocabularies[which].with_longer(ids[ids >= 0], longer)
