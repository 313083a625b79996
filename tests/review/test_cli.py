"""`gridops simulate` drives the real intake and lifecycle services into a fresh database, and
`gridops review` writes the week from it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridops.cli import app as gridops_app
from gridops.cli.review import app
from gridops.review import simulate


@pytest.fixture
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sim.db"
    monkeypatch.setenv("GRIDOPS_DATABASE__URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("GRIDOPS_STORAGE__PATH", str(tmp_path / "uploads"))
    monkeypatch.setenv("GRIDOPS_LOG_JSON", "false")
    result = CliRunner().invoke(gridops_app, ["migrate"])
    assert result.exit_code == 0, result.output
    return path


def test_simulate_then_review(fresh_db: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--weeks", "1", "--per-day", "6", "--seed", "7",
                                 "--until", "2026-11-24T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "receive" in result.output
    assert "sign" in result.output
    out = tmp_path / "w47.csv"
    result = runner.invoke(app, ["review", "--week", "2026-W47", "--format", "csv", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    district = rows[0]
    assert district["scope"] == "district"
    assert int(district["received"]) >= 20  # 5 working days × 6, less voided and merged
    assert int(district["dispatches"]) > 0
    assert sum(int(r["received"]) for r in rows[1:]) == int(district["received"])
    page = tmp_path / "w47.html"
    result = runner.invoke(app, ["review", "--week", "2026-W47", "--format", "html", "-o",
                                 str(page)])
    assert result.exit_code == 0, result.output
    assert page.read_text(encoding="utf-8").count("<path d=") == 232  # the demo district's grids


def test_review_refuses_a_bad_format() -> None:
    result = CliRunner().invoke(app, ["review", "--format", "pdf"])
    assert result.exit_code == 2


def test_simulator_never_reads_the_heldout_corpus(tmp_path: Path) -> None:
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="held-out"):
        simulate.load_texts(heldout)
    assert simulate.load_texts()[0]["id"].startswith("T")
