"""How far a discriminative model over the same n-grams would beat the router's naive Bayes.

This is the measurement that led the sixteenth session to ship the SVM beside naive Bayes
(`gridops.routing.linear`); `bench/routing_cv.py` now measures the router as shipped, and this
script stays to compare the two models on their own. scikit-learn is a development dependency.

    .venv/bin/python bench/routing_model_compare.py [--groups 5] [--c 0.5]
    .venv/bin/python bench/routing_model_compare.py --router 6:8 --router 6:10 [--no-wording]
        [--bayes 1] [--threshold 0.6 --threshold 0.7 …]

The tuning authors (an id's first two characters, as `routing_cv.py --by-author`) are dealt into
`--groups` groups in id order, round robin (0: one group per author, as `routing_cv.py
--by-author`); each group is judged by models that learned from the other groups' complaints and
every item's wording, exactly the examples a compiled version's model learns from. The two models:
- nb: `gridops.routing.learned.UnitModel` with its defaults (the router's model);
- svm: a linear support vector machine (scikit-learn's LinearSVC, C = `--c`) over tf-idf
  (sublinear) of the same distinct 1–2-grams (`gridops.routing.learned.grams`).

Without --router: per group and on average, the share of complaints each model ranks right first
(top-1, every text routed), with each model's training time.

With --router K:M (repeatable): the whole router, at each --threshold (0.60 if none), over the same
groups: with naive Bayes at the default weights; then for each K:M, naive Bayes with
`Weights.model` M, and the SVM in the model's place with `Weights.model` M, its posterior
softmax(K·d), d the decision values: the text's n-gram rows summed (each the gram's SVM weights ×
its idf), divided by the text's tf-idf norm, plus the intercepts, which is the SVM's own decision
value. The router reads the SVM's rows as it reads naive Bayes' (its quoted n-grams are the rows'
largest differences), so deciding costs about the same. --no-wording: the SVM learns from the
complaints only, not the items' wording (as weights trained when the shipped examples are written
would, before any table is known). --bayes B: naive Bayes votes too, the SVM's K × decision values
plus B×naive Bayes' own (its rows summed × 8 / max(grams, 30), as the router's model scores, but
with grams counted in this model's vocabulary, which keeps every gram: more than the router's model
knows), so the items' wording and dispatchers' corrections, which naive Bayes learns when a version
is compiled, still count. Prints right / wrong / triage, accuracy among auto-routed, triage share
and cost (4×wrong + triage) per configuration.

The dev parts and heldout are never read.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from routing_cv import CORPUS, PARTS, by_author, outcome
from routing_cv import line as counts_line

from gridops.routing.evaluate import Example as Labelled
from gridops.routing.evaluate import load_corpus
from gridops.routing.learned import Example, Prediction, UnitModel, grams, item_examples
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Weights
from gridops.routing.table import demo_rules_path, parse_table

THRESHOLD = 0.60


def analyse(text: str) -> list[str]:
    return sorted(grams(text))


def train_svm(texts: Sequence[str], labels: Sequence[str], c: float) -> tuple[Any, Any]:
    """(the fitted vectoriser, the fitted LinearSVC)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    vectoriser = TfidfVectorizer(analyzer=analyse, sublinear_tf=True)
    features = vectoriser.fit_transform(texts)
    return vectoriser, LinearSVC(C=c).fit(features, labels)


class SvmModel(UnitModel):
    """The router's model with an SVM's weights in naive Bayes' place: the vocabulary is naive
    Bayes' with no gram left out (`min_information` 0), each gram's row its SVM weights × idf."""

    def __init__(self, wording: list[Example], units: Sequence[str], train: tuple[Example, ...],
                 sharpness: float, c: float, learn_wording: bool, bayes: float = 0.0) -> None:
        super().__init__(wording, units, shared=train, min_information=0.0)
        # Naive Bayes' own rows, as the router's model keeps them (grams weighing at least 0.3).
        self._bayes = (self._logp * (self.information >= 0.3)[:, None] * bayes
                       if bayes else None)
        learned = [*train, *wording] if learn_wording else list(train)
        vectoriser, svm = train_svm([e.text for e in learned], [e.unit for e in learned], c)
        order = [list(svm.classes_).index(unit) for unit in self.units]
        weights, idf, column = svm.coef_[order].T, vectoriser.idf_, vectoriser.vocabulary_
        rows = np.zeros((len(self), len(self.units)))
        idf_of = np.zeros(len(self))
        for gram_id, gram in enumerate(self.grams):
            j = column.get(gram)
            if j is not None:
                rows[gram_id] = weights[j] * idf[j]
                idf_of[gram_id] = idf[j]
        self._logp = rows
        self._none = rows[:0]
        self._idf_squared = idf_of ** 2
        self._intercept = svm.intercept_[order]
        self.sharpness = sharpness

    def predict_ids(self, ids: Any) -> Prediction:
        if not len(ids):
            return super().predict_ids(ids)
        rows = self._logp.take(ids, axis=0)
        norm = max(float(np.sqrt(self._idf_squared.take(ids).sum())), 1e-9)
        z = rows.sum(axis=0) / norm + self._intercept
        z *= self.sharpness
        if self._bayes is not None:
            z += self._bayes.take(ids, axis=0).sum(axis=0) * (8.0 / max(len(ids), 30))
        z -= z.max()
        np.exp(z, out=z)
        z /= z.sum()
        return Prediction(self.units, z, ids, rows)


