"""Server-rendered SVG charts for the printable review: no script, no external resource; every
text drawn is escaped. Sizes are in user units; the page scales them to its width."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

# Colour-blind-safe and distinct in greyscale print (Okabe–Ito).
SERIES = (("sign_rate", "签收及时率", "#0072B2"), ("on_time_rate", "按期办结率", "#009E73"),
          ("satisfaction_rate", "满意率", "#E69F00"))
HEAT = ("#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704")
EMPTY = "#f0f0f0"


def _svg(width: float, height: float, body: list[str], label: str,
         natural: bool = False) -> Markup:
    """`natural`: drawn at its own size (at most the page width) instead of the page width."""
    size = f' width="{width:.0f}" height="{height:.0f}"' if natural else ""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}"{size} '
        f'role="img" aria-label="{escape(label)}" class="chart">' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: Any, *, anchor: str = "start", size: int = 13,
          weight: str = "normal", fill: str = "#222") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'font-weight="{weight}" fill="{fill}">{escape(str(text))}</text>')


def _legend(x: float, y: float, series: Sequence[tuple[str, str, str]]) -> list[str]:
    out = []
    for _, label, colour in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="14" height="10" '
                   f'fill="{colour}"/>')
        out.append(_text(x + 18, y, label, size=12))
        x += 26 + 13 * len(label)
    return out


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    values: Mapping[str, float | None]


def rate_bars(rows: Sequence[Row], title: str = "各单位主要指标") -> Markup:
    """Three horizontal bars per unit (签收及时率, 按期办结率, 满意率), 0–100%."""
    left, width, bar, gap = 200.0, 640.0, 6.0, 7.0
    top = 26.0
    step = bar * len(SERIES) + gap
    height = top + step * max(1, len(rows)) + 30
    body = _legend(left, 16, SERIES)
    for tick in range(0, 101, 20):
        x = left + width * tick / 100
        body.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{height - 24:.1f}" '
                    'stroke="#ddd" stroke-width="1"/>')
        body.append(_text(x, height - 8, f"{tick}%", anchor="middle", size=11, fill="#555"))
    for i, row in enumerate(rows):
        y = top + i * step + gap / 2
        body.append(_text(left - 8, y + bar * 2, row.label[:14], anchor="end", size=12))
        for j, (key, label, colour) in enumerate(SERIES):
            value = row.values.get(key)
            if value is None:
                body.append(_text(left + 3, y + bar * (j + 1) - 1, "无数据", size=7,
                                  fill="#999"))
                continue
            w = max(1.0, width * value)
            body.append(f'<rect x="{left:.1f}" y="{y + bar * j:.1f}" width="{w:.1f}" '
                        f'height="{bar - 1:.1f}" fill="{colour}"><title>'
                        f'{escape(row.label)} {escape(label)} {value * 100:.1f}%</title></rect>')
    return _svg(left + width + 20, height, body, title, natural=True)


def trend_lines(labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
                counts: Sequence[int], title: str = "近八周趋势") -> Markup:
    """Rates as lines on the left axis (0–100%), received counts as pale bars on the right."""
    left, top, width, height = 60.0, 30.0, 760.0, 240.0
    n = max(1, len(labels))
    step = width / n
    peak = max([*counts, 1])
    body = _legend(left, 16, [*SERIES, ("received", "受理数", "#c9d3e0")])
    for tick in range(0, 101, 25):
        y = top + height * (1 - tick / 100)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" '
                    'stroke="#e3e3e3"/>')
        body.append(_text(left - 6, y + 4, f"{tick}%", anchor="end", size=11, fill="#555"))
        body.append(_text(left + width + 6, y + 4, round(peak * tick / 100), size=11,
                          fill="#7a8799"))
    for i, count in enumerate(counts):
        h = height * count / peak
        x = left + i * step + step * 0.2
        body.append(f'<rect x="{x:.1f}" y="{top + height - h:.1f}" width="{step * 0.6:.1f}" '
                    f'height="{h:.1f}" fill="#c9d3e0"><title>{escape(labels[i])} 受理 {count}'
                    '</title></rect>')
        body.append(_text(left + (i + 0.5) * step, top + height + 18, labels[i][5:],
                          anchor="middle", size=12))
    for key, label, colour in SERIES:
        points = [(left + (i + 0.5) * step, top + height * (1 - v))
                  for i, v in enumerate(series.get(key, [])) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                        'stroke-width="3"/>')
        body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>'
                 f'{escape(label)}</title></circle>' for x, y in points]
    return _svg(left + width + 50, top + height + 30, body, title)


def _rings(polygon: Mapping[str, Any]) -> list[list[list[float]]]:
    if polygon.get("type") == "MultiPolygon":
        return [ring for poly in polygon.get("coordinates", []) for ring in poly]
    return list(polygon.get("coordinates", []))


def heat_colour(count: int, peak: int) -> str:
    if count <= 0 or peak <= 0:
        return EMPTY
    step = min(len(HEAT) - 1, math.ceil(len(HEAT) * count / peak) - 1)
    return HEAT[step]


def grid_map(grids: Sequence[tuple[str, str, Mapping[str, Any]]], counts: Mapping[str, int],
             title: str = "网格热力图（本周受理数）") -> Markup:
    """Every grid polygon as a path, shaded by its count; equirectangular, north up."""
    points = [p for _, _, poly in grids for ring in _rings(poly) for p in ring]
    if not points:
        return _svg(400, 40, [_text(0, 20, "无网格数据", size=14)], title)
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    x0, y1 = min(lons), max(lats)
    kx = math.cos(math.radians((min(lats) + y1) / 2))
    span = max((max(lons) - x0) * kx, y1 - min(lats)) or 1.0
    size, top = 640.0, 4.0
    scale = size / span
    peak = max(counts.values(), default=0)
    body = []
    for code, name, poly in grids:
        d = " ".join(
            "M" + " L".join(f"{(lon - x0) * kx * scale:.1f},{top + (y1 - lat) * scale:.1f}"
                            for lon, lat, *_ in ring) + " Z" for ring in _rings(poly))
        n = counts.get(code, 0)
        body.append(f'<path d="{d}" fill="{heat_colour(n, peak)}" stroke="#666" '
                    f'stroke-width="0.6"><title>{escape(name)} {escape(code)}：{n}</title></path>')
    height = top + (y1 - min(lats)) * scale
    legend_y = height + 24
    for i, colour in enumerate((EMPTY, *HEAT)):
        body.append(f'<rect x="{i * 56}" y="{legend_y - 12}" width="54" height="14" '
                    f'fill="{colour}" stroke="#999" stroke-width="0.5"/>')
    body.append(_text(0, legend_y + 18, "0", size=11))
    body.append(_text(6 * 56, legend_y + 18, f"{peak} 件", anchor="end", size=11))
    return _svg(max(size, (max(lons) - x0) * kx * scale) + 10, legend_y + 26, body, title)
