"""A small, realistic rule table for the pure router tests (5 units × 5 items)."""

from __future__ import annotations

from typing import Any

from gridops.routing.rules import CompiledRules, Weights
from gridops.routing.table import parse_table

UNITS = frozenset({"UMLE", "STR", "PWR", "WTR", "GAS"})


def item(code: str, name: str, unit: str, phrases: list[str], **extra: Any) -> dict[str, Any]:
    kind = "asset" if code.startswith("BJ") else "event"
    majors = {"SJ12": "其他事件",
              "BJ01": "公用设施", "BJ03": "市容环境", "BJ06": "其他设施", "SJ01": "市容环境",
              "SJ05": "街面秩序", "SJ06": "矛盾纠纷", "SJ07": "安全隐患", "SJ09": "民生服务",
              "SJ04": "突发事件"}
    row: dict[str, Any] = {
        "code": code, "name": name, "kind": kind, "major": majors[code[:4]], "minor": name,
        "unit": unit, "co_units": [], "level": "unit", "filing": f"发现{name}的。",
        "closing": f"{name}已处置。", "urgency": "normal", "sign_hours": 2, "resolve_hours": 24,
        "urgent_sign_hours": 0.5, "urgent_resolve_hours": 12, "photo_required": True,
        "phrases": phrases,
    }
    row.update(extra)
    return row


ITEMS: list[dict[str, Any]] = [
    item("SJ05001", "占道经营", "UMLE", ["占道经营", "摆摊设点", "路边摆摊", "流动摊贩", "小贩"],
         strong=["占道经营", "流动摊贩"], combos=[["路边", "卖"], ["人行道", "摆"]],
         exclude=["店外经营", "出店经营"], co_units=["STR"]),
    item("SJ05002", "店外经营", "UMLE", ["店外经营", "出店经营", "门口摆"], strong=["店外经营"]),
    item("SJ01001", "暴露垃圾", "UMLE", ["暴露垃圾", "垃圾", "乱倒垃圾", "垃圾堆"]),
    item("SJ01002", "垃圾满溢", "UMLE", ["垃圾满溢", "垃圾桶满", "垃圾箱满了"],
         strong=["垃圾满溢"]),
    item("BJ01001", "路灯不亮", "UMLE", ["路灯不亮", "路灯坏", "路灯", "灯不亮"],
         exclude=["电杆"]),
    item("SJ06001", "邻里纠纷", "STR", ["邻里纠纷", "邻居吵架", "和邻居"], strong=["邻里纠纷"]),
    item("SJ01003", "楼道堆物", "STR", ["楼道堆物", "楼道堆放", "楼道里堆"], strong=["楼道堆物"]),
    item("SJ01004", "背街小巷卫生", "STR", ["背街小巷", "小巷卫生"]),
    item("BJ06001", "无主部件", "STR", ["无主", "没人管的"]),
    item("SJ09001", "无物业小区", "STR", ["无物业", "没有物业"], strong=["无物业小区"]),
    item("SJ09002", "停电", "PWR", ["停电", "没电了", "断电"], strong=["停电"], urgency="urgent"),
    item("BJ01002", "电力井盖", "PWR", ["电力井盖"], strong=["电力井盖"]),
    item("BJ01003", "电杆", "PWR", ["电杆", "电线杆"]),
    item("BJ01004", "箱变", "PWR", ["箱变", "变压器"]),
    item("SJ07001", "电线老化", "PWR", ["电线老化", "电线破皮"]),
    item("SJ09003", "停水", "WTR", ["停水", "没水了", "断水"], strong=["停水"]),
    item("SJ09004", "水压低", "WTR", ["水压低", "水压小", "水很小"]),
    item("BJ01005", "上水井盖", "WTR", ["上水井盖", "自来水井盖"]),
    item("BJ01006", "污水井盖", "WTR", ["污水井盖", "下水道井盖"]),
    item("SJ07002", "供水管道破裂", "WTR", ["水管爆了", "水管破裂", "爆管"], strong=["爆管"]),
    item("SJ04001", "燃气泄漏", "GAS", ["燃气泄漏", "煤气味", "天然气味"],
         strong=["燃气泄漏"], urgency="urgent"),
    item("BJ01007", "燃气井盖", "GAS", ["燃气井盖", "天然气井盖"]),
    item("BJ01008", "燃气管道", "GAS", ["燃气管道", "天然气管道"]),
    item("SJ09005", "停气", "GAS", ["停气", "没有天然气", "没气了"]),
    item("SJ09006", "燃气表", "GAS", ["燃气表", "气表"]),
]


def document(items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rows = ITEMS if items is None else items
    return {"label": "测试事项表", "declared_count": len(rows), "items": [dict(r) for r in rows]}


def phrases_only(items: list[dict[str, Any]] | None = None) -> CompiledRules:
    """The sample (or these items of its units) compiled as version 7 for the phrase mechanics
    alone: no similarity fallback (its own tests: test_fallback.py), no learned model."""
    return CompiledRules(7, parse_table(document(items), UNITS).items,
                         Weights(fallback=0.0, model=0.0))


def full_document(label: str = "测试事项表 全部单位") -> dict[str, Any]:
    """The sample plus five items for each other unit of demo/units.csv: a loadable table."""
    import csv
    import io
    from importlib import resources

    text = resources.files("gridops").joinpath("demo/units.csv").read_text(encoding="utf-8")
    rows = list(ITEMS)
    sequence = 0
    for unit in csv.DictReader(io.StringIO(text)):
        if unit["code"] in UNITS:
            continue
        words = unit["owns_examples"].split()
        for n in range(5):
            sequence += 1
            word = words[n] if n < len(words) else f"{unit['name_zh']}事项{n}"
            rows.append(item(f"SJ12{sequence:03d}", word, unit["code"], [word]))
    return {**document(rows), "label": label}
