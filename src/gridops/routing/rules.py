"""The router: one rule-table version compiled into one Aho–Corasick automaton.

Deciding is pure (no I/O): normalise the text, scan it once, score items from phrase weights,
combos and exclusions, add the hints, aggregate by unit, apply the routing principles, and
either name one accountable unit or send the incident to triage with its candidates
(`gridops.routing.decide`). Every step leaves a reason.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from operator import itemgetter
from typing import NamedTuple

import ahocorasick
import numpy as np
import numpy.ma  # np.unique imports it on first use: with the module, not in a compile
import numpy.typing as npt

from gridops.routing import linear as linear_svm
from gridops.routing import ngrams, precounted
from gridops.routing.aliases import (
    REFUSAL_REACH,
    REFUSING,
    UNIT_ALIASES,
    WAVER_REACH,
    WAVERING,
)
from gridops.routing.learned import (
    Example,
    Occurrences,
    UnitModel,
    corpus_digest,
    corpus_examples,
    counts,
    grams,
    item_examples,
    occurrences,
)
from gridops.routing.negation import denied, each_time
from gridops.routing.ngrams import SEPARATOR, GramIndex, learned_keys
from gridops.routing.normalise import normalise
from gridops.routing.scoring import TRIAGE_THRESHOLD, Evidence, Weights, phrase_weight
from gridops.routing.similarity import ItemSimilarity, item_document
from gridops.routing.table import ItemStandard

__all__ = ["Candidate", "CompiledRules", "Decision", "Hints", "ItemStandard", "Weights",
           "learned_model"]

# The automaton maps each key to an int, its id. Only a combo's anchor (its rarest part) is in
# the automaton; when it is seen, the other parts are plain substring tests (common one-character
# parts such as 路, 水, 门 would otherwise wake the Python loop at every other character). Most
# hits are such anchors and nothing else, so ids are grouped by what a key does and the scan
# picks the keys with other work by comparing ids: [0, plain) anchor combos only,
# [plain, anchors) anchor combos and do more, [anchors, n) do more and anchor nothing.
# "More" is a `_Record`: phrase entries (item, key, weight), items the key excludes, the key,
# units it names.
# (an other part or "", the rest, item, display, the part that orders it, its number)
_Combo = tuple[str, tuple[str, ...], int, str, str, int]
_Record = tuple[tuple[tuple[int, str, float], ...], tuple[int, ...], str, tuple[str, ...]]


_KEY_ID = itemgetter(1)  # of the automaton's (end, key id)
_NUL = "\x00"  # normalise drops it: no scanned text holds it
_OPENINGS = 4096  # reporters' openings kept scanned (CompiledRules.opening)


def _corpus_counts(parts: Iterable[str]) -> dict[str, int]:
    """Roughly how often each part occurs in the shipped complaints: a character's count, a
    longer part's rarest pair's (an upper bound of its own). Rough: grams share a count when
    they share a bucket (rarely), which only makes an anchor a little less rare."""
    parts = list(parts)
    tally = _shipped_tally().counts
    wanted = [_pair_keys(part) for part in parts]
    flat = np.array([key for keys in wanted for key in keys], dtype=np.int64)
    counts = tally.take(_bucket(flat)).tolist()
    out: dict[str, int] = {}
    at = 0
    for part, keys in zip(parts, wanted, strict=True):
        out[part] = min(counts[at : at + len(keys)], default=0)
        at += len(keys)
    return out


def _pair_keys(part: str) -> list[int]:
    if len(part) == 1:
        return [ord(part)]
    return [ord(a) << 32 | ord(b) for a, b in pairwise(part)]


_BUCKETS = 20  # bits: about a million buckets for some tens of thousands of distinct grams
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits of key × 2^64/φ


def _bucket(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    mixed = keys.astype(np.uint64) * _MIX
    return (mixed >> np.uint64(64 - _BUCKETS)).astype(np.intp)


class Tally(NamedTuple):
    counts: npt.NDArray[np.int32]  # per bucket, occurrences of its characters and pairs
    characters: dict[str, int]  # each character's count


@lru_cache(maxsize=1)
def _shipped_tally() -> Tally:
    """The shipped complaints' characters and pairs: as counted when they were written
    (`gridops.routing.precounted`), or else counted here, once per process."""
    found = precounted.load(precounted.PRECOUNTED, corpus_digest())
    if found is None:
        return count_tally(corpus_examples())
    return Tally(found.tally(1 << _BUCKETS), found.characters)


def count_tally(examples: Sequence[Example]) -> Tally:
    found = ngrams.keys(SEPARATOR.join(example.text for example in examples))
    counts = np.bincount(_bucket(found), minlength=1 << _BUCKETS).astype(np.int32)  # 4 MB
    chars = found[: (len(found) + 1) // 2]
    present = np.bincount(chars) if len(chars) else np.zeros(0, dtype=np.intp)
    held = np.flatnonzero(present)
    return Tally(counts, dict(zip(map(chr, held.tolist()), present[held].tolist(),
                                   strict=True)))


def precount(examples: Sequence[Example], units: tuple[str, ...]) -> precounted.Precounted:
    """What a process would count of `examples` before its first compile — the model's counts
    by unit and the automaton's tally — as `gridops.routing.precounted` stores it."""
    by_unit = counts(occurrences([example.text for example in examples]), examples, units)
    tally = count_tally(examples)
    buckets = np.flatnonzero(tally.counts)
    return precounted.Precounted(len(examples), units, by_unit.keys, by_unit.cells,
                                 by_unit.values, tuple(by_unit.longer),
                                 buckets.astype(np.int64), tally.counts[buckets],
                                 tally.characters)


