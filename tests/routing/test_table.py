from pathlib import Path
from typing import Any

import pytest
import yaml

from gridops.routing.table import TableError, parse_table
from tests.routing.routing_sample import ITEMS, UNITS, document, item


def problems_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(TableError) as caught:
        parse_table(doc, UNITS)
    return caught.value.problems


def test_sample_table_parses_into_item_standards() -> None:
    table = parse_table(document(), UNITS)
    assert len(table.items) == len(ITEMS)
    first = table.items[0]
    assert (first.code, first.unit, first.kind, first.co_units) == ("SJ05001", "UMLE", "event",
                                                                   ("STR",))
    assert first.combos == (("路边", "卖"), ("人行道", "摆"))
    assert len(table.checksum) == 64


def test_checksum_ignores_key_order_but_not_content() -> None:
    a = parse_table(document(), UNITS)
    reordered = document([dict(reversed(list(r.items()))) for r in ITEMS])
    assert parse_table(reordered, UNITS).checksum == a.checksum
    changed = document([*ITEMS[:-1], {**ITEMS[-1], "phrases": ["燃气表坏了"]}])
    assert parse_table(changed, UNITS).checksum != a.checksum


def test_every_problem_is_collected_not_only_the_first() -> None:
    bad = [dict(r) for r in ITEMS]
    bad[0] = {**bad[0], "code": "SJ5001"}                       # bad code
    bad[1] = {**bad[1], "code": "BJ05002"}                      # asset prefix on an event
    bad[2] = {**bad[2], "unit": "XXX", "co_units": ["UMLE"]}    # unknown unit
    bad[3] = {**bad[3], "sign_hours": 30, "resolve_hours": 0.5}  # limits
    bad[4] = {**bad[4], "urgent_sign_hours": 10, "urgent_resolve_hours": 5}
    bad[5] = {**bad[5], "phrases": [], "strong": [], "combos": []}
    bad[6] = {**bad[6], "exclude": ["楼道堆放杂物"]}              # excludes its own phrase
    bad[7] = {**bad[7], "code": bad[8]["code"]}                 # duplicate code
    bad[9] = {**bad[9], "level": "city", "urgency": "now", "phrase": ["typo"]}
    doc = {**document(bad), "declared_count": 99}
    problems = "\n".join(problems_of(doc))
    for expected in ("declared_count 99 but the table holds 25", "'SJ5001' does not match",
                     "code prefix BJ does not fit kind event", "unit 'XXX' is not a known",
                     "sign_hours 30 outside", "resolve_hours 0.5 outside",
                     "urgent_resolve_hours is less than urgent_sign_hours", "no phrase",
                     "collides with its own exclude", "appears 2 times", "level 'city'",
                     "urgency 'now'", "unknown key `phrase`"):
        assert expected in problems, expected


def test_co_units_may_not_repeat_the_primary_unit_and_units_need_five_items() -> None:
    rows = [*[r for r in ITEMS if r["unit"] != "GAS"][:-1], {**ITEMS[-1], "co_units": ["GAS"]}]
    problems = problems_of(document(rows))
    assert "item #20 SJ09006: co_units must not contain the primary unit GAS" in problems
    assert any(p.startswith("unit GAS has 1 items") for p in problems)


def test_major_must_match_the_code_number() -> None:
    rows = [{**ITEMS[0], "major": "市容环境"}, *ITEMS[1:]]
    assert any("does not fit code major 05" in p for p in problems_of(document(rows)))


def test_directory_of_parts_is_concatenated_in_file_name_order(tmp_path: Path) -> None:
    (tmp_path / "ruleset.yaml").write_text("label: 测试\ndeclared_count: 25\n", encoding="utf-8")
    (tmp_path / "items-b.yaml").write_text(yaml.safe_dump({"items": ITEMS[10:]},
                                                          allow_unicode=True), encoding="utf-8")
    (tmp_path / "items-a.yaml").write_text(yaml.safe_dump({"items": ITEMS[:10]},
                                                          allow_unicode=True), encoding="utf-8")
    table = parse_table(tmp_path, UNITS)
    assert [i.code for i in table.items] == [r["code"] for r in ITEMS]
    assert table.label == "测试"


def test_json_bytes_and_broken_documents() -> None:
    import json
    raw = json.dumps(document(), ensure_ascii=False).encode()
    assert len(parse_table(raw, UNITS).items) == 25
    with pytest.raises(TableError, match="not valid YAML"):
        parse_table(b"items: [unclosed", UNITS)
    with pytest.raises(TableError, match="must be a mapping"):
        parse_table(b"- a\n- b\n", UNITS)


def test_item_helper_defaults_are_valid() -> None:
    row = item("SJ09001", "无物业小区", "STR", ["无物业"])
    assert parse_table(document([*ITEMS[:9], row, *ITEMS[10:]]), UNITS).items[9].phrases == (
        "无物业",)
