"""Router speed on one core: 80-character texts against the full rule table.

    .venv/bin/python bench/routing_bench.py [--seconds 3] [--rules PATH] [--corpus DIR]

Prints texts/second for `CompiledRules.decide` beside the bare automaton scan
(`automaton.iter` over the same normalised texts) and their ratio, the same with the
similarity fallback and the learned model off (phrase evidence only), the shares of texts that
consulted them, and the time to compile the table: the first compile of the process apart
(it loads the shipped examples' counts, `gridops.routing.precounted`, once per process), then
the median of the others; and the model's size and the process' peak memory (ru_maxrss).
The bare scan is given for the router's own automaton (its keys added in the order that makes
it fast) and for one with the same keys added in plain sorted order (the reference the ratio
was first quoted against). Targets: ≥ 20,000 texts/s, compile < 200 ms.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import ahocorasick

from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Hints, Weights
from gridops.routing.table import demo_rules_path, parse_table

WIDTH = 80


def texts_of(corpus: Path) -> list[str]:
    texts: list[str] = []
    for name in ("tune.jsonl", "heldout.jsonl"):
        path = corpus / name
        if path.exists():
            texts += [json.loads(line)["text"] for line in path.read_text("utf-8").splitlines()
                      if line.strip()]
    # Pad short texts with themselves and cut long ones, so every text is 80 characters.
    return [(text * (WIDTH // max(1, len(text)) + 1))[:WIDTH] for text in texts]


def rate(fn: object, texts: list[str], seconds: float) -> float:
    """Texts per CPU second of this process: on a shared machine, wall time would measure the
    neighbours too."""
    assert callable(fn)
    done, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rules", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=Path("tests/routing/corpus"))
    args = parser.parse_args()

    table = parse_table(args.rules or demo_rules_path())
    compile_ms, compile_wall_ms = [], []
    for _ in range(7):
        start, wall = time.process_time(), time.perf_counter()
        rules = CompiledRules(1, table.items)
        compile_ms.append((time.process_time() - start) * 1000)
        compile_wall_ms.append((time.perf_counter() - wall) * 1000)
    texts = texts_of(args.corpus)
    hints = Hints(channel="hotline_12345", street_code="located")
    automaton = rules.automaton
    normalised = [normalise(text) for text in texts]

    def bare(norm: str) -> None:
        for _ in automaton.iter(norm):
            pass

    plain = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for key_id, key in enumerate(sorted(k for k in automaton if "\x00" not in k)):
        plain.add_word(key, key_id)
    plain.make_automaton()

    def bare_plain(norm: str) -> None:
        for _ in plain.iter(norm):
            pass

    phrases_only = CompiledRules(1, table.items, Weights(fallback=0.0, model=0.0))
    consulted = sum(any(r.startswith("phrase evidence weak")
                        for r in rules.decide(text, hints).reasons) for text in texts)
    modelled = sum(any(r.startswith("learned model consulted")
                       for r in rules.decide(text, hints).reasons) for text in texts)
    scan_rate = rate(bare, normalised, args.seconds)
    plain_scan_rate = rate(bare_plain, normalised, args.seconds)
    decide_rate = rate(lambda text: rules.decide(text, hints), texts, args.seconds)
    plain_rate = rate(lambda text: phrases_only.decide(text, hints), texts, args.seconds)
    phrases = len(plain)
    print(f"table: {table.label}: {len(table.items)} items, {phrases} automaton keys "
          f"(+{len(automaton) - phrases} that never match, see gridops.routing.rules)")
    print(f"texts: {len(texts)} distinct corpus texts of {WIDTH} characters")
    later = compile_ms[1:]
    print(f"compile: first in the process {compile_ms[0]:.1f} ms CPU (wall "
          f"{compile_wall_ms[0]:.1f} ms; loads the shipped examples' counts)  "
          f"target < 200 ms")
    print(f"compile: then median {statistics.median(later):.1f} ms CPU over {len(later)} "
          f"(min {min(later):.1f}, max {max(later):.1f}; wall median "
          f"{statistics.median(compile_wall_ms[1:]):.1f} ms)")
    model = len(rules.model) if rules.model is not None else 0
    print(f"memory: the model knows {model:,} n-grams; max RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (two compiled "
          f"versions kept, six compiled and dropped)")
    print(f"decide:  {decide_rate:,.0f} texts/s  target ≥ 20,000  (similarity fallback "
          f"consulted for {consulted / len(texts):.0%} of the texts, the learned model for "
          f"{modelled / len(texts):.0%})")
    print(f"decide, fallback and model off: {plain_rate:,.0f} texts/s")
    print(f"bare automaton scan: {scan_rate:,.0f} texts/s  "
          f"(decide costs {scan_rate / decide_rate:.1f}× the bare scan, "
          f"{scan_rate / plain_rate:.1f}× with the fallback and model off)")
    print(f"bare scan, keys added in sorted order: {plain_scan_rate:,.0f} texts/s  "
          f"(decide costs {plain_scan_rate / decide_rate:.1f}×, "
          f"{plain_scan_rate / plain_rate:.1f}× with the fallback and model off)")


if __name__ == "__main__":
    main()
