"""Where a decision's time goes: the array work of the learned model and the similarity
fallback against the Python around it.

    .venv/bin/python bench/routing_split.py [--seconds 2] [--rules PATH] [--corpus DIR]

The same texts and hints as `routing_bench.py`. Each line decides every text with one part of
the work memoised per text (computed once, then looked up), so the line's gain over the default
is what that part costs: the gram look-up (a text's n-grams found among the model's and the
similarity's), the model's arithmetic (posterior, the quoted n-grams, a new unit's item) and the
similarity's, then all three. The last is a bound: what deciding would cost if that array work
were free, e.g. done by compiled per-text code. Then the scan alone, and the cutting of a
reporter's opening and of the asides (`gridops.routing.reporter`: regular expressions).
Decisions are checked equal to the plain ones.
Memoising reaches into `gridops.routing.learned` and `learned_decide`; a part whose function has
been renamed is reported as such instead of measured.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from routing_bench import WIDTH, texts_of

from gridops.routing import learned, learned_decide, reporter
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

Key = Callable[..., Any]


def _by_text(_self: object, evidence: Any, *rest: Any) -> Any:
    return (evidence.norm, *rest)


def _by_ids(_self: object, ids: Any) -> Any:
    return ids.tobytes()


def _by_prediction(_self: object, prediction: Any, *rest: Any) -> Any:
    return (prediction.ids.tobytes(), *rest)


def _by_item(_rules: object, evidence: Any, unit: str, _ids: object) -> Any:
    return (evidence.norm, unit)


# Each part: (owner, attribute, memo key).
PARTS: dict[str, list[tuple[Any, str, Key]]] = {
    "gram look-up": [(CompiledRules, "_positions", _by_text),
                     (CompiledRules, "model_ids", _by_text)],
    "model arithmetic": [(learned.UnitModel, "predict_ids", _by_ids),
                         (learned.UnitModel, "drivers", _by_prediction),
                         (learned_decide, "_item_for", _by_item)],
    "similarity arithmetic": [(CompiledRules, "similarity", _by_text)],
}


@contextmanager
def memoised(owner: Any, name: str, key: Key) -> Iterator[None]:
    plain = getattr(owner, name)
    memo: dict[Any, Any] = {}

    def remembered(*args: Any) -> Any:
        k = key(*args)
        if k not in memo:
            memo[k] = plain(*args)
        return memo[k]

    setattr(owner, name, remembered)
    try:
        yield
    finally:
        setattr(owner, name, plain)


def per_text(fn: Callable[[str], object], texts: list[str], seconds: float) -> float:
    """Microseconds of CPU per text, the best of several passes (the machine is shared)."""
    best, spent = float("inf"), 0.0
    while spent < seconds:
        start = time.process_time()
        for text in texts:
            fn(text)
        took = time.process_time() - start
        spent += took
        best = min(best, took / len(texts) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rules", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=Path("tests/routing/corpus"))
    args = parser.parse_args()
    items = parse_table(args.rules or demo_rules_path()).items
    rules = CompiledRules(1, items)
    phrases_only = CompiledRules(1, items, Weights(fallback=0.0, model=0.0))
    texts = texts_of(args.corpus)
    hints = Hints(channel="hotline_12345", street_code="located")
    expected = [rules.decide(text, hints) for text in texts]

    def decide(text: str) -> object:
        return rules.decide(text, hints)

    default = per_text(decide, texts, args.seconds)
    print(f"{len(texts)} corpus texts of {WIDTH} characters; µs of CPU per text, best pass")
    print(f"decide, default                          {default:6.1f}")
    for label, memo in [*((f"… {name} memoised", [name]) for name in PARTS),
                        ("… all three memoised (bound)", list(PARTS))]:
        missing = [f"{getattr(owner, '__name__', owner)}.{attribute}" for name in memo
                   for owner, attribute, _ in PARTS[name] if not hasattr(owner, attribute)]
        if missing:
            print(f"{label:40} not measured: no {', '.join(missing)}")
            continue
        with ExitStack() as stack:
            for name in memo:
                for owner, attribute, key in PARTS[name]:
                    stack.enter_context(memoised(owner, attribute, key))
            assert [decide(text) for text in texts] == expected, label
            took = per_text(decide, texts, args.seconds)
        print(f"{label:40} {took:6.1f}  (that part: {default - took:4.1f})")
    plain = per_text(lambda text: phrases_only.decide(text, hints), texts, args.seconds)
    print(f"decide, fallback and model off           {plain:6.1f}")
    scan = per_text(rules.scan, texts, args.seconds)
    print(f"scan (normalise, automaton, evidence)    {scan:6.1f}")
    cut = per_text(lambda text: reporter.aside(reporter.split(text)[1]), texts, args.seconds)
    print(f"reporter's opening and asides cut apart  {cut:6.1f}")


if __name__ == "__main__":
    main()
