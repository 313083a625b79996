"""Cross-validate the router over the tuning parts (tune … tune48): the learned model of each fold
never sees that fold; the dev parts and heldout are never read here.

    .venv/bin/python bench/routing_cv.py [--folds 5 | --by-author] [--threshold 0.55]
        [--config "model=8" --config "model_keep=0.7,model_sharpness=10" …]
        [--config "model:min_information=0,information=0" …] [--curve] [--model-only]
        [--corpus DIR] [--rules PATH] [--svm-cache DIR]

Each configuration is the default `Weights` with the given fields changed (the default is always
the first); fields after `model:` are the learned model's own (`UnitModel` keywords such as
min_count, information, min_information), for which the model of each fold is built here with
them. Per fold the model learns from the items' wording and the other folds' complaints,
exactly as a compiled version learns from the shipped ones (`CompiledRules(shared=…)`), and the
linear SVM beside it (`gridops.routing.linear`) is trained on the other folds' complaints, as
`bench/routing_examples.py` trains the shipped one (scikit-learn; once per fold and run, seconds;
"linear=0" configures naive Bayes alone; --svm-cache keeps each fold's SVM in DIR for later
runs, named by the digest of the complaints it learned from, stored as the shipped one is); the
rule table is the demo table as it is (or --rules). Prints, per configuration and per part,
right / wrong / triage at the threshold, accuracy among auto-routed and the triage share, and
cost = 4 × wrong + triage (a wrong route costs a return and a second dispatch, a triage one
look). A part whose voices neither the rules nor the model had seen before it was added (tune3,
tune4, tune5) is the estimate for unseen authors.

Folds: by default 5, stratified by unit, so a fold's authors also wrote some of the texts the
model learns from. --by-author leaves one author out at a time instead (an id's first two
characters name its author: T0 tune, U0 tune2, VA–VD, WG–WJ, YK–YN, ZO–ZV, RA–RD, RI–RL,
QA–QD, QI–QV, PA, PC–PG, OA, OC, OE–OH, NA, NB, ND–NF, NH, MA–MF, LA–LD, KA–KD, JA–JD,
IA–ID, HA–HD, GA–GD, FA–FD, EA–ED, DA–DD, CA–CD, BA–BB, BE–BF, BI–BN, BQ–BT; see the corpus
README): the model never saw the voice it is judged on, as with complaints written by outsiders.
--curve adds the default's threshold curve; --model-only prints the learned model's own top-1
accuracy per part instead.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import fields, replace
from pathlib import Path
from typing import NamedTuple

from gridops.cli.routing import TUNING
from gridops.routing import linear as linear_svm
from gridops.routing.evaluate import LOCATED_STREET, load_corpus
from gridops.routing.evaluate import Example as Labelled
from gridops.routing.learned import Example, item_examples
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights, learned_model
from gridops.routing.table import ItemStandard, demo_rules_path, parse_table

CORPUS = Path("tests/routing/corpus")
PARTS = TUNING
THRESHOLDS = (0.45, 0.50, 0.55, 0.60, 0.65, 0.70)


def folds(examples: list[Labelled], k: int) -> list[list[Labelled]]:
    """Stratified by unit, each unit's complaints shuffled with a fixed seed."""
    by_unit: dict[str, list[Labelled]] = defaultdict(list)
    for ex in examples:
        by_unit[ex.unit].append(ex)
    out: list[list[Labelled]] = [[] for _ in range(k)]
    n = 0
    for unit in sorted(by_unit):
        group = by_unit[unit]
        random.Random(20250101).shuffle(group)
        for ex in group:
            out[n % k].append(ex)
            n += 1
    return out


def by_author(examples: list[Labelled]) -> list[list[Labelled]]:
    """One fold per author (an id's first two characters), in id order."""
    out: dict[str, list[Labelled]] = defaultdict(list)
    for ex in examples:
        out[ex.id[:2]].append(ex)
    return [out[author] for author in sorted(out)]


class Config(NamedTuple):
    weights: Weights
    model: dict[str, float]  # UnitModel keywords besides those Weights gives it


def weights_of(config: str) -> Weights:
    """"model=8,model_keep=0.7" → the default Weights with those fields."""
    return config_of(config).weights


def config_of(config: str) -> Config:
    """"model=8,model_keep=0.7" → the default Weights with those fields; after "model:", the
    model's own keywords ("model:min_information=0,information=0")."""
    types = {f.name: f.type for f in fields(Weights)}
    changes: dict[str, object] = {}
    model: dict[str, float] = {}
    for pair in filter(None, config.split(",")):
        name, value = (part.strip() for part in pair.split("="))
        if name.startswith("model:") or model:
            name = name.removeprefix("model:")
            if name not in MODEL_OPTIONS:
                raise SystemExit(f"no model option named {name!r}")
            model[name] = float(value)
            continue
        if name not in types:
            raise SystemExit(f"no weight named {name!r}")
        changes[name] = (value.lower() == "true" if types[name] in (bool, "bool")
                         else int(value) if types[name] in (int, "int") else float(value))
    return Config(replace(Weights(), **changes), model)  # type: ignore[arg-type]


MODEL_OPTIONS = ("min_count", "min_grams", "information", "min_information")


