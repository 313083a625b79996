"""The router reads n-grams as integer keys in a few array operations
(`gridops.routing.ngrams`); here each fast path is held against the plain string version it
replaced: a Python set of gram strings, dictionary look-ups, Counters and float sums one after
another in the order the router reads a text's grams (by length, then by code points)."""

from __future__ import annotations

import json
import math
from collections import Counter
from operator import add
from pathlib import Path

import numpy as np
import pytest

from gridops.routing.learned import Example, UnitModel, grams, item_examples, occurrences
from gridops.routing.ngrams import Vocabulary, key_of, keys, learned_keys
from gridops.routing.normalise import normalise
from gridops.routing.similarity import STOP_GRAMS, ItemSimilarity, item_document
from gridops.routing.table import ItemStandard, parse_table
from tests.routing.routing_sample import full_document

CORPUS = Path(__file__).parent / "corpus"

# Emoji, full-width, Latin runs of every length, digits, place names (XX社区, XXX街道, 网格
# inside and outside them), a character outside the BMP, separators, empty and one-character
# texts, and repeated grams.
ODD = [
    "", "路", "ab", "wy不管", "ktv噪音扰民😡😡", "ＫＴＶ半夜还在唱！！", "wifi没信号，联通的",
    "清水塘社区3网格：反映KTV噪音扰民，wy不管", "网格社区", "网格网格社区", "X网格社区里的路灯",
    "和平社区和平小区东门", "田心街道田心街道田心", "社区街道", "12345热线第2次反映，1号楼2单元",
    "𠮷野家门口的下水道堵了𠮷", "路灯路灯路灯不亮不亮", "〇号楼的cm级裂缝", "a|b|路灯|不亮",
    "ｘｙｚ小区里面有人遛狗不拴绳 🐕🐕 好吓人", "的了是在有没不也都就和与及或被把",
]


def texts() -> list[str]:
    rows = [json.loads(line) for line in (CORPUS / "tune.jsonl").read_text("utf-8").splitlines()
            if line.strip()]
    return [normalise(text) for text in ODD] + [normalise(row["text"]) for row in rows[:150]]


def reading_order(found: set[str]) -> list[str]:
    return sorted(found, key=lambda gram: (len(gram), gram))


@pytest.fixture(scope="module")
def items() -> tuple[ItemStandard, ...]:
    return parse_table(full_document()).items


def test_keys_are_the_grams_in_reading_order() -> None:
    for text in texts():
        plain = set(text) | set(map(add, text, text[1:]))
        found = keys(text).tolist()
        assert sorted(set(found)) == [key_of(gram) for gram in reading_order(plain)]


def test_learned_keys_and_vocabulary_ids_equal_grams_and_a_dictionary() -> None:
    """The model's ids of a text: `grams` (places, digits, stop grams out, Latin runs whole)
    looked up in its vocabulary, in reading order."""
    every = texts()
    vocabulary_grams = set().union(*(grams(text) for text in every[::2]))
    vocabulary_grams |= {"ktv", "wifi", "〇", "cm"}
    short = [g for g in vocabulary_grams if len(g) <= 2]
    longer = reading_order({g for g in vocabulary_grams if len(g) > 2})
    vocabulary = Vocabulary(np.array(sorted(map(key_of, short)), dtype=np.int64), longer)
    names = [vocabulary.gram(i) for i in range(len(vocabulary))]
    assert names == reading_order(vocabulary_grams)
    for text in every:
        ids = vocabulary.ids(*learned_keys(text)).tolist()
        assert [names[i] for i in ids] == reading_order(grams(text) & vocabulary_grams), text
        assert vocabulary.of_grams(grams(text)).tolist() == ids


def test_occurrences_hold_each_texts_grams_and_where_each_first_occurs() -> None:
    every = texts()
    found = occurrences(every)
    per_text: list[set[str]] = [set() for _ in every]
    names = [found.longer[key - (1 << 53)] if key >= 1 << 53 else
             (chr(key) if key < 1 << 32 else chr(key >> 32) + chr(key & 0xFFFFFFFF))
             for key in found.keys.tolist()]
    for text, gram in zip(found.text.tolist(), found.gram.tolist(), strict=True):
        assert names[gram] not in per_text[text]  # each (text, gram) once
        per_text[text].add(names[gram])
    for text, held in zip(every, per_text, strict=True):
        plain: set[str] = set().union(*(grams(part) for part in text.split("|")))
        assert held - STOP_GRAMS == plain, text
    for name, first in zip(names, found.first.tolist(), strict=True):
        assert name in per_text[first]
        assert not any(name in held for held in per_text[:first])


