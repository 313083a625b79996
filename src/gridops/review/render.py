"""The weekly review as CSV (one row per card) and as Markdown (for the meeting's minutes)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

from gridops.review.metrics import Card
from gridops.review.service import Review

SCOPE_ZH = {"unit": "承办单位", "street": "街道", "community": "社区", "grid": "网格"}
# (field, Chinese heading, kind): kind "pct" shows a rate as a percentage, "h" hours.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rank", "排名", "int"), ("name", "名称", "text"), ("score", "综合得分", "num"),
    ("received", "受理数", "int"), ("sign_rate", "签收及时率", "pct"),
    ("dispatch_accuracy", "派单准确率", "pct"), ("on_time_rate", "按期办结率", "pct"),
    ("close_rate", "办结率", "pct"), ("overdue_open", "超期未办结", "int"),
    ("rework_rate", "返工率", "pct"), ("extension_rate", "延期率", "pct"),
    ("resolution_rate", "解决率", "pct"), ("satisfaction_rate", "满意率", "pct"),
    ("handling_median", "办理时长中位数(h)", "num"), ("handling_p90", "办理时长P90(h)", "num"),
    ("repeats", "重复诉求", "int"),
)


def fmt(value: object, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct" and isinstance(value, float):
        return f"{value * 100:.1f}%"
    if kind == "num" and isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def to_csv(review: Review) -> str:
    """Every figure, raw (rates as fractions, four decimals); the district first. A BOM so that
    spreadsheet programs read the Chinese names as UTF-8."""
    out = io.StringIO()
    rows = [review.district, *review.cards]
    fields = list(review.district.figures())
    writer = csv.DictWriter(out, fieldnames=["scope", *fields], lineterminator="\r\n")
    writer.writeheader()
    for i, card in enumerate(rows):
        figures = {k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in card.figures().items()}
        writer.writerow({"scope": "district" if i == 0 else review.scope, **figures})
    return "\ufeff" + out.getvalue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(cards: Iterable[Card]) -> list[str]:
    lines = ["| " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|" + "|".join("---:" if k != "text" else "---" for _, _, k in COLUMNS) + "|"]
    for card in cards:
        figures = card.figures()
        lines.append("| " + " | ".join(_cell(fmt(figures[f], k)) for f, _, k in COLUMNS) + " |")
    return lines


def period(review: Review) -> str:
    zone = ZoneInfo(review.timezone)
    first = review.week.start.astimezone(zone).date()
    last = (review.week.end.astimezone(zone) - timedelta(days=1)).date()
    return f"{first.isoformat()}（周一）至 {last.isoformat()}（周日）"


def to_markdown(review: Review) -> str:
    wk = review.week
    lines = [f"# 一周一点评 {wk.label}", "",
             f"统计周期：{period(review)}；口径：{SCOPE_ZH[review.scope]}。", "", "## 全区概况", "",
             *_table([review.district]), "", f"## {SCOPE_ZH[review.scope]}排名", "",
             *_table(review.cards), ""]
    if review.red or review.black:
        lines += ["## 红黑榜", "", "红榜（前五）：" + "、".join(
            f"{c.rank}. {_cell(c.name)}" for c in review.red) or "—",
                  "", "黑榜（后五）：" + "、".join(
            f"{c.rank}. {_cell(c.name)}" for c in review.black) or "—", ""]
    if review.top_items:
        lines += ["## 热点", "", "| 事项 | 本周 | 上周 |", "|---|---:|---:|"]
        lines += [f"| {_cell(h.name)} | {h.count} | {h.previous} |" for h in review.top_items]
        lines += ["", "上升事项：" + ("、".join(f"{_cell(h.name)}（{h.previous}→{h.count}）"
                                          for h in review.rising_items) or "无"), ""]
        lines += ["热点网格：" + "、".join(f"{_cell(h.name)} {h.count}" for h in review.top_grids),
                  ""]
    lines += ["## 逾期清零", ""]
    if not review.overdue:
        lines += ["本周末无超期未办结工单。", ""]
    else:
        lines += ["| 工单 | 事项 | 承办单位 | 超期(h) | 延期覆盖 |", "|---|---|---|---:|---|"]
        lines += [f"| {_cell(o.title)} | {_cell(o.item_name or '—')} | {_cell(o.unit_name)} | "
                  f"{o.overdue_hours:.1f} | {'已批准延期' if o.covered_by else '无'} |"
                  for o in review.overdue]
        lines.append("")
    return "\n".join(lines)