def outcome(rules: CompiledRules, ex: Labelled, threshold: float) -> str:
    d = rules.decide(ex.text, Hints(channel=ex.channel, grid_code=ex.grid_code,
                                    street_code=ex.street_code or LOCATED_STREET,
                                    item_code_hint=ex.item_code_hint, category=ex.category),
                     threshold)
    return "triage" if d.needs_triage else "right" if d.unit_code == ex.unit else "wrong"


_TRAINED: dict[str, linear_svm.Linear] = {}


def fold_linear(train: tuple[Example, ...], cache: Path | None) -> linear_svm.Linear:
    """The SVM trained on `train` (the other folds' complaints): once per run, or once per
    `cache` (a file per training set, named by its digest)."""
    digest = hashlib.sha256("\n".join(f"{e.unit}\t{e.text}" for e in train).encode()).hexdigest()
    if digest not in _TRAINED:
        path = None if cache is None else cache / f"{digest[:24]}.npz"
        found = None if path is None or not path.exists() else linear_svm.load(path, digest)
        if found is None:
            found = linear_svm.fit(train)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                linear_svm.save(path, digest, found)
        _TRAINED[digest] = found
    return _TRAINED[digest]


def cross_validate(items: tuple[ItemStandard, ...], parts: list[list[Labelled]],
                   config: Config | Weights, threshold: float, part_of: dict[str, str],
                   model_only: bool = False,
                   svm_cache: Path | None = None) -> dict[str, Counter[str]]:
    """Per corpus part, how many texts were routed right, wrong, or to triage (--model-only:
    how many the model alone ranked right first)."""
    if isinstance(config, Weights):
        config = Config(config, {})
    weights = config.weights
    units = sorted({item.unit for item in items})
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for f, fold in enumerate(parts):
        train = tuple(Example(normalise(ex.text), ex.unit)
                      for g, part in enumerate(parts) if g != f for ex in part)
        linear = (fold_linear(train, svm_cache) if weights.model > 0 and weights.linear > 0
                  else None)
        model = None
        if config.model and weights.model > 0:
            # As CompiledRules trains it, with the model's own keywords besides.
            model = learned_model(weights, item_examples(items), units, train, linear,
                                  **config.model)
        rules = CompiledRules(0, items, weights, shared=train, model=model, linear=linear)
        for ex in fold:
            if model_only:
                assert rules.model is not None
                best = rules.model.predict(normalise(ex.text)).best()[0]
                tally[part_of[ex.id]]["right" if best == ex.unit else "wrong"] += 1
            else:
                tally[part_of[ex.id]][outcome(rules, ex, threshold)] += 1
    return tally


def line(tally: Counter[str]) -> str:
    right, wrong, triage = tally["right"], tally["wrong"], tally["triage"]
    total = right + wrong + triage
    return (f"{right:5} /{wrong:4} /{triage:4}  {right / max(1, right + wrong):6.2%} "
            f"{triage / max(1, total):6.2%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--by-author", action="store_true",
                        help="one fold per author instead of --folds stratified ones")
    parser.add_argument("--threshold", type=float, default=0.55)
    parser.add_argument("--config", action="append", default=[],
                        help="weights to change from the default, e.g. model=8,model_keep=0.7")
    parser.add_argument("--curve", action="store_true", help="the default's threshold curve")
    parser.add_argument("--model-only", action="store_true",
                        help="the learned model's own top-1 accuracy per part")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--rules", type=Path, default=None,
                        help="a rule table the corpus was not fitted to (e.g. an older version)")
    parser.add_argument("--svm-cache", type=Path, default=None,
                        help="keep each fold's SVM here for later runs")
    args = parser.parse_args()
    items = parse_table(args.rules or demo_rules_path()).items
    names = [n for n in PARTS if (args.corpus / f"{n}.jsonl").exists()]
    part_of: dict[str, str] = {}
    labelled: list[Labelled] = []
    for name in names:
        rows = load_corpus(args.corpus / f"{name}.jsonl")
        part_of.update({ex.id: name for ex in rows})
        labelled += rows
    parts = by_author(labelled) if args.by_author else folds(labelled, args.folds)
    configs = ["", *args.config]
    if args.model_only:
        print("model's own top-1 per part (" + ", ".join(names) + ")")
        for config in configs:
            tally = cross_validate(items, parts, config_of(config), args.threshold, part_of,
                                   model_only=True, svm_cache=args.svm_cache)
            print(f"{config or 'default':40} " + "  ".join(
                f"{tally[n]['right'] / max(1, sum(tally[n].values())):6.2%}" for n in names))
        return
    scheme = (f"leave-one-author-out CV ({len(parts)} authors)" if args.by_author
              else f"{args.folds}-fold CV")
    print(f"{scheme}, threshold {args.threshold:g}; per part: right / wrong / "
          "triage, accuracy among auto-routed, triage share")
    for config in configs:
        tally = cross_validate(items, parts, config_of(config), args.threshold, part_of,
                               svm_cache=args.svm_cache)
        every = sum(tally.values(), Counter())
        print(f"{config or 'default'}: all {line(every)}  cost "
              f"{4 * every['wrong'] + every['triage']}")
        for name in names:
            print(f"    {name:6} {line(tally[name])}")
    if args.curve:
        print("threshold curve of the default (all parts):")
        for threshold in THRESHOLDS:
            every = sum(cross_validate(items, parts, Weights(), threshold, part_of,
                                       svm_cache=args.svm_cache).values(), Counter())
            print(f"  {threshold:.2f}  {line(every)}")


if __name__ == "__main__":
    main()