def plain_model(examples: list[Example], units: tuple[str, ...], keep_share: float,
                alpha: float = 0.1, min_count: float = 1.0,
                min_information: float = 0.3) -> dict[str, list[float]]:
    """Naive Bayes as first written (a set of grams per example, ids by first occurrence, a
    dense matrix), each gram's centred row times its weight 1 − H(unit | gram) / log(units),
    grams weighing less than `min_information` left out."""
    ids: dict[str, int] = {}
    cells: dict[tuple[int, int], float] = {}
    unit_id = {unit: i for i, unit in enumerate(units)}
    for example in examples:
        found: set[str] = set().union(*(grams(part) for part in example.text.split("|")))
        for gram in reading_order(found):
            gram_id = ids.setdefault(gram, len(ids))
            column = unit_id.get(example.unit)
            if column is not None:
                cells[gram_id, column] = cells.get((gram_id, column), 0.0) + example.weight
    matrix = np.zeros((len(ids), len(units)))
    for (row, column), value in cells.items():
        matrix[row, column] = value
    total = matrix.sum(axis=1)
    keep = np.flatnonzero(total >= min_count)
    lean = matrix[keep].max(axis=1) / total[keep] - 1.0 / len(units)
    telling = lean * np.log1p(total[keep])
    keep = np.sort(keep[np.argsort(-telling, kind="stable")[: max(1, int(len(keep) *
                                                                      keep_share))]])
    matrix = matrix[keep]
    logp = np.log(matrix + alpha) - np.log(np.maximum(matrix.sum(axis=0)
                                                      + alpha * len(keep), 1e-9))
    logp = logp - logp.mean(axis=1, keepdims=True)
    names = list(ids)
    out = {}
    for i, counts, row in zip(keep.tolist(), matrix.tolist(), logp.tolist(), strict=True):
        shares = [c / sum(counts) for c in counts if c > 0]
        weight = 1.0 - -sum(p * math.log(p) for p in shares) / math.log(len(units))
        if weight >= min_information:
            out[names[i]] = [weight * value for value in row]
    return out


@pytest.mark.parametrize("keep_share", [1.0, 0.8])
def test_the_model_trains_and_predicts_as_the_plain_version(
        items: tuple[ItemStandard, ...], keep_share: float) -> None:
    every = texts()
    units = tuple(sorted({item.unit for item in items}))
    shared = tuple(Example(text, units[i % len(units)]) for i, text in enumerate(every[30:]))
    own = [*item_examples(items),
           *(Example(text, units[i % 3], 3.0) for i, text in enumerate(every[:30]))]
    model = UnitModel(own, units, shared=shared, keep_share=keep_share)
    plain = plain_model([*shared, *own], units, keep_share)
    assert sorted(model.grams) == sorted(plain)
    for gram_id, gram in enumerate(model.grams):
        assert model._logp[gram_id].tolist() == pytest.approx(plain[gram], abs=1e-12), gram
    for text in every:
        known = [g for g in reading_order(grams(text)) if g in plain]
        assert [model.gram(i) for i in model.ids(text).tolist()] == known
        if not known:
            continue
        z = np.array([plain[g] for g in known]).sum(axis=0) * (8.0 / max(len(known), 30))
        p = np.exp(z - z.max())
        assert model.predict(text).posterior.tolist() == pytest.approx((p / p.sum()).tolist(),
                                                                       abs=1e-12)


def plain_similarity(items: tuple[ItemStandard, ...], text: str) -> list[float]:
    """TF-IDF cosine as first written: Counters, dictionaries, sums one after another."""
    documents = []
    for item in items:
        counts: Counter[str] = Counter()
        for field in item_document(item):
            counts.update(field)
            counts.update(map(add, field, field[1:]))
        documents.append(counts)
    frequency: Counter[str] = Counter()
    for document in documents:
        frequency.update(document.keys())
    width = max(1, int(0.05 * len(items)))
    idf = {gram: math.log((len(items) + 1) / (n + 1)) + 1.0 for gram, n in frequency.items()
           if n <= width and gram not in STOP_GRAMS}
    lengths = []
    for document in documents:
        squares = np.array([((1.0 + math.log(n)) * idf[gram]) ** 2
                            for gram, n in document.items() if gram in idf])
        lengths.append(float(np.sqrt(np.bincount(np.zeros(len(squares), dtype=np.intp),
                                                 weights=squares, minlength=1)[0])))
    found = [gram for gram in reading_order(grams(text)) if gram in idf]
    if not found:
        return [0.0] * len(items)
    length = math.sqrt(sum([idf[gram] ** 2 for gram in found]))
    sums = [0.0] * len(items)
    for gram in found:
        for index, document in enumerate(documents):
            if gram in document:
                sums[index] += (1.0 + math.log(document[gram])) * idf[gram] / lengths[index] \
                    * idf[gram]
    return [value / length for value in sums]


def test_similarity_equals_the_plain_version(items: tuple[ItemStandard, ...]) -> None:
    index = ItemSimilarity(items)
    for text in texts():
        ids = index.vocabulary.ids(learned_keys(text)[0])
        assert index.scores_of_ids(ids).tolist() == plain_similarity(items, text), text
        assert index.scores_of(grams(text)).tolist() == index.scores_of_ids(ids).tolist()
