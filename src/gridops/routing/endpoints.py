from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import ANY_ROLE, allow
from gridops.deps import AppSettings, Calendar, Now, Session
from gridops.errors import PayloadTooLarge, UnsupportedMediaType, problems
from gridops.places import service as places
from gridops.routing import corrections, replay, service
from gridops.routing.models import Ruleset
from gridops.routing.rules import Decision, Hints, ItemStandard
from gridops.routing.schemas import (
    CandidateOut,
    ConfusionOut,
    DeadlinesOut,
    LoadOut,
    PreviewIn,
    PreviewOut,
    ReplayIn,
    ReplayOut,
    RulesetDetail,
    RulesetOut,
)

router = APIRouter(prefix="", tags=["routing"])

MAX_TABLE_BYTES = 5 * 1024 * 1024
TABLE_TYPES = ("application/json", "application/yaml", "application/x-yaml", "text/yaml",
               "text/x-yaml", "text/plain")


@router.post("/routing/preview", responses=problems(401, 403, 422, 503))
async def preview_routing(body: PreviewIn, session: Session, now: Now, settings: AppSettings,
                          cal: Calendar,
                          actor: Annotated[Actor, Depends(allow(*ANY_ROLE))]) -> PreviewOut:
    """Route a text with the active table without storing anything: unit, item, deadlines, why.
    A GPS point is resolved to its grid (and street) when no grid code is given."""
    grid_code, street_code = body.grid_code, body.street_code
    if body.location is not None and grid_code is None:
        hit = await places.locate(session, body.location.lat, body.location.lon)
        if hit is not None:
            grid_code, street_code = hit.grid_code, street_code or hit.street_code
    hints = Hints(channel=body.channel, grid_code=grid_code, street_code=street_code,
                  item_code_hint=body.item_code_hint, category=body.category)
    decision = await service.decide(session, body.text, hints,
                                    settings.routing.triage_threshold)
    return preview_out(decision, grid_code, now, cal)


def preview_out(decision: Decision, grid_code: str | None, now: datetime, cal: Any) -> PreviewOut:
    item = decision.item
    return PreviewOut(
        unit_code=decision.unit_code, item_code=decision.item_code,
        item_name=item.name if item else None, needs_triage=decision.needs_triage,
        confidence=decision.confidence, matched=list(decision.matched),
        candidates=[CandidateOut(item_code=c.item_code, item_name=c.item_name,
                                 unit_code=c.unit_code, score=c.score)
                    for c in decision.candidates],
        ruleset_version=decision.ruleset_version, street_code=decision.street_code,
        grid_code=grid_code, kind=item.kind if item else None,
        level=item.level if item else None, urgency=item.urgency if item else None,
        co_units=list(item.co_units) if item else [],
        deadlines=deadlines(item, now, cal) if item else None, reasons=list(decision.reasons))


def deadlines(item: ItemStandard, now: datetime, cal: Any) -> DeadlinesOut:
    """Urgent items run on the continuous clock with the urgent limits, others on working time."""
    if item.urgency == "urgent":
        sign, resolve = item.urgent_sign_hours, item.urgent_resolve_hours
        return DeadlinesOut(basis="continuous", sign_hours=sign, resolve_hours=resolve,
                            sign_due_at=now + timedelta(hours=sign),
                            resolve_due_at=now + timedelta(hours=resolve))
    from gridops.clock.working import add_working

    sign, resolve = item.sign_hours, item.resolve_hours
    return DeadlinesOut(basis="working", sign_hours=sign, resolve_hours=resolve,
                        sign_due_at=add_working(now, sign * 60, cal),
                        resolve_due_at=add_working(now, resolve * 60, cal))


def ruleset_out(row: Ruleset) -> RulesetOut:
    return RulesetOut(version=row.version, label=row.label, checksum=row.checksum,
                      item_count=row.item_count, created_at=row.created_at,
                      created_by=row.created_by, activated_at=row.activated_at,
                      active=bool(row.active))


@router.get("/rulesets", responses=problems(401, 403))
async def list_rulesets(session: Session,
                        actor: Annotated[Actor, Depends(allow(*ANY_ROLE))]) -> list[RulesetOut]:
    """Every stored version, newest first; exactly one is active."""
    return [ruleset_out(row) for row in await service.list_versions(session)]


