"""The `gridops` command: serve, migrate, mint tokens, export the OpenAPI, and each domain's verbs."""

from __future__ import annotations

import importlib

import typer

from gridops.cli import core

app = typer.Typer(help="gridops: dispatch core of a grid-governance command system.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
core.register(app)

# Each domain contributes a sub-command group from gridops/cli/<module>.py (`app = typer.Typer()`).
_GROUPS = {
    "pack": "gridops.cli.pack",
    "routing": "gridops.cli.routing",
    "open311": "gridops.cli.open311",
}
for _name, _module in _GROUPS.items():
    app.add_typer(importlib.import_module(_module).app, name=_name)


def main() -> None:
    app()
