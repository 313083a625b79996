"""`gridops routing …` (measure the router) and `gridops rules …` (rule-table versions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gridops.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Measure and try the router.")
rules_app = typer.Typer(no_args_is_help=True, help="Load, list and activate rule-table versions.")

DEFAULT_CORPUS = Path("tests/routing/corpus")


def _table_path(rules: Path | None, settings: Settings) -> Path:
    from gridops.routing.table import demo_rules_path

    return rules or settings.routing.rules_path or demo_rules_path()


@app.command("eval")
def eval_corpus(
    corpus: Annotated[Path, typer.Option(help="folder holding tune.jsonl and heldout.jsonl")]
    = DEFAULT_CORPUS,
    part: Annotated[str, typer.Option(help="tune | heldout | both")] = "both",
    rules: Annotated[Path | None, typer.Option(help="rule table (default: the demo pack)")]
    = None,
    threshold: Annotated[float | None, typer.Option(help="default: GRIDOPS_ROUTING__"
                                                    "TRIAGE_THRESHOLD")] = None,
    unlocated: Annotated[bool, typer.Option(help="assume no grid/street resolved")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    misses: Annotated[int, typer.Option(help="list this many misses per part (tune only)")] = 0,
) -> None:
    """Print unit accuracy, item accuracy, triage share and the unit confusion per corpus part."""
    from gridops.routing.evaluate import evaluate, load_corpus, render
    from gridops.routing.rules import CompiledRules
    from gridops.routing.table import TableError, parse_table

    settings = Settings()
    if part not in ("tune", "heldout", "both"):
        raise typer.BadParameter("part must be tune, heldout or both")
    try:
        table = parse_table(_table_path(rules, settings))
    except TableError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    compiled = CompiledRules(0, table.items)
    limit = settings.routing.triage_threshold if threshold is None else threshold
    parts = ["tune", "heldout"] if part == "both" else [part]
    reports = []
    for name in parts:
        examples = load_corpus(corpus / f"{name}.jsonl")
        reports.append(evaluate(compiled, examples, part=name, threshold=limit,
                                located=not unlocated))
    if as_json:
        payload = {"threshold": limit, "located": not unlocated, "items": len(table.items),
                   "parts": [r.as_dict() for r in reports]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    typer.echo(f"rule table: {table.label} ({len(table.items)} items), threshold {limit:g}, "
               f"{'unlocated' if unlocated else 'located'}")
    for report in reports:
        typer.echo(render(report))
        # Misses are listed for the tuning part only: the held-out texts are never studied.
        if misses and report.part == "tune":
            for miss in report.misses[:misses]:
                typer.echo(f"    miss {miss.id} {miss.expected}→{miss.got} "
                           f"c={miss.confidence:.2f} {miss.difficulty}")


def _print_problems(problems: list[str]) -> None:
    typer.echo(f"rule table refused: {len(problems)} problem(s)", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