@router.get("/rulesets/{version}", responses=problems(401, 403, 404))
async def get_ruleset(version: Annotated[int, Path(ge=1, le=2**31 - 1)], session: Session,
                      actor: Annotated[Actor, Depends(allow(*ANY_ROLE))]) -> RulesetDetail:
    """One version with all its items; older versions stay readable."""
    row = await service.get_version(session, version)
    return RulesetDetail(**ruleset_out(row).model_dump(), items=list(row.source["items"]))


async def _table_bytes(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_TABLE_BYTES:
        raise PayloadTooLarge(f"a rule table may be at most {MAX_TABLE_BYTES} bytes")
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise UnsupportedMediaType("send the table as the form field `file`")
        raw = await upload.read()
    elif content_type in TABLE_TYPES:
        raw = await request.body()
    else:
        raise UnsupportedMediaType("send the table as application/json, application/yaml "
                                   "or a multipart `file`")
    if len(raw) > MAX_TABLE_BYTES:
        raise PayloadTooLarge(f"a rule table may be at most {MAX_TABLE_BYTES} bytes")
    return raw


@router.post("/rulesets", status_code=201, responses=problems(401, 403, 413, 415, 422),
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/yaml": {"schema": {"type": "string"}, "example":
                                      "label: 石峰区事项处置标准 2026 版\ndeclared_count: 285\n"
                                      "items:\n  - code: SJ05001\n    name: 占道经营\n    …"},
                 "application/json": {"schema": {"type": "object"}},
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}}}}}}})
async def upload_ruleset(request: Request, session: Session, now: Now,
                         actor: Annotated[Actor, Depends(allow(Role.admin))],
                         activate: Annotated[bool, Query()] = True) -> LoadOut:
    """Validate and store a table (YAML or JSON) as a new version, activated unless told not to.
    A bad table is refused with every problem listed; an identical table returns its version."""
    raw = await _table_bytes(request)
    result = await service.load_table(session, raw, actor=actor, now=now, activate=activate)
    return LoadOut(version=result.version, label=result.label, item_count=result.item_count,
                   checksum=result.checksum, created=result.created, active=result.active,
                   units=result.units)


@router.post("/rulesets/replay", responses=problems(401, 403, 404, 422))
async def replay_ruleset(body: ReplayIn, session: Session, now: Now, settings: AppSettings,
                         actor: Annotated[Actor, Depends(allow(Role.admin))]) -> ReplayOut:
    """Run recent incidents through a candidate version (stored, or a table sent here) and
    report what would move: counts, the from→to matrix, examples with their texts."""
    from gridops.errors import Invalid

    if (body.version is None) == (body.table is None):
        raise Invalid("give exactly one of `version` or `table`",
                      errors=["give exactly one of `version` or `table`"])
    candidate: int | dict[str, Any] = body.version if body.version is not None else (
        body.table or {})
    report = await replay.replay(session, candidate, since=now - timedelta(days=body.days),
                                 limit=body.limit, threshold=settings.routing.triage_threshold)
    return ReplayOut.model_validate(report.as_dict())


@router.post("/rulesets/{version}/activate", responses=problems(401, 403, 404))
async def activate_ruleset(version: Annotated[int, Path(ge=1, le=2**31 - 1)],
                           session: Session, now: Now,
                           actor: Annotated[Actor, Depends(allow(Role.admin))]) -> RulesetOut:
    """Make a stored version the active one (the previous one stops in the same transaction)."""
    return ruleset_out(await service.activate(session, version, actor=actor, now=now))


@router.get("/routing/corrections", responses=problems(401, 403))
async def list_corrections(
    session: Session, now: Now,
    actor: Annotated[Actor, Depends(allow(Role.admin, Role.dispatcher, Role.leader))],
    days: Annotated[float, Query(gt=0, le=366)] = 90,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[ConfusionOut]:
    """Dispatchers' corrections grouped by confusion (rules chose → was right), most frequent
    first, with phrases that would have fixed them where the texts allow."""
    report = await corrections.corrections_report(session, since=now - timedelta(days=days),
                                                  limit=limit)
    return [ConfusionOut.model_validate(c.as_dict()) for c in report]
