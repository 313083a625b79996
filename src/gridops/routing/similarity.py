"""How much a text reads like each item standard, for texts whose phrases say little.

A complaint can describe a matter in words no phrase of the table holds (黑漆漆的一片 for a
street light, 楼下那个铁盖子 for a manhole cover). The item's own wording — its name, minor
category, phrases, strong phrases, combo parts, filing and closing conditions — still shares
characters and character pairs with such a text. Each item is one document; the text and the
documents are compared as TF-IDF vectors of character unigrams and bigrams (cosine), with the
inverse document frequency taken from the table itself: nothing is trained on complaints, so a
new table version brings its own similarity.

Characters and pairs found in more than `max_share` of the items (的, 影响, 发现 …) are left out:
they say little about the item and would make every comparison touch every item. What remains
is an inverted index, gram -> (item, weight), so a text costs one dictionary update per posting
of its grams (a few hundred for an 80-character text), not one comparison per item.

The router consults this only when the phrase evidence is absent or weak, at a lower weight
(`gridops.routing.decide`): similarity breaks ties and rescues texts no phrase matched, it never
outweighs a clear phrase match.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from gridops.routing.ngrams import (
    SEPARATOR,
    Dense,
    Vocabulary,
    batch,
    distinct,
    keys,
    member,
    pair_keys_of,
)
from gridops.routing.normalise import normalise
from gridops.routing.table import ItemStandard

__all__ = ["STOP_GRAMS", "ItemSimilarity", "item_document"]


# Grams that say nothing about the matter: function characters, pronouns, numbers and time
# words, and the hotline's boilerplate (the words gridops.routing.corrections also ignores). A
# large table's IDF discounts them anyway; a small one keeps them rare enough to count, and
# 家里没有水 would then read like 没有天然气.
STOP_GRAMS = frozenset(
    "的了是在有没不也都就和与及或被把给让很太还又再已我你他她它们这那个些里上下中内外前后"
    "时天年月日号点分次请要能会说到去来做着过得地一二三四五六七八九十百千万几多少每各该其"
    "0123456789"
) | frozenset({
    "市民", "来电", "反映", "诉求", "要求", "希望", "请求", "尽快", "处理", "解决", "社区",
    "街道", "小区", "附近", "门口", "一直", "没有", "问题", "相关", "部门", "现在", "已经",
    "我们", "你们", "他们", "这个", "那个", "多次", "来电人", "人称", "电人", "表示", "发现",
    "影响", "情况", "进行", "存在", "导致", "造成", "出现", "等等", "目前", "无法", "不能",
})


def item_document(item: ItemStandard,
                  normalised: Callable[[str], str] = normalise) -> list[str]:
    """The item's own words, normalised, one string per field (grams never span two fields).
    (`normalised`: `normalise`, or a compile's memo of it.)"""
    parts = [item.name, item.minor, *item.phrases, *item.strong,
             *(part for combo in item.combos for part in combo), item.filing, item.closing]
    return [key for key in map(normalised, parts) if key]


def _postings(documents: Sequence[Sequence[str]]) -> tuple[npt.NDArray[np.intp],
                                                            npt.NDArray[np.int64],
                                                            npt.NDArray[np.int64]]:
    """Per document, each distinct 1–2-gram of its fields (grams never span two fields) with
    its count: (document, key, count), a document's grams in the order they first occur —
    field by field, a field's characters, then its pairs."""
    codes, owner, keep = batch([SEPARATOR.join(document) for document in documents])
    size = len(codes)
    if not size:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.intp), empty, empty
    pair = keep[:-1] & keep[1:]
    # A gram's place in its document's sequence: in a field [s, t), the character at p comes
    # s + p-th, the pair at p t + p-th (all the field's characters before its pairs).
    position = np.arange(size, dtype=np.int64)
    separators = np.flatnonzero(~keep)
    start = np.concatenate(([0], separators + 1))[np.searchsorted(separators, position)]
    end = np.append(separators, size)[np.searchsorted(separators, position)]
    dense = Dense(codes)
    gram = np.concatenate((dense.of_chars(codes[keep]),
                           dense.of_pairs(codes[:-1][pair], codes[1:][pair])))
    place = np.concatenate(((start + position)[keep], (end + position)[:-1][pair]))
    text = np.concatenate((owner[keep], owner[:-1][pair]))
    places = 2 * size
    # One sort groups (document, gram) with its places ascending: a group's first row is where
    # the gram first occurs in the document, its length is the count.
    rows = (text * dense.size + gram) * places + place
    rows.sort()
    group, first = np.divmod(rows, places)
    new = np.flatnonzero(np.concatenate((_TRUE, group[1:] != group[:-1])))
    count = np.diff(np.append(new, len(group)))
    text, gram = np.divmod(group[new], dense.size)
    by_place = np.argsort(text * places + first[new], kind="stable")
    return text[by_place], dense.key(gram[by_place]), count[by_place]


