"""GET /reviews/weekly: the weekly review (一周一点评) as JSON, CSV, Markdown or a page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import allow
from gridops.deps import AppSettings, Calendar, Now, Session
from gridops.errors import problems
from gridops.review import html, render, service
from gridops.review.schemas import ReviewOut
from gridops.review.week import last_complete, parse_week

router = APIRouter(prefix="/reviews", tags=["reviews"])

Reader = Annotated[Actor, Depends(allow(Role.leader, Role.dispatcher, Role.auditor, Role.admin,
                                        Role.unit_operator))]
WeekQ = Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$", examples=["2026-W47"],
                                    description="ISO week (Monday 00:00 local); default: the "
                                    "last complete week")]
ScopeQ = Annotated[service.Scope, Query(description="Cards per unit, street, community or grid")]
Format = Literal["json", "csv", "md", "html"]
MEDIA = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8",
         "html": "text/html; charset=utf-8"}
_CONTENT: dict[int | str, dict[str, Any]] = {200: {"description": "The review", "content": {
    "text/csv": {"schema": {"type": "string"}}, "text/markdown": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}}}}}


async def _review(session: Session, now: Now, settings: AppSettings, cal: Calendar,
                  actor: Actor, week: str | None, scope: service.Scope) -> service.Review:
    wk = parse_week(week, settings.timezone) if week else last_complete(now, settings.timezone)
    return await service.weekly(session, wk, scope, actor=actor, now=now, cal=cal,
                                settings=settings)


@router.get("/weekly", response_model=ReviewOut, responses={**_CONTENT, **problems(401, 403, 422)})
async def weekly_review(session: Session, now: Now, settings: AppSettings, cal: Calendar,
                        actor: Reader, week: WeekQ = None, scope: ScopeQ = "unit",
                        format: Format = "json") -> ReviewOut | Response:
    """Figures per unit (or street, community, grid) and for the district, the ranking with its
    red and black lists, hotspots and the overdue list. Dispatchers of a street or community see
    their part; a unit operator sees their own unit's card. `format=csv|md|html` for exports."""
    review = await _review(session, now, settings, cal, actor, week, scope)
    if format == "csv":
        return Response(render.to_csv(review), media_type=MEDIA["csv"], headers={
            "Content-Disposition": f'attachment; filename="review-{review.week.label}.csv"'})
    if format == "md":
        return Response(render.to_markdown(review), media_type=MEDIA["md"])
    if format == "html":
        page = await html.render(session, review, actor=actor, now=now, settings=settings)
        return HTMLResponse(page)
    return ReviewOut.of(review, settings.review.weights)


@router.get("/weekly.html", response_class=HTMLResponse, responses=problems(401, 403, 422))
async def weekly_review_page(session: Session, now: Now, settings: AppSettings, cal: Calendar,
                             actor: Reader, week: WeekQ = None,
                             scope: ScopeQ = "unit") -> HTMLResponse:
    """The printable page: ranking, red and black lists, rates per unit, the eight-week trend and
    the grid hotspot map, as server-rendered SVG (no script, no external resource)."""
    review = await _review(session, now, settings, cal, actor, week, scope)
    return HTMLResponse(await html.render(session, review, actor=actor, now=now,
                                          settings=settings))