def groups_of(labelled: list[Labelled], count: int) -> list[list[Labelled]]:
    """`count` groups of authors, round robin in id order; 0: one group per author."""
    if count == 0:
        return by_author(labelled)
    groups: list[list[Labelled]] = [[] for _ in range(count)]
    for i, author in enumerate(by_author(labelled)):
        groups[i % count] += author
    return groups


def train_of(groups: list[list[Labelled]], judged: int) -> tuple[Example, ...]:
    """Every group's complaints but the judged one's, normalised, as a model learns them."""
    return tuple(Example(normalise(ex.text), ex.unit)
                 for g, group in enumerate(groups) if g != judged for ex in group)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=5,
                        help="groups of authors; 0: one per author, as routing_cv.py --by-author")
    parser.add_argument("--c", type=float, default=0.5, help="LinearSVC's C")
    parser.add_argument("--router", action="append", default=[], metavar="K:M",
                        help="the whole router with the SVM at sharpness K and Weights.model M")
    parser.add_argument("--no-wording", action="store_true",
                        help="--router: the SVM learns from the complaints only")
    parser.add_argument("--threshold", type=float, action="append", default=[],
                        help=f"--router: the triage threshold (repeatable; {THRESHOLD} if none)")
    parser.add_argument("--bayes", type=float, default=0.0,
                        help="--router: add naive Bayes' own vote (its z at sharpness 8) × this")
    args = parser.parse_args()
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("needs scikit-learn: .venv/bin/pip install scikit-learn") from None
    items = parse_table(demo_rules_path()).items
    units = sorted({item.unit for item in items})
    labelled = [ex for name in PARTS if (CORPUS / f"{name}.jsonl").exists()
                for ex in load_corpus(CORPUS / f"{name}.jsonl")]
    groups = groups_of(labelled, args.groups)
    wording = item_examples(items)
    print(f"{len(labelled):,} tuning complaints, {len(groups)} groups of authors")
    if args.router:
        router(args, items, units, groups, wording)
    else:
        top_one(args, units, groups, wording)


def top_one(args: argparse.Namespace, units: list[str], groups: list[list[Labelled]],
            wording: list[Example]) -> None:
    print("top-1 share (training seconds)")
    shares: dict[str, list[float]] = {"nb": [], "svm": []}
    for g, judged_group in enumerate(groups):
        judged = [(normalise(ex.text), ex.unit) for ex in judged_group]
        train = train_of(groups, g)
        start = time.process_time()
        nb = UnitModel(wording, units, shared=train)
        nb_seconds = time.process_time() - start
        nb_right = sum(nb.predict(text).best()[0] == unit for text, unit in judged)
        start = time.process_time()
        learned = [*train, *wording]
        vectoriser, svm = train_svm([e.text for e in learned], [e.unit for e in learned], args.c)
        svm_seconds = time.process_time() - start
        guesses = svm.predict(vectoriser.transform([text for text, _ in judged]))
        svm_right = sum(guess == unit for guess, (_, unit) in zip(guesses, judged, strict=True))
        shares["nb"].append(nb_right / len(judged))
        shares["svm"].append(svm_right / len(judged))
        print(f"group {g + 1} ({len(judged):,} texts): nb {nb_right / len(judged):.2%} "
              f"({nb_seconds:.1f} s)  svm {svm_right / len(judged):.2%} ({svm_seconds:.1f} s)")
    nb_mean = sum(shares["nb"]) / len(groups)
    svm_mean = sum(shares["svm"]) / len(groups)
    print(f"mean: nb {nb_mean:.2%}  svm {svm_mean:.2%}  (the svm leaves "
          f"{(1 - svm_mean) / (1 - nb_mean):.0%} of nb's misses)")


def router(args: argparse.Namespace, items: Any, units: list[str],
           groups: list[list[Labelled]], wording: list[Example]) -> None:
    pairs = [tuple(float(part) for part in pair.split(":")) for pair in args.router]
    weights = sorted({m for _, m in pairs})
    names = ["nb, default weights", *(f"nb, model {m:g}" for m in weights),
             *(f"svm {k:g}, model {m:g}" for k, m in pairs)]
    thresholds = args.threshold or [THRESHOLD]
    tally: dict[tuple[str, float], Counter[str]] = {
        (name, t): Counter() for name in names for t in thresholds}
    print("the router: right / wrong / triage, accuracy among auto-routed, triage share"
          f"{'; the SVM learns from complaints only' if args.no_wording else ''}"
          f"{f'; with naive Bayes vote × {args.bayes:g}' if args.bayes else ''}")
    for g, judged in enumerate(groups):
        train = train_of(groups, g)
        built: list[tuple[str, CompiledRules]] = [
            (names[0], CompiledRules(0, items, Weights(), shared=train))]
        built += [(f"nb, model {m:g}", CompiledRules(0, items, Weights(model=m), shared=train))
                  for m in weights]
        for k, m in pairs:
            model = SvmModel(wording, units, train, k, args.c, not args.no_wording, args.bayes)
            built.append((f"svm {k:g}, model {m:g}",
                          CompiledRules(0, items, Weights(model=m), shared=train, model=model)))
        for name, rules in built:
            for t in thresholds:
                for ex in judged:
                    tally[name, t][outcome(rules, ex, t)] += 1
        print(f"group {g + 1} of {len(groups)} done", flush=True)
    for t in thresholds:
        for name in names:
            tallied = tally[name, t]
            print(f"{name + f' @ {t:g}':36} {counts_line(tallied)}  cost "
                  f"{4 * tallied['wrong'] + tallied['triage']:,}")


if __name__ == "__main__":
    main()
