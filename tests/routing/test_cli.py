import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridops.cli import core
from gridops.cli.routing import app, rules_app
from tests.routing.routing_sample import full_document

runner = CliRunner()


def test_bad_table_is_refused_with_every_problem_and_no_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "never" / "gridops.db"
    monkeypatch.setenv("GRIDOPS_DATABASE__URL", f"sqlite+aiosqlite:///{db}")
    document = full_document()
    document["declared_count"] = 1
    document["items"][0]["unit"] = "NOPE"
    path = tmp_path / "table.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(rules_app, ["load", str(path)])
    assert result.exit_code == 1
    assert "3 problem(s)" in result.output
    assert "unit 'NOPE' is not a known unit code" in result.output
    assert not db.parent.exists()


def test_load_prints_version_and_counts_and_is_idempotent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDOPS_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    core.migrate("head", down=False)
    path = tmp_path / "table.json"
    path.write_text(json.dumps(full_document(), ensure_ascii=False), encoding="utf-8")
    first = runner.invoke(rules_app, ["load", str(path), "--no-activate"])
    assert first.exit_code == 0, first.output
    assert "new version 1" in first.output
    assert "115 items, 23 units, not active" in first.output
    again = runner.invoke(rules_app, ["load", str(path)])
    assert "identical table already stored as version 1" in again.output
    assert "active" in again.output
    listing = runner.invoke(rules_app, ["list"])
    assert listing.output.startswith("* v1")


def test_eval_prints_per_part_figures(tmp_path: Path) -> None:
    (tmp_path / "tune.jsonl").write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in [
        {"id": "T1", "text": "小区停水了", "unit": "WTR", "item": "停水"},
        {"id": "T2", "text": "楼道里堆满杂物", "unit": "STR", "item": "楼道堆物"},
        {"id": "T3", "text": "路灯坏了，晚上路灯不亮", "unit": "PWR", "item": "路灯不亮"},
        {"id": "T4", "text": "今天天气不错", "unit": "UMLE"},
    ]), encoding="utf-8")
    table = tmp_path / "t.json"
    table.write_text(json.dumps(full_document(), ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["eval", "--corpus", str(tmp_path), "--part", "tune",
                                 "--rules", str(table), "--json"])
    assert result.exit_code == 0, result.output
    part = json.loads(result.output)["parts"][0]
    assert (part["total"], part["routed"], part["triaged"]) == (4, 3, 1)
    assert part["unit_accuracy_routed"] == pytest.approx(2 / 3, abs=1e-3)
    # T3 names the right item (路灯不亮) though its label says another unit
    assert (part["item_comparable"], part["item_accuracy"]) == (3, 1.0)
    assert part["top_confusions"] == [{"expected": "PWR", "got": "UMLE", "count": 1}]
    text = runner.invoke(app, ["eval", "--corpus", str(tmp_path), "--part", "tune",
                               "--rules", str(table)])
    assert "unit accuracy among auto-routed" in text.output
    assert "PWR → UMLE  1" in text.output
    shown = runner.invoke(app, ["preview", "小区停水了", "--rules", str(table)])
    assert shown.output.startswith("WTR")
    assert "停水: matched 停水" in shown.output
