"""`gridops pack load`: a summary on success, every problem and exit 1 on a bad pack."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridops.cli import app
from gridops.places.pack import DEMO_PACK
from tests.places.test_pack import break_pack


def rows(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_pack_load_refuses_a_bad_pack_then_loads_the_demo_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("GRIDOPS_DATABASE__URL", f"sqlite+aiosqlite:///{db}")
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    shutil.copytree(DEMO_PACK, tmp_path / "bad")
    break_pack(tmp_path / "bad")

    bad = runner.invoke(app, ["pack", "load", str(tmp_path / "bad")])
    assert bad.exit_code == 1
    assert "database unchanged" in bad.output
    assert "unknown unit code 'XYZ'" in bad.output
    assert "declares 6 streets" in bad.output
    assert bad.output.count("\n  - ") >= 6
    assert all(rows(db, t) == 0 for t in ("unit", "street", "grid", "grid_worker", "pack_load"))

    first = runner.invoke(app, ["pack", "load", str(DEMO_PACK)])
    assert first.exit_code == 0, first.output
    assert "232 in pack,   232 new" in first.output
    assert (rows(db, "grid"), rows(db, "grid_worker"), rows(db, "unit")) == (232, 464, 23)
    again = runner.invoke(app, ["pack", "load"])  # the demo pack is the default
    assert again.exit_code == 0
    assert "already loaded: nothing changed" in again.output
    assert rows(db, "pack_load") == 1


def test_pack_check_needs_no_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["pack", "check", str(DEMO_PACK)])
    assert result.exit_code == 0
    assert "5 streets, 45 communities, 232 grids, 464 workers" in result.output
    shutil.copytree(DEMO_PACK, tmp_path / "bad")
    (tmp_path / "bad" / "grids.geojson").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(app, ["pack", "check", str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert "grids.geojson: not a GeoJSON FeatureCollection" in result.output
