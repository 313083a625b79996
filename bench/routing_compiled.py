"""How far compiled code takes the router: the routing modules built with mypyc, beside the pure
Python ones, in turns.

    .venv/bin/python bench/routing_compiled.py [--seconds 2] [--rounds 2]

Copies src/ to a scratch directory, compiles `MODULES` there with mypyc (which ships with mypy,
a development dependency: it turns the modules' type-annotated Python into C extensions, and
Python imports an extension before a module's .py), checks with bench/routing_equivalence.py
that the compiled router decides every tuning text exactly as this checkout does, then runs
bench/routing_bench.py against this checkout and against the compiled copy in turns, and prints
each run's decide rates, bare scan and compile times with the compiled/pure ratio. Needs a C
compiler and the Python headers; the service itself never runs the compiled copy.

The question it answers: is the 20,000 texts/s target a matter of compiling the pure Python
that exists? The answer it gave (docs/routing.md § Speed): no, mypyc speeds the phrase evidence
but hardly the learned model and the similarity, whose time goes to numpy calls on small arrays.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The decide path: everything `CompiledRules.decide` runs per text, model and similarity included.
MODULES = ("aliases", "decide", "learned", "learned_decide", "marking", "negation", "ngrams",
           "normalise", "reporter", "rules", "scoring", "similarity")
_RATE = re.compile(r"^(decide|decide, fallback and model off|bare automaton scan):\s+([\d,]+)",
                   re.MULTILINE)
_COMPILE = re.compile(r"compile: (first in the process|then median) ([\d.]+) ms")


def _compile(scratch: Path) -> None:
    shutil.copytree(ROOT / "src", scratch / "src")
    shutil.copyfile(ROOT / "pyproject.toml", scratch / "pyproject.toml")  # mypy's settings
    sources = [f"src/gridops/routing/{name}.py" for name in MODULES]
    done = subprocess.run([sys.executable, "-m", "mypyc", *sources], cwd=scratch,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit("mypyc failed (a C compiler and the Python headers are needed):\n"
                 + (done.stdout + done.stderr)[-2000:])


def _bench(src: Path, seconds: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run([sys.executable, str(ROOT / "bench/routing_bench.py"), "--seconds",
                           str(seconds), "--rules", str(src / "gridops/demo/rules")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    figures = {name: float(rate.replace(",", "")) for name, rate in _RATE.findall(done.stdout)}
    figures.update({name: float(ms) for name, ms in _COMPILE.findall(done.stdout)})
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gridops-mypyc-") as tmp:
        scratch = Path(tmp)
        _compile(scratch)
        same = subprocess.run([sys.executable, str(ROOT / "bench/routing_equivalence.py"),
                               "--base", str(scratch)], cwd=ROOT, capture_output=True,
                              text=True, check=False)
        print(same.stdout.strip().splitlines()[-1] if same.stdout.strip() else same.stderr)
        if same.returncode != 0:
            sys.exit("the compiled router decides differently: no speed figures")
        print(f"{'run':12} {'decide':>9} {'no model':>9} {'bare scan':>10} "
              f"{'1st compile':>12} {'later':>8}  texts/s, ms")
        for round_ in range(1, args.rounds + 1):
            pure = _bench(ROOT / "src", args.seconds)
            built = _bench(scratch / "src", args.seconds)
            for label, figures in (("pure", pure), ("mypyc", built)):
                print(f"{label} {round_:<7} {figures['decide']:9,.0f} "
                      f"{figures['decide, fallback and model off']:9,.0f} "
                      f"{figures['bare automaton scan']:10,.0f} "
                      f"{figures['first in the process']:12.1f} {figures['then median']:8.1f}")
            off = "decide, fallback and model off"
            print(f"  compiled / pure: decide {built['decide'] / pure['decide']:.2f}×, with the "
                  f"fallback and model off {built[off] / pure[off]:.2f}×")


if __name__ == "__main__":
    main()
