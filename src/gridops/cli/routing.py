"""`gridops routing …` (measure the router) and `gridops rules …` (rule-table versions)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gridops.settings import Settings

if TYPE_CHECKING:
    from gridops.routing.service import LoadResult

app = typer.Typer(no_args_is_help=True, help="Measure and try the router.")
rules_app = typer.Typer(no_args_is_help=True, help="Load, list and activate rule-table versions.")

DEFAULT_CORPUS = Path("tests/routing/corpus")
# The parts whose texts may be studied (and the model learns from).
TUNING = ("tune", "tune2", "tune3", "tune4", "tune5", "tune6", "tune7", "tune8", "tune9",
          "tune10", "tune11", "tune12", "tune13", "tune14", "tune15", "tune16", "tune17",
          "tune18", "tune19", "tune20", "tune21", "tune22", "tune23", "tune24", "tune25",
          "tune26", "tune27", "tune28", "tune29", "tune30", "tune31", "tune32", "tune33",
          "tune34", "tune35", "tune36", "tune37", "tune38", "tune39", "tune40", "tune41",
          "tune42", "tune43", "tune44", "tune45", "tune46", "tune47",
          "tune48")
# The parts only ever measured: their texts are never read.
MEASURING = ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "dev10",
             "dev11", "dev12", "dev13", "dev14", "dev15", "dev16", "dev17", "dev18",
             "dev19", "dev20", "dev21", "dev22", "dev23", "heldout")


def _table_path(rules: Path | None, settings: Settings) -> Path:
    from gridops.routing.table import demo_rules_path

    return rules or settings.routing.rules_path or demo_rules_path()


@app.command("eval")
def eval_corpus(
    corpus: Annotated[Path, typer.Option(help="folder holding tune.jsonl and heldout.jsonl")]
    = DEFAULT_CORPUS,
    part: Annotated[str, typer.Option(help="tune | tune2 … tune48 | dev | dev2 … dev23 | heldout | "
                                      "both (tune and heldout)")] = "both",
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
    if part not in (*TUNING, *MEASURING, "both"):
        raise typer.BadParameter(f"part must be one of {', '.join((*TUNING, *MEASURING))} "
                                 "or both")
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
        # Misses are listed for the tuning parts only: dev and held-out texts are never studied.
        if misses and report.part in TUNING:
            for miss in report.misses[:misses]:
                typer.echo(f"    miss {miss.id} {miss.expected}→{miss.got} "
                           f"c={miss.confidence:.2f} {miss.difficulty}")


@app.command("preview")
def preview(
    text: Annotated[str, typer.Argument(help="a complaint text")],
    rules: Annotated[Path | None, typer.Option(help="rule table (default: the demo pack)")]
    = None,
    channel: Annotated[str | None, typer.Option()] = None,
    street: Annotated[str | None, typer.Option(help="street code, when the place is known")]
    = None,
    item_hint: Annotated[str | None, typer.Option(help="the item the reporter picked")] = None,
    category: Annotated[str | None, typer.Option(help="the hotline's category text")] = None,
) -> None:
    """Route one text with a table file (no database) and print the decision with its reasons."""
    from gridops.routing.rules import CompiledRules, Hints
    from gridops.routing.table import TableError, parse_table

    settings = Settings()
    try:
        table = parse_table(_table_path(rules, settings))
    except TableError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    decision = CompiledRules(0, table.items).decide(
        text, Hints(channel=channel, street_code=street, item_code_hint=item_hint,
                    category=category), settings.routing.triage_threshold)
    outcome = "TRIAGE" if decision.needs_triage else (
        f"{decision.unit_code} {decision.street_code or ''} {decision.item_code} "
        f"{decision.item.name if decision.item else ''}")
    typer.echo(f"{outcome}  confidence {decision.confidence:.2f}")
    for candidate in decision.candidates:
        typer.echo(f"  candidate {candidate.unit_code:<5} {candidate.item_code} "
                   f"{candidate.item_name} {candidate.score:.2f}")
    for reason in decision.reasons:
        typer.echo(f"  - {reason}")


def _print_problems(problems: list[str]) -> None:
    typer.echo(f"rule table refused: {len(problems)} problem(s)", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)


@rules_app.command("load")
def load_rules(
    path: Annotated[Path, typer.Argument(help="a table folder (ruleset.yaml + items-*.yaml) "
                                         "or one YAML/JSON file")],
    no_activate: Annotated[bool, typer.Option("--no-activate", help="store only")] = False,
) -> None:
    """Validate and store a rule table as a new version (activated unless --no-activate).
    A bad table is refused with every problem and the database is left untouched (exit 1)."""
    import asyncio

    from gridops.routing.table import TableError, parse_table

    try:
        table = parse_table(path)
    except TableError as exc:
        _print_problems(exc.problems)
        raise typer.Exit(1) from None
    result = asyncio.run(_store(table.document(), activate=not no_activate))
    state = "new version" if result.created else "identical table already stored as version"
    typer.echo(f"{state} {result.version}: {result.label}, {result.item_count} items, "
               f"{len(result.units)} units, {'active' if result.active else 'not active'}")
    typer.echo("items per unit: " + " ".join(f"{u} {n}" for u, n in result.units.items()))


async def _store(document: dict[str, Any], *, activate: bool) -> LoadResult:
    from datetime import UTC, datetime

    from gridops.auth.actor import SYSTEM
    from gridops.db import create_engine, create_sessionmaker
    from gridops.routing import service

    settings = Settings()
    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await service.load_table(session, document, actor=SYSTEM,
                                            now=datetime.now(UTC), activate=activate)
    finally:
        await engine.dispose()


@rules_app.command("list")
def list_rules() -> None:
    """Stored versions, newest first."""
    import asyncio

    for row in asyncio.run(_versions()):
        flag = "*" if row.active else " "
        typer.echo(f"{flag} v{row.version:<4} {row.item_count:>4} items  {row.label}  "
                   f"{row.created_at:%Y-%m-%d %H:%M} by {row.created_by}")


async def _versions() -> list[Any]:
    from gridops.db import create_engine, create_sessionmaker
    from gridops.routing import service

    engine = create_engine(Settings().database)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await service.list_versions(session))
    finally:
        await engine.dispose()
