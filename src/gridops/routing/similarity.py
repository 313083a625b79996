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
from collections import Counter
from collections.abc import Iterable, Sequence
from operator import add
from typing import cast

import numpy as np
import numpy.typing as npt

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


def item_document(item: ItemStandard) -> list[str]:
    """The item's own words, normalised, one string per field (grams never span two fields)."""
    parts = [item.name, item.minor, *item.phrases, *item.strong,
             *(part for combo in item.combos for part in combo), item.filing, item.closing]
    return [key for key in (normalise(part) for part in parts) if key]


def _grams(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text)
        counts.update(map(add, text, text[1:]))
    return counts


class ItemSimilarity:
    """Cosine similarity of TF-IDF character 1–2-gram vectors, text against every item."""

    def __init__(self, items: Sequence[ItemStandard], max_share: float = 0.05) -> None:
        documents = [_grams(item_document(item)) for item in items]
        self._count = count = len(documents)
        frequency: Counter[str] = Counter()
        for grams in documents:
            frequency.update(grams.keys())
        width = max(1, int(max_share * count))  # the most items a kept gram appears in
        vocabulary = [gram for gram, n in frequency.items()
                      if n <= width and gram not in STOP_GRAMS]
        self._ids = ids = {gram: gram_id for gram_id, gram in enumerate(vocabulary)}
        # Smoothed IDF (as scikit-learn's): log((n + 1) / (df + 1)) + 1.
        df = np.array([frequency[gram] for gram in vocabulary], dtype=np.float64)
        self._idf = np.log((count + 1) / (df + 1)) + 1.0
        # Postings, one row per gram padded to `width` (item 0 at weight 0 fills the gaps): a
        # text's rows are gathered and summed per item in three array operations.
        rows: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        for index, grams in enumerate(documents):
            for gram, n in grams.items():
                gram_id = ids.get(gram)
                if gram_id is not None:
                    rows.append(gram_id)
                    columns.append(index)
                    counts.append(n)
        row = np.array(rows, dtype=np.intp)
        column = np.array(columns, dtype=np.intp)
        value = (1.0 + np.log(np.array(counts, dtype=np.float64))) * self._idf[row]
        value /= np.sqrt(np.bincount(column, weights=value * value, minlength=count))[column]
        order = np.argsort(row, kind="stable")  # within a gram, items in table order
        row, column, value = row[order], column[order], value[order]
        starts = np.searchsorted(row, row)  # where each gram's postings begin
        slot = np.arange(len(row)) - starts
        # A text holding a gram weighs it by its IDF (then divides by its own length, a constant
        # per text): that factor is folded into the postings once, here.
        self._items = np.zeros((len(vocabulary), width), dtype=np.intp)
        self._weights = np.zeros((len(vocabulary), width))
        self._items[row, slot] = column
        self._weights[row, slot] = value * self._idf[row]
        self._idf_squared: list[float] = (self._idf * self._idf).tolist()

    def scores(self, norm: str) -> npt.NDArray[np.float64]:
        """Cosine similarity in [0, 1] of an already normalised text to every item.

        The text counts each gram once (binary term frequency): a complaint that repeats a
        word is no more about it.
        """
        sums, length = self._dot(norm)
        return sums / length

    def top(self, norm: str, count: int) -> list[tuple[int, float]]:
        """The `count` most similar items with a similarity above 0, most similar first
        (ties: table order)."""
        sums, length = self._dot(norm)
        best = np.argsort(-sums, kind="stable")[:count]
        return [(index, value / length)
                for index, value in zip(best.tolist(), sums[best].tolist(), strict=True)
                if value > 0]

    def scores_of(self, grams: set[str]) -> npt.NDArray[np.float64]:
        """As `scores`, from the text's distinct 1- and 2-grams (`gridops.routing.learned.grams`:
        the router extracts them once per text; single digits are stop grams either way)."""
        sums, length = self._dot_grams(grams)
        return sums / length

    def _dot(self, norm: str) -> tuple[npt.NDArray[np.float64], float]:
        grams = set(map(add, norm, norm[1:]))
        grams.update(norm)
        return self._dot_grams(grams)

    def _dot_grams(self, grams: set[str]) -> tuple[npt.NDArray[np.float64], float]:
        """Per item, the dot product of the text's IDF vector with the item's unit vector; and
        the text vector's length."""
        found = [gram_id for gram_id in map(self._ids.get, grams) if gram_id is not None]
        if not found:
            return np.zeros(self._count), 1.0
        squared = self._idf_squared
        length = math.sqrt(sum([squared[gram_id] for gram_id in found]))
        rows = np.array(found, dtype=np.intp)
        # With weights, bincount sums floats (numpy's stubs say integers).
        sums = cast("npt.NDArray[np.float64]", np.bincount(
            self._items[rows].ravel(), weights=self._weights[rows].ravel(),
            minlength=self._count))
        return sums, length
