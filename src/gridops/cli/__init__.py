"""The `gridops` command: serve, migrate, tokens, the OpenAPI, and each domain's verbs."""

from __future__ import annotations

import importlib

import typer

from gridops.cli import core
from gridops.cli import review as review_cli

app = typer.Typer(help="gridops: dispatch core of a grid-governance command system.",
                  no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False)
core.register(app)

# Each domain contributes a sub-command group from gridops/cli/<module>.py (`app = typer.Typer()`).
_GROUPS = {
    "pack": ("gridops.cli.pack", "app"),
    "routing": ("gridops.cli.routing", "app"),
    "rules": ("gridops.cli.routing", "rules_app"),
    "open311": ("gridops.cli.open311", "app"),
}
for _name, (_module, _attr) in _GROUPS.items():
    app.add_typer(getattr(importlib.import_module(_module), _attr), name=_name)
app.command("review")(review_cli.review)
app.command("simulate")(review_cli.simulate)


def main() -> None:
    app()
