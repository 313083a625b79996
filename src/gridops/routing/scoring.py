"""Scoring knobs and the evidence one scan collects (tuned on corpus/tune.jsonl only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Below this confidence an incident waits in triage (GRIDOPS_ROUTING__TRIAGE_THRESHOLD). 0.60:
# the least 4 × wrong + triage in leave-one-author-out CV (docs/routing.md § Current figures).
TRIAGE_THRESHOLD = 0.60


@dataclass(frozen=True, slots=True)
class Weights:
    phrase: float = 1.0
    strong: float = 6.5
    combo: float = 2.5
    # Longer phrases are more specific: +length_step per character beyond two, at most +length_cap.
    length_step: float = 0.1
    length_cap: float = 0.6
    # The hotline's own category text counts at this share of a phrase found in the complaint.
    category: float = 0.5
    # The reporter's own opening (来电人系公交司机，…: gridops.routing.reporter) is read at this
    # share: it names who reports, not the matter. 1 reads it as the rest of the text.
    reporter: float = 0.25
    # The item a grid worker picked: a strong prior that clear text evidence can still beat.
    hint: float = 6.0
    hint_grid_app: float = 7.0
    # A unit's score is its best item plus this share of its other items' scores.
    unit_support: float = 0.25
    # A unit the text names (请城管处理) gains this, if the text already matches one of its items.
    unit_mention: float = 1.5
    # Bonus for the unit a routing principle prefers when the locality and an owner compete.
    principle: float = 0.5
    # ... applied only when the weaker of the two has at least this share of the stronger's score.
    principle_window: float = 0.6
    # 街镇托底: when the text says nobody owns the thing, the street office gets the top unit's
    # score × (1 + this): a margin that routes, not a tie (gridops.routing.decide._apply_no_owner).
    # 0.5 gave a confidence of at most 0.59, under the 0.60 threshold of the fourth session on:
    # 0.75 gives 0.64. 0 turns it off.
    no_owner: float = 0.75
    # 部件先属主 by its marking: a unit whose marking the text reads on the thing (井盖上写着电力,
    # 柜子上印着国网: gridops.routing.marking) gains this, entering with its item most like the
    # text if no phrase of it matched. 0 turns it off.
    marking: float = 6.0
    # Weak evidence (no item scores `fallback_below` from the text and hints: less than a combo
    # or a strong phrase): the `fallback_items` items whose wording is most like the text
    # (cosine ≥ `fallback_min`, gridops.routing.similarity) gain cosine × `fallback`. A typical
    # best cosine is 0.2 (+1.6, a long phrase's worth), 0.4 only for a close paraphrase (+3.2).
    # 0 turns the fallback off.
    fallback: float = 8.0
    fallback_below: float = 2.5
    fallback_items: int = 3
    fallback_min: float = 0.1
    # The learned unit model (gridops.routing.learned): each of its `model_units` likeliest
    # units gains `model` × its posterior probability. A unit can gain at most `model`
    # (< `strong`), so the model alone never outweighs a strong phrase; it can only side with a
    # rival that has rule evidence of its own. It is consulted only when its answer could
    # change the outcome (gridops.routing.decide._could_change). 0 turns it off.
    model: float = 6.0
    model_exact: bool = False
    model_units: int = 3
    model_alpha: float = 0.1
    model_sharpness: float = 12.0
    model_complement: bool = False
    # Share of the model's n-grams kept (the most telling). Every gram's vote is already
    # weighted by how much it tells (gridops.routing.learned), so all are kept.
    model_keep: float = 1.0
    # The model's second part, a linear SVM trained when the shipped examples were written
    # (gridops.routing.linear): its decision values × `linear` are added to naive Bayes' at
    # sharpness `linear_bayes` (instead of `model_sharpness`), and each of the likeliest units
    # gains `linear_model` (instead of `model`) × its posterior. Leave-one-author-out CV chose
    # them (docs/routing.md § Current figures). 0 turns the SVM off: naive Bayes alone.
    linear: float = 3.0
    linear_bayes: float = 8.0
    linear_model: float = 10.0
    # When no rule found the unit the decision chooses and only the model brought it in, the
    # confidence is at most the model's probability of it: a weight of 10 × 0.24 would otherwise
    # route 今天天气不错 to GAS at 0.72 (the confidence reads scores, not how sure the model is).
    model_alone_cap: bool = True
    # Confidence = strength(top) × (margin_floor + (1 − margin_floor) × relative margin).
    scale: float = 1.2
    margin_floor: float = 0.4


def phrase_weight(key: str, base: float, weights: Weights) -> float:
    if base >= weights.strong:
        return base
    return base + min(weights.length_cap, weights.length_step * max(0, len(key) - 2))


class Evidence:
    """What one scan found: per item index, matched phrase key -> weight; and exclusions hit."""

    __slots__ = ("excluded", "found", "grams", "norm", "refused", "similarity", "units",
                 "wavering")

    def __init__(self, norm: str = "") -> None:
        self.norm = norm  # the normalised text
        self.found: dict[int, dict[str, float]] = {}
        self.excluded: dict[int, str] = {}
        self.units: dict[str, str] = {}  # unit named in the text -> the words naming it
        # unit named only as one that turned the matter away -> the words naming it
        self.refused: dict[str, str] = {}
        # unit named only as one of a question's alternatives (找城管还是住建) -> its words
        self.wavering: dict[str, str] = {}
        # per item, the text's wording similarity, once computed (gridops.routing.similarity)
        self.similarity: npt.NDArray[np.float64] | None = None
        # its distinct character 1–2-grams, once extracted (shared by similarity and the model)
        self.grams: set[str] | None = None

    def phrase(self, index: int, key: str, weight: float) -> None:
        found = self.found.get(index)
        if found is None:
            self.found[index] = {key: weight}
        elif weight > found.get(key, 0.0):
            found[key] = weight

    def scores(self) -> dict[int, float]:
        return {index: sum(found.values()) for index, found in self.found.items()}
