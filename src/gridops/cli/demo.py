"""`gridops demo`: load the demo district and its rule table (idempotent)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import typer

from gridops.settings import Settings

DEMO = Path(__file__).resolve().parents[1] / "demo"


async def load_demo(settings: Settings, *, pack: Path, rules: Path) -> list[str]:
    from gridops.auth.actor import SYSTEM
    from gridops.db import create_engine, create_sessionmaker
    from gridops.places import service as places
    from gridops.routing import service as routing

    engine = create_engine(settings.database)
    now = datetime.now(UTC)
    try:
        async with create_sessionmaker(engine).begin() as session:
            report = await places.load_pack(session, pack, now=now)
            table = await routing.load_table(session, rules, actor=SYSTEM, now=now)
    finally:
        await engine.dispose()
    state = "loaded" if table.created else "already loaded"
    return [*report.lines(),
            f"rule table v{table.version} ({table.item_count} items) {state}, "
            f"{'active' if table.active else 'inactive'}"]


def demo(pack: Path = typer.Option(DEMO / "pack", help="district pack directory"),
         rules: Path = typer.Option(DEMO / "rules", help="rule table (directory or file)")) -> None:
    """Load the demo district pack and rule table into the configured database (idempotent)."""
    from gridops.errors import GridopsError
    from gridops.places.pack import PackError

    settings = Settings()
    try:
        lines = asyncio.run(load_demo(settings, pack=pack, rules=rules))
    except (GridopsError, PackError) as exc:
        problems = (exc.problems if isinstance(exc, PackError)
                    else exc.extensions.get("errors", []))
        typer.echo(f"refused: {exc}", err=True)
        for problem in problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(1) from None
    for line in lines:
        typer.echo(line, err=True)
