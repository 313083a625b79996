from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from gridops.auth.tokens import TokenVerifier
from gridops.ops.config_doc import settings_rows
from gridops.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for variable, default in settings_rows():
        assert f"| `{variable}` | `{default}` |" in readme, variable


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("make run") < readme.index("## Configuration")
    assert readme.index("make test") < readme.index("## Configuration")


def test_gridops_token_prints_the_token_alone() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDOPS_")}
    result = subprocess.run(
        [sys.executable, "-m", "gridops.cli", "token", "--role", "unit_operator", "--unit",
         "STR", "--street", "430204001"], capture_output=True, text=True, env=env, check=True)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    actor = asyncio.run(TokenVerifier(Settings(_env_file=None).auth).verify(lines[0]))  # type: ignore[call-arg]
    assert (actor.role.value, actor.unit_code, actor.street_code) == (
        "unit_operator", "STR", "430204001")
    assert "development secret" in result.stderr


def test_gridops_token_refuses_a_scope_the_role_lacks() -> None:
    result = subprocess.run([sys.executable, "-m", "gridops.cli", "token", "--role",
                             "grid_worker"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "grid" in result.stderr
