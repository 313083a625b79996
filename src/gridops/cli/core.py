from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from gridops.settings import DEV_JWT_SECRET, Settings


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(start)
    app.command()(healthcheck)
    app.command()(migrate)
    app.command()(token)
    app.command()(openapi)
    app.command()(worker)
    app.command()(config)
    from gridops.cli.demo import demo

    app.command()(demo)


def serve(host: Annotated[str | None, typer.Option(help="default: GRIDOPS_SERVER__HOST")] = None,
          port: Annotated[int | None, typer.Option(help="default: GRIDOPS_SERVER__PORT")] = None,
          workers: Annotated[int | None, typer.Option(help="default: GRIDOPS_SERVER__WORKERS")]
          = None) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    settings = Settings()
    uvicorn.run("gridops.main:create_app", factory=True, host=host or settings.server.host,
                port=port or settings.server.port, workers=workers or settings.server.workers,
                log_config=None, proxy_headers=True, timeout_graceful_shutdown=20)


def start() -> None:
    """Migrate to head, then serve: what the container runs."""
    migrate("head", down=False)
    serve(None, None, None)


def healthcheck() -> None:
    """Exit 0 when this host's API answers /healthz (the container's HEALTHCHECK)."""
    import urllib.request

    port = Settings().server.port
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            ok = response.status == 200
    except OSError:
        ok = False
    raise typer.Exit(0 if ok else 1)


def migrate(revision: Annotated[str, typer.Argument()] = "head",
            down: Annotated[bool, typer.Option("--down", help="downgrade to REVISION")] = False
            ) -> None:
    """Run Alembic migrations (upgrade to head by default)."""
    from alembic import command

    from gridops.ops.migrations import alembic_config

    settings = Settings()
    cfg = alembic_config(settings)
    _ensure_sqlite_dir(settings)
    if down:
        command.downgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)
    typer.echo(f"database at {revision}", err=True)


def _ensure_sqlite_dir(settings: Settings) -> None:
    url = settings.database.url.get_secret_value()
    if url.startswith("sqlite") and ":///" in url and ":memory:" not in url:
        Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


def token(role: Annotated[str, typer.Option(help="grid_worker, unit_operator, dispatcher, "
                                            "leader, auditor or admin")],
          unit: Annotated[str | None, typer.Option()] = None,
          street: Annotated[str | None, typer.Option()] = None,
          community: Annotated[str | None, typer.Option()] = None,
          grid: Annotated[str | None, typer.Option()] = None,
          subject: Annotated[str | None, typer.Option(help="default: dev-<role>")] = None,
          name: Annotated[str | None, typer.Option()] = None,
          ttl_minutes: Annotated[int | None, typer.Option()] = None) -> None:
    """Mint a development token; prints the token alone on standard output."""
    from gridops.auth.tokens import mint
    from gridops.errors import GridopsError

    settings = Settings()
    if settings.auth.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
        typer.echo("note: signed with the development secret (set GRIDOPS_AUTH__JWT_SECRET)",
                   err=True)
    try:
        value = mint(settings.auth, subject=subject or f"dev-{role}", role=role,
                     now=datetime.now(UTC), ttl_minutes=ttl_minutes, name=name, unit=unit,
                     street=street, community=community, grid=grid)
    except (GridopsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    sys.stdout.write(value + "\n")


def openapi(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")]
            = None) -> None:
    """Export the OpenAPI document (the committed copy is openapi/openapi.json)."""
    from gridops.main import create_app

    document = create_app(Settings()).openapi()
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def worker() -> None:
    """Run the SLA sweeper and the outbox drain (for deployments with many API replicas)."""
    from gridops import worker as worker_module

    asyncio.run(worker_module.main(Settings()))


def config() -> None:
    """Print every setting (environment variable and default) as a Markdown table."""
    from gridops.ops.config_doc import markdown_table

    sys.stdout.write(markdown_table() + "\n")
