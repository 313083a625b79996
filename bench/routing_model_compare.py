"""How far a discriminative model over the same n-grams would beat the router's naive Bayes.

    .venv/bin/pip install scikit-learn   # this script only; gridops does not depend on it
    .venv/bin/python bench/routing_model_compare.py [--groups 5] [--c 0.5]

The tuning authors (an id's first two characters, as `routing_cv.py --by-author`) are dealt
into `--groups` groups in id order, round robin; each group is judged by models that learned
from the other groups' complaints and every item's wording, exactly the examples a compiled
version's model learns from. Per group and on average, the share of complaints each model
ranks right first (top-1, every text routed):
- nb: `gridops.routing.learned.UnitModel` with its defaults (the router's model);
- svm: a linear support vector machine (scikit-learn's LinearSVC, C = `--c`) over tf-idf
  (sublinear) of the same distinct 1–2-grams (`gridops.routing.learned.grams`).
Each model's training time per group is printed beside it. The dev parts and heldout are never
read. This measures the model alone, not the router: what the rules decide is not involved.
"""

from __future__ import annotations

import argparse
import time

from routing_cv import CORPUS, PARTS, by_author

from gridops.routing.evaluate import load_corpus
from gridops.routing.learned import Example, UnitModel, grams, item_examples
from gridops.routing.normalise import normalise
from gridops.routing.table import demo_rules_path, parse_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=5)
    parser.add_argument("--c", type=float, default=0.5, help="LinearSVC's C")
    args = parser.parse_args()
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC
    except ImportError:
        raise SystemExit("needs scikit-learn: .venv/bin/pip install scikit-learn") from None
    items = parse_table(demo_rules_path()).items
    units = sorted({item.unit for item in items})
    labelled = [ex for name in PARTS if (CORPUS / f"{name}.jsonl").exists()
                for ex in load_corpus(CORPUS / f"{name}.jsonl")]
    groups: list[list[tuple[str, str]]] = [[] for _ in range(args.groups)]
    for i, author in enumerate(by_author(labelled)):
        groups[i % args.groups] += [(normalise(ex.text), ex.unit) for ex in author]
    wording = item_examples(items)
    shares: dict[str, list[float]] = {"nb": [], "svm": []}

    def analyse(text: str) -> list[str]:
        return sorted(grams(text))

    print(f"{len(labelled)} tuning complaints, {args.groups} groups of authors; top-1 share "
          "(training seconds)")
    for g, judged in enumerate(groups):
        train = [pair for h, group in enumerate(groups) if h != g for pair in group]
        start = time.process_time()
        nb = UnitModel(wording, units, shared=tuple(Example(t, u) for t, u in train))
        nb_seconds = time.process_time() - start
        nb_right = sum(nb.predict(text).best()[0] == unit for text, unit in judged)
        start = time.process_time()
        vectoriser = TfidfVectorizer(analyzer=analyse, sublinear_tf=True)
        features = vectoriser.fit_transform([t for t, _ in train] + [e.text for e in wording])
        svm = LinearSVC(C=args.c).fit(features, [u for _, u in train] + [e.unit for e in wording])
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


if __name__ == "__main__":
    main()