class TextEvidence(Evidence):
    """A scan's evidence, with where its n-grams are in the gram index once the model or the
    similarity read them."""

    __slots__ = ("longer", "model_ids", "positions")

    def __init__(self, norm: str = "") -> None:
        super().__init__(norm)
        self.positions: npt.NDArray[np.intp] | None = None  # in CompiledRules' GramIndex
        self.longer: list[str] = []  # Latin runs longer than two letters
        self.model_ids: npt.NDArray[np.intp] | None = None


class _Normalised(dict[str, str]):
    """`normalise` of the table's wording, each distinct phrase once per compile (the same
    phrase is read for the automaton, the model, the similarity index …)."""

    def __missing__(self, raw: str) -> str:
        key = self[raw] = normalise(raw)
        return key


class ItemGrams(NamedTuple):
    """Which model n-grams each of a unit's items holds in its own wording: (n-gram, item)
    pairs, ordered by n-gram."""

    grams: npt.NDArray[np.intp]
    columns: npt.NDArray[np.intp]  # the item's place among the unit's items
    items: int

    def shared(self, ids: npt.NDArray[np.intp]) -> list[int]:
        """Per item, how many of `ids` (distinct, ascending) its wording holds."""
        if not len(ids) or not len(self.grams):
            return [0] * self.items
        at = ids.searchsorted(self.grams).clip(max=len(ids) - 1)
        held = ids[at] == self.grams
        return np.bincount(self.columns[held], minlength=self.items).tolist()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Hints:
    channel: str | None = None
    grid_code: str | None = None
    street_code: str | None = None
    item_code_hint: str | None = None
    category: str | None = None


# Candidate and Decision are named tuples, not frozen dataclasses: a frozen dataclass sets each
# field through object.__setattr__, and building five candidates and a decision that way cost
# a third of a decision. They are just as immutable and read the same way.
class Candidate(NamedTuple):
    item_code: str
    item_name: str
    unit_code: str
    score: float


class Decision(NamedTuple):
    item: ItemStandard | None
    unit_code: str | None
    street_code: str | None
    confidence: float
    matched: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    ruleset_version: int
    needs_triage: bool
    reasons: tuple[str, ...]

    @property
    def item_code(self) -> str | None:
        return self.item.code if self.item else None


