"""`gridops pack …`: check and load district packs (streets, communities, grids, workers, units)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gridops.places.pack import DEMO_PACK, PackError
from gridops.settings import Settings

if TYPE_CHECKING:
    from gridops.places.service import PackReport

app = typer.Typer(no_args_is_help=True, help="Check and load district packs.")

PackPath = Annotated[Path, typer.Argument(help="pack directory (default: the demo district)",
                                          file_okay=False)]


@app.command("load")
def load(path: PackPath = DEMO_PACK) -> None:
    """Validate the pack and load it in one transaction; a bad pack changes nothing (exit 1)."""
    try:
        report = asyncio.run(_load(path, Settings()))
    except PackError as exc:
        _fail(path, exc)
    for line in report.lines():
        typer.echo(line)


@app.command("check")
def check(path: PackPath = DEMO_PACK) -> None:
    """Validate the pack without touching the database."""
    from gridops.places.pack import read_pack

    try:
        pack = read_pack(path)
    except PackError as exc:
        _fail(path, exc)
    typer.echo(f"pack {pack.name} ({pack.checksum[:12]}) is valid: {len(pack.streets)} streets, "
               f"{len(pack.communities)} communities, {len(pack.grids)} grids, "
               f"{len(pack.workers)} workers")


async def _load(path: Path, settings: Settings) -> PackReport:
    from gridops.db import create_engine, create_sessionmaker
    from gridops.places import service as places

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine).begin() as session:
            return await places.load_pack(session, path, now=datetime.now(UTC))
    finally:
        await engine.dispose()


def _fail(path: Path, exc: PackError) -> NoReturn:
    typer.echo(f"pack {path} refused, {len(exc.problems)} problem(s); database unchanged:",
               err=True)
    for problem in exc.problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(1)
