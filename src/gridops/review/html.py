"""The printable review page: Jinja2 with autoescape (names and titles are stored text), charts
as inline SVG, a CJK font stack, no script and no external resource."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor
from gridops.places.models import Grid
from gridops.review import charts, service
from gridops.review.metrics import ratio
from gridops.review.render import COLUMNS, SCOPE_ZH, fmt, period
from gridops.settings import Settings


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("gridops.review", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    env.filters["fmt"] = fmt
    return env


async def _grids(session: AsyncSession) -> list[tuple[str, str, dict[str, Any]]]:
    rows = await session.execute(select(Grid.code, Grid.name, Grid.polygon).order_by(Grid.code))
    return [(code, name, polygon) for code, name, polygon in rows]


async def render(session: AsyncSession, review: service.Review, *, actor: Actor,
                 now: datetime, settings: Settings) -> str:
    points = await service.trend(session, review.week, actor=actor, now=now, settings=settings)
    labels = [label for label, _ in points]
    series = {
        "sign_rate": [ratio(p.get("sign_met", 0), p.get("sign_due", 0)) for _, p in points],
        "on_time_rate": [ratio(p.get("resolve_met", 0), p.get("resolve_due", 0))
                         for _, p in points],
        "satisfaction_rate": [ratio(p["satisfied"], p["rated"]) for _, p in points],
    }
    units = [c for c in review.units if c.key != service.UNASSIGNED]
    bars = charts.rate_bars([charts.Row(c.name, {k: getattr(c, k) for k, _, _ in charts.SERIES})
                             for c in units if c.active])
    grids = await _grids(session)
    zone = ZoneInfo(review.timezone)
    return _env().get_template("weekly.html.j2").render(
        r=review, period=period(review), scope_zh=SCOPE_ZH[review.scope], columns=COLUMNS,
        bars=bars, trend=charts.trend_lines(labels, series, [p["received"] for _, p in points]),
        grid_map=charts.grid_map(grids, review.grid_counts) if grids else None,
        generated=now.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        red_keys={c.key for c in review.red}, black_keys={c.key for c in review.black}, tz=zone)