class ItemSimilarity:
    """Cosine similarity of TF-IDF character 1–2-gram vectors, text against every item."""

    def __init__(self, items: Sequence[ItemStandard], max_share: float = 0.05, *,
                 documents: Sequence[Sequence[str]] | None = None) -> None:
        """`documents`: the items' `item_document`s, when the caller has them already."""
        column, key, counts = _postings(documents if documents is not None
                                        else [item_document(item) for item in items])
        self._count = count = len(items)
        vocabulary, df = distinct(key)
        width = max(1, int(max_share * count))  # the most items a kept gram appears in
        kept = (df <= width) & ~member(vocabulary, _STOP_KEYS)
        vocabulary, df = vocabulary[kept], df[kept]
        self.vocabulary = Vocabulary(vocabulary)
        # Smoothed IDF (as scikit-learn's): log((n + 1) / (df + 1)) + 1.
        self._idf = np.log((count + 1) / (df.astype(np.float64) + 1)) + 1.0
        # Postings, one row per gram padded to `width` (item 0 at weight 0 fills the gaps): a
        # text's rows are gathered and summed per item in three array operations.
        at = np.searchsorted(vocabulary, key)
        known = vocabulary[np.minimum(at, len(vocabulary) - 1)] == key if len(vocabulary) else (
            np.zeros(len(key), dtype=np.bool_))
        row, column, counts = at[known], column[known], counts[known]
        value = (1.0 + np.log(counts.astype(np.float64))) * self._idf[row]
        # Each item's length sums its grams' squares in the order they occur in its document.
        value /= np.sqrt(np.bincount(column, weights=value * value, minlength=count))[column]
        order = np.argsort(row, kind="stable")  # within a gram, items in table order
        row, column, value = row[order], column[order], value[order]
        starts = np.searchsorted(row, row)  # where each gram's postings begin
        slot = np.arange(len(row)) - starts
        # A text holding a gram weighs it by its IDF (then divides by its own length, a constant
        # per text): that factor is folded into the postings once, here.
        # (Item numbers as small as they fit: a text gathers a row per gram, the fewer bytes
        # the fewer cache misses.)
        self._items = np.zeros((len(vocabulary), width),
                               dtype=np.int16 if count < 1 << 15 else np.intp)
        self._weights = np.zeros((len(vocabulary), width))
        self._items[row, slot] = column
        self._weights[row, slot] = value * self._idf[row]
        self._idf_squared = self._idf * self._idf

    def scores(self, norm: str) -> npt.NDArray[np.float64]:
        """Cosine similarity in [0, 1] of an already normalised text to every item.

        The text counts each gram once (binary term frequency): a complaint that repeats a
        word is no more about it.
        """
        sums, length = self.dot(self.vocabulary.ids(keys(norm)))
        return sums / length

    def top(self, norm: str, count: int) -> list[tuple[int, float]]:
        """The `count` most similar items with a similarity above 0, most similar first
        (ties: table order)."""
        sums, length = self.dot(self.vocabulary.ids(keys(norm)))
        best = np.argsort(-sums, kind="stable")[:count]
        return [(index, value / length)
                for index, value in zip(best.tolist(), sums[best].tolist(), strict=True)
                if value > 0]

    def scores_of(self, grams: Iterable[str]) -> npt.NDArray[np.float64]:
        """As `scores`, from the text's distinct 1- and 2-grams (`gridops.routing.learned.grams`;
        single digits are stop grams either way)."""
        return self.scores_of_ids(self.vocabulary.of_grams(grams))

    def scores_of_ids(self, ids: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """As `scores`, from the ids of the text's grams in `vocabulary`, ascending."""
        sums, length = self.dot(ids)
        return sums / length

    def dot(self, ids: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.float64], float]:
        """Per item, the dot product of the text's IDF vector with the item's unit vector; and
        the text vector's length (its grams' ids ascending: the order of the sums)."""
        if not len(ids):
            return np.zeros(self._count), 1.0
        # Summed one after another, in the text's gram order (as Python's sum would); a square
        # root is correctly rounded in math as in numpy, and math's takes no array machinery.
        length = math.sqrt(np.add.accumulate(self._idf_squared.take(ids))[-1])
        # With weights, bincount sums floats (numpy's stubs say integers).
        sums = cast("npt.NDArray[np.float64]", np.bincount(
            self._items.take(ids, axis=0).ravel(),
            weights=self._weights.take(ids, axis=0).ravel(), minlength=self._count))
        return sums, length


_STOP_KEYS = np.sort(pair_keys_of(STOP_GRAMS)[0])
_TRUE = np.ones(1, dtype=np.bool_)