def learned_model(w: Weights, own: Sequence[Example], units: Sequence[str],
                  shared: tuple[Example, ...] | None, linear: linear_svm.Linear | None,
                  found: Occurrences | None = None, **options: float) -> UnitModel:
    """The learned model as the weights configure it: naive Bayes over `own` and `shared`
    (None: the shipped complaints), with `linear` beside it (None: the SVM trained on the
    shipped complaints, when `shared` is theirs), or alone when `w.linear` is 0. `options`:
    further `UnitModel` keywords (cross-validation's)."""
    if w.linear <= 0:
        linear = None
    elif linear is None and shared is None:
        linear = linear_svm.shipped()
    return UnitModel(own, units, shared=shared, alpha=w.model_alpha,
                     sharpness=w.model_sharpness if linear is None else w.linear_bayes,
                     complement=w.model_complement, keep_share=w.model_keep, found=found,
                     linear=linear, linear_sharpness=w.linear,
                     **options)  # type: ignore[arg-type]


def _wavering(norm: str, name: str) -> bool:
    """Whether every naming of a unit in the text is one of the alternatives of a question
    (aliases.WAVERING: 找城管还是找住建)."""
    return each_time(norm, name, lambda start, end: WAVERING in norm[end:end + WAVER_REACH]
                     or WAVERING in norm[max(0, start - 4):start])


def _without_idle_names(evidence: Evidence) -> str:
    """The text without the names of units it names only as having refused or as one of a
    question's alternatives: such a name says nothing for its unit (医保局称不归其管 is no
    evidence of 医保), so neither the learned model nor an exclusion reads it."""
    norm = evidence.norm
    for name in {*evidence.refused.values(), *evidence.wavering.values()}:
        norm = norm.replace(name, SEPARATOR)
    return norm


def _refused(norm: str, name: str) -> bool:
    """Whether every naming of a unit in the text is followed by its refusal (aliases.REFUSING)."""
    return each_time(norm, name, lambda _, end: any(
        words in norm[end:end + REFUSAL_REACH] for words in REFUSING))


