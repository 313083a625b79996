"""`gridops open311 client add NAME`: register a partner client and print its api_key once."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import typer

from gridops.settings import Settings

app = typer.Typer(no_args_is_help=True, help="Open311 GeoReport v2 partner clients.")
client_app = typer.Typer(no_args_is_help=True, help="Partner clients and their api keys.")
app.add_typer(client_app, name="client")


async def _add(settings: Settings, name: str) -> str:
    from gridops.db import create_engine, create_sessionmaker
    from gridops.open311 import service

    engine = create_engine(settings.database)
    try:
        async with create_sessionmaker(engine).begin() as session:
            _, api_key = await service.add_client(session, name, now=datetime.now(UTC))
    finally:
        await engine.dispose()
    return api_key


@client_app.command("add")
def add(name: str) -> None:
    """Register NAME; prints the api_key alone on stdout (it is stored only as a hash)."""
    from gridops.errors import GridopsError

    try:
        api_key = asyncio.run(_add(Settings(), name))
    except GridopsError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"registered Open311 client {name!r}; keep this key, it is shown once", err=True)
    sys.stdout.write(api_key + "\n")
