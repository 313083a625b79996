"""The learned model's part in a decision (called by gridops.routing.decide when the rules are
weak or close).

Each of the model's few likeliest units gains `CompiledRules.model_weight` (`Weights.model`, or
`Weights.linear_model` when the SVM votes beside naive Bayes) × its posterior probability. A
unit the rules did not find enters with its item whose own wording shares most of the text's
n-grams (not an excluded one). The reason names the model, its probabilities and the n-grams of
the text that most favour its choice over its runner-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from gridops.routing.scoring import Evidence

if TYPE_CHECKING:
    from gridops.routing.rules import CompiledRules

MIN_PROBABILITY = 0.01  # below this a unit gains nothing worth a line


def consult(rules: CompiledRules, evidence: Evidence, scores: dict[int, float],
            units: dict[str, float], reasons: list[str], entered: dict[str, float]) -> bool:
    """Add the model's votes to `units` (and to `scores` for units new to the decision, which
    go into `entered` with their probability); True when `scores` changed."""
    model = rules.model
    assert model is not None
    w = rules.weights
    weight = rules.model_weight
    prediction = model.predict_ids(rules.model_ids(evidence))
    if not prediction.grams:
        reasons.append("learned model consulted (rules weak or close): it knows none of the "
                       "text's n-grams")
        return False
    posterior = prediction.posterior.tolist()
    # The likeliest first, ties in unit order (a stable sort keeps them so, descending too).
    order = sorted(range(len(posterior)), key=posterior.__getitem__,
                   reverse=True)[: w.model_units]
    changed = False
    voted: list[str] = []
    for i in order:
        p = posterior[i]
        if p < MIN_PROBABILITY:
            break
        unit = model.units[i]
        bonus = weight * p
        if unit not in units:
            index = _item_for(rules, evidence, unit, prediction.ids)
            if index is None:
                continue
            scores[index] = bonus
            units[unit] = 0.0
            entered[unit] = p
            changed = True
        units[unit] += bonus
        voted.append(f"{unit} {p:.2f}")
    if not voted:
        return changed
    top = model.units[order[0]]
    runner = model.units[order[1]] if len(order) > 1 else None
    drivers = model.drivers(prediction, top, runner)
    why = f"; {top} for “{'”、“'.join(drivers)}”" if drivers else ""
    kind = (f"naive Bayes over character n-grams of {model.examples} labelled examples"
            if model.linear is None else
            f"a linear SVM over character n-grams of {model.linear.examples} labelled complaints "
            f"and naive Bayes over those of {model.examples} labelled examples")
    reasons.append(f"learned model consulted (rules weak or close; {kind}): "
                   f"{', '.join(voted)} (× {weight:g}){why}")
    return changed


def _item_for(rules: CompiledRules, evidence: Evidence, unit: str,
              ids: npt.NDArray[np.intp]) -> int | None:
    """The unit's item whose own wording shares most of the text's n-grams (`ids`, the model's;
    ties: table order), skipping excluded items."""
    indices = rules.unit_items.get(unit)
    if not indices:
        return None
    shared = rules.item_grams[unit].shared(ids)
    excluded = evidence.excluded
    best, most = None, -1
    for index, count in zip(indices, shared, strict=True):
        if count > most and index not in excluded:
            best, most = index, count
    return best