class CompiledRules:
    """One rule-table version, ready to match; built once, shared by every request."""

    def __init__(self, version: int, items: Sequence[ItemStandard],
                 weights: Weights | None = None, *,
                 examples: Sequence[Example] | None = None,
                 model: UnitModel | None = None,
                 shared: tuple[Example, ...] | None = None,
                 linear: linear_svm.Linear | None = None) -> None:
        """`examples`: labelled texts for the learned model besides the shared complaints and
        the items' own wording (a version's dispatcher corrections); `model`: a trained model to
        use instead; `shared`: the labelled complaints the model learns from (default: the
        shipped corpus examples; cross-validation passes the other folds); `linear`: the SVM
        beside naive Bayes (default: the one trained on the shipped examples, when `shared` is
        theirs; none otherwise, unless given)."""
        # Compiling builds tens of thousands of long-lived objects; the cyclic collector would
        # traverse them all a few times meanwhile, to free nothing: it waits (≈ 10 ms).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._compile(version, items, weights, examples, model, shared, linear)
        finally:
            if collecting:
                gc.enable()

    def _compile(self, version: int, items: Sequence[ItemStandard], weights: Weights | None,
                 examples: Sequence[Example] | None, model: UnitModel | None,
                 shared: tuple[Example, ...] | None,
                 linear: linear_svm.Linear | None) -> None:
        self.version = version
        self.items = tuple(items)
        self.weights = weights or Weights()
        self._by_code = {item.code: i for i, item in enumerate(self.items)}
        # per item, a candidate's fields but its score (gridops.routing.decide)
        self.candidate_heads = [(item.code, item.name, item.unit) for item in self.items]
        self._display: dict[str, str] = {}
        # (item, phrase) -> longer phrases of the same item containing it: never count both
        self._covered_by: dict[tuple[int, str], tuple[str, ...]] = {}
        self._exclusions_of: dict[int, tuple[str, ...]] = {}  # item index -> its exclusions
        self._records: list[_Record] = []  # key id -> what the key means
        self._combos: list[tuple[_Combo, ...]] = []  # key id -> combos it anchors
        self._plain = self._anchors = 0  # key id ranges, see _Combo
        self._exclude_display: dict[str, str] = {}
        self._openings: dict[str, dict[int, dict[str, float]]] = {}  # see `opening`
        self._normalised = _Normalised()
        self.automaton = self._build()
        w = self.weights
        normalised = self._normalised.__getitem__
        # Built whatever the weights: besides the fallback and the model, a unit that enters with
        # no phrase of its own (街镇托底, a marking, a unit asked for) takes its item most like the
        # text.
        self._similarity = ItemSimilarity(self.items, documents=[
            item_document(item, normalised) for item in self.items])
        self.model = model
        learns = model is not None or w.model > 0
        wording = item_examples(self.items, normalised) if learns else []
        own = [*wording, *(examples or ())]
        found = occurrences([example.text for example in own]) if learns else None
        if model is None and w.model > 0:
            self.model = learned_model(w, own, sorted({item.unit for item in self.items}),
                                       shared, linear, found)
            if examples:
                self.model.learn(examples)
        # What the model's likeliest units gain × their posterior (gridops.routing.decide).
        self.model_weight = (w.linear_model if self.model is not None
                             and self.model.linear is not None else w.model)
        self._normalised = _Normalised()  # the compile's memo is not kept
        self.unit_items: dict[str, list[int]] = {}
        for index, item in enumerate(self.items):
            self.unit_items.setdefault(item.unit, []).append(index)
        # Per unit, which of its items' own wording holds which model n-gram. A unit the rules
        # did not find enters with its item sharing most of the text's n-grams
        # (gridops.routing.learned_decide). As (n-gram, item) pairs, not an n-gram × item grid
        # of bytes, n-grams × the table's items (45 MB for 156,813 n-grams), nearly all zero.
        vocabularies = [part.vocabulary for part in (self.model, self._similarity)
                        if part is not None]
        self._model_slot = 0
        self._similar_slot = len(vocabularies) - 1
        self._index = GramIndex(vocabularies)
        self.item_grams: dict[str, ItemGrams] = {}
        if self.model is not None and found is not None:
            gram = self.model.vocabulary.positions(found.keys, found.longer)[found.gram]
            known = (gram >= 0) & (found.text < len(wording))
            gram, owner = gram[known], found.text[known]
            column = np.zeros(len(self.items), dtype=np.intp)
            unit_of = np.zeros(len(self.items), dtype=np.intp)
            for u, indices in enumerate(self.unit_items.values()):
                column[indices] = np.arange(len(indices))
                unit_of[indices] = u
            for u, (unit, indices) in enumerate(self.unit_items.items()):
                mine = unit_of[owner] == u
                pairs = np.unique(gram[mine] * len(indices) + column[owner[mine]])
                self.item_grams[unit] = ItemGrams(*np.divmod(pairs, len(indices)), len(indices))

    def text_grams(self, evidence: Evidence) -> set[str]:
        """The scanned text's distinct character 1–2-grams (`gridops.routing.learned.grams`)."""
        if evidence.grams is None:
            evidence.grams = grams(evidence.norm)
        return evidence.grams

    def _positions(self, evidence: Evidence) -> tuple[npt.NDArray[np.intp], list[str]]:
        """Where the text's n-grams are in the gram index (and its longer Latin runs): read
        once per text for the model and the similarity alike."""
        if isinstance(evidence, TextEvidence) and evidence.positions is not None:
            return evidence.positions, evidence.longer
        found, longer = learned_keys(_without_idle_names(evidence))
        positions = self._index.positions(found)
        if isinstance(evidence, TextEvidence):
            evidence.positions, evidence.longer = positions, longer
        return positions, longer

    def model_ids(self, evidence: Evidence) -> npt.NDArray[np.intp]:
        """Ids of the scanned text's n-grams the model knows, in reading order."""
        if isinstance(evidence, TextEvidence) and evidence.model_ids is not None:
            return evidence.model_ids
        ids = self._index.ids(self._model_slot, *self._positions(evidence))
        if isinstance(evidence, TextEvidence):
            evidence.model_ids = ids
        return ids

    def similarity(self, evidence: Evidence) -> npt.NDArray[np.float64]:
        """Cosine similarity of the scanned text to every item, computed once per text."""
        if evidence.similarity is None:
            positions, _ = self._positions(evidence)
            evidence.similarity = self._similarity.scores_of_ids(
                self._index.ids(self._similar_slot, positions))
        return evidence.similarity

    def similar(self, norm: str, count: int) -> list[tuple[int, float]]:
        """The `count` items whose own wording is most like the normalised text."""
        if self.weights.fallback <= 0:
            return []
        return self._similarity.top(norm, count)

    def item(self, code: str) -> ItemStandard | None:
        index = self._by_code.get(code)
        return None if index is None else self.items[index]

    def index(self, code: str | None) -> int | None:
        return None if code is None else self._by_code.get(code)

    def display(self, key: str) -> str:
        return self._display.get(key, key)

    @property
    def display_of(self) -> dict[str, str]:
        """Normalised key -> the phrase as its author wrote it (keys absent show as they are)."""
        return self._display

    def exclusion_display(self, key: str) -> str:
        return self._exclude_display.get(key, key)

    def opening(self, who: str) -> dict[int, dict[str, float]]:
        """The phrases of a reporter's opening (gridops.routing.reporter) at
        `Weights.reporter`, per item. The same few openings (来电人, 市民, 业委会 …) come again
        and again: each is scanned once per version, at most `_OPENINGS` of them kept."""
        found = self._openings.get(who)
        if found is None:
            if len(self._openings) >= _OPENINGS:
                self._openings.clear()
            found = self._openings[who] = self.scan(
                who, self.weights.reporter, exclusions=False).found
        return found

    def _build(self) -> ahocorasick.Automaton:
        phrases: dict[str, list[tuple[int, str, float]]] = {}
        excludes: dict[str, list[int]] = {}
        anchors: dict[str, list[_Combo]] = {}
        combos: list[tuple[int, frozenset[str], str]] = []
        normalised = self._normalised
        for index, item in enumerate(self.items):
            self._add_item(index, item, phrases, excludes)
            combos.extend((index, frozenset(normalised[p] for p in combo), "+".join(combo))
                          for combo in item.combos)
        # Anchor each combo on the part rarest in complaints (the shipped examples tell), so a
        # text full of 街, 社区 and 楼 wakes few combos. Which combo counts first still follows
        # the anchor the table's own rarity picks (fewest combos use it, then the longest):
        # it fixes the order of the item's phrases, hence of float sums and of ties, and the
        # scan restores it (see `scan`).
        uses: dict[str, int] = {}
        for _, keys, _ in combos:
            for key in keys:
                uses[key] = uses.get(key, 0) + 1
        seen_in = _corpus_counts(uses)
        by_table = {k: (n, -len(k), k) for k, n in uses.items()}
        by_complaints = {k: (not k, seen_in[k], n, -len(k), k) for k, n in uses.items()}
        for number, (index, keys, display) in enumerate(combos):
            first = min(keys, key=by_table.__getitem__)
            if not first:
                continue  # an empty part is no key: such a combo was never found
            parts = sorted(keys, key=by_complaints.__getitem__)
            anchors.setdefault(parts[0], []).append(
                (parts[1] if len(parts) > 1 else "", tuple(parts[2:]), index, display, first,
                 number))
        mentions: dict[str, list[str]] = {}
        for unit, aliases in UNIT_ALIASES.items():
            for alias in aliases:
                mentions.setdefault(normalise(alias), []).append(unit)
        more = phrases.keys() | excludes.keys() | mentions.keys()
        plain = sorted(anchors.keys() - more)
        both = sorted(anchors.keys() & more)
        ordered = [*plain, *both, *sorted(more - anchors.keys())]
        self._plain, self._anchors = len(plain), len(plain) + len(both)
        self._combos = [tuple(anchors[key]) for key in ordered[: self._anchors]]
        key_ids = {key: key_id for key_id, key in enumerate(ordered)}
        self._records = [(tuple(phrases.get(key, ())), tuple(excludes.get(key, ())), key,
                          tuple(mentions.get(key, ()))) if key in more else ((), (), key, ())
                         for key in ordered]
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        common = self._character_counts()
        # A character no key starts with is looked for among all the root's children (about
        # 1,100) before the scan gives up on it; a key that never matches (no text holds the
        # NUL that ends it) makes each common one a child, found early.
        firsts = {key[0] for key in ordered}
        never = [char + _NUL for char, count in common.items() if count > 1
                 and char not in firsts]
        for key in sorted([*ordered, *never], key=lambda key: (-common.get(key[0], 0), key)):
            automaton.add_word(key, key_ids.get(key, -1))
        automaton.make_automaton()
        return automaton

    def _character_counts(self) -> dict[str, int]:
        """How common each character is in complaints, to add keys by.

        pyahocorasick looks a character up among a node's children one by one, in the order the
        children were added, and most characters of a text are looked up at the root. The
        shipped complaints tell which characters are common (or, without them, the table's
        own wording: names, conditions, phrases); adding their keys first makes the scan
        faster.
        """
        characters = _shipped_tally().characters
        if characters:
            return characters
        counts: Counter[str] = Counter()
        for item in self.items:
            counts.update(normalise(item.name + item.minor + item.filing + item.closing))
            counts.update("".join(map(self._normalised.__getitem__, item.phrases)))
        return counts

    def _add_item(self, index: int, item: ItemStandard,
                  table: dict[str, list[tuple[int, str, float]]],
                  excludes: dict[str, list[int]]) -> None:
        w = self.weights
        normalised = self._normalised
        excluded = {normalised[e]: e for e in item.exclude}
        phrases: dict[str, float] = {}
        # The official name is a phrase too, unless the item's own exclusions contradict it.
        sources = [(item.name, w.phrase), *((p, w.phrase) for p in item.phrases),
                   *((s, w.strong) for s in item.strong)]
        display = self._display
        inside = "\n".join(excluded)  # a key inside an exclusion is inside this
        shortest = min(map(len, excluded), default=0)
        for raw, base in sources:
            key = normalised[raw]
            if not key or (excluded and (key in inside or (len(key) >= shortest and any(
                    e in key for e in excluded)))):
                continue
            if key not in display:
                display[key] = raw
            phrases[key] = max(phrases.get(key, 0.0), phrase_weight(key, base, w))
        # A phrase inside a longer matched phrase of the same item counts once, unless it
        # weighs more: a strong 变压器 inside a plain 变压器嗡嗡响 keeps its weight. (A phrase
        # found once in all the item's phrases joined lies inside no other.)
        joined = "\n".join(phrases)
        for key, weight in phrases.items():
            table.setdefault(key, []).append((index, key, weight))
            if joined.count(key) > 1:
                longer = tuple(k for k in phrases
                               if k != key and key in k and phrases[k] >= weight)
                if longer:
                    self._covered_by[(index, key)] = longer
        self._exclusions_of[index] = tuple(excluded)
        for key, raw in excluded.items():
            excludes.setdefault(key, []).append(index)
            self._exclude_display.setdefault(key, raw)

    def scan(self, text: str, factor: float = 1.0, *, exclusions: bool = True) -> Evidence:
        """Evidence from one pass of the automaton over the normalised text."""
        norm = normalise(text)
        evidence = TextEvidence(norm)
        if not norm:
            return evidence
        # A key seen twice means nothing more than once: each distinct key in the order of its
        # first occurrence (which is the order the reasons quote).
        hits = list(map(_KEY_ID, self.automaton.iter(norm)))
        if not hits:
            return evidence
        seen = dict.fromkeys(hits)
        plain, anchoring = self._plain, self._anchors
        records = self._records
        all_combos = self._combos
        found = evidence.found
        excluded = evidence.excluded
        named = False
        several: list[int] = []  # items with two phrases or more: one may lie inside another
        matched: list[_Combo] = []
        for key_id in seen:
            if key_id < anchoring:
                for combo in all_combos[key_id]:
                    other, rest = combo[0], combo[1]
                    if other in norm and (not rest or all(part in norm for part in rest)):
                        matched.append(combo)
                if key_id < plain:
                    continue
            entries, excluding, key, units = records[key_id]
            for index, phrase, weight in entries:
                item_found = found.get(index)
                if item_found is None:
                    found[index] = {phrase: weight * factor}
                else:
                    item_found[phrase] = weight * factor
                    several.append(index)
            if excluding and exclusions and not denied(norm, key):
                for index in excluding:
                    if index not in excluded:
                        excluded[index] = key
            if units:
                named = True
        if matched:
            # Combos count after every phrase, in the order of the first occurrence of the
            # part that orders them (end, then the longer first, as the automaton reports),
            # then in table order.
            if len(matched) > 1:
                matched.sort(key=lambda c: (norm.find(c[4]) + len(c[4]), -len(c[4]), c[5]))
            weight = self.weights.combo * factor
            for combo in matched:
                evidence.phrase(combo[2], combo[3], weight)
        if named:  # rare; a unit named twice is quoted by its last naming, as the text reads
            said: dict[str, dict[str, str]] = {}  # a name -> how the text names its units
            for key_id in hits:
                units = records[key_id][3]
                if units:
                    key = records[key_id][2]
                    if key not in said:  # every naming is read once, whichever hit it is
                        said[key] = (evidence.refused if _refused(norm, key)
                                     else evidence.wavering if _wavering(norm, key)
                                     else evidence.units)
                    said[key].update(dict.fromkeys(units, key))
            for unit in evidence.units.keys() & evidence.refused.keys():
                del evidence.refused[unit]  # also named without a refusal
            for unit in evidence.units.keys() & evidence.wavering.keys():
                del evidence.wavering[unit]  # also asked for plainly
            if excluded and (evidence.refused or evidence.wavering):
                self._unexclude_names(evidence)
        if several:
            self._drop_covered(found, several)
        return evidence

    def _unexclude_names(self, evidence: Evidence) -> None:
        """An exclusion found only inside the name of a unit that refused, or of one of a
        question's alternatives, is no exclusion: 打了医保局，医保局称不归其管 does not say 医保."""
        norm = _without_idle_names(evidence)
        excluded = evidence.excluded
        for index in list(excluded):
            if not any(key in norm and not denied(norm, key)
                       for key in self._exclusions_of[index]):
                del excluded[index]

    def _drop_covered(self, found: dict[int, dict[str, float]], several: list[int]) -> None:
        covered_by = self._covered_by
        for index in dict.fromkeys(several):
            item_found = found[index]
            for key in [k for k in item_found if (index, k) in covered_by]:
                if any(longer in item_found for longer in covered_by[(index, key)]):
                    del item_found[key]

    def decide(self, text: str, hints: Hints | None = None,
               threshold: float = TRIAGE_THRESHOLD) -> Decision:
        return _decide.decide(self, text, hints or Hints(), threshold)


# At the end: decide.py imports the types above (a module reference resolves at call time).
from gridops.routing import decide as _decide  # noqa: E402
