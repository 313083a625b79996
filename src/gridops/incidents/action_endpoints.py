"""HTTP for the lifecycle actions: `POST /incidents/{id}/<action>`, each answering the updated
incident with its `ETag`, plus the units' requests (退单, 延期, 挂起) and the dispatchers' queue."""

# No `from __future__ import annotations`: FastAPI must see the closure-built guard in `acting`
# as a real object, not a string it would resolve in this module's globals.
import dataclasses
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from gridops.auth.actor import ALL_HUMAN_ROLES, Actor, Role
from gridops.auth.policy import allow
from gridops.clock.calendar import WorkingCalendar  # noqa: F401  (deps.Calendar's forward ref)
from gridops.deps import AppSettings, Calendar, Now, Session
from gridops.errors import Invalid, problems
from gridops.incidents import actions, queries
from gridops.incidents.action_schemas import (
    ActionIn,
    CallbackIn,
    CommentIn,
    DecisionIn,
    DispatchIn,
    ExtensionDecisionIn,
    ExtensionIn,
    MergeIn,
    MessageIn,
    ReasonIn,
    RedispatchIn,
    RequestOut,
    ResolveIn,
    ReturnDecisionIn,
    ReturnIn,
    SuspensionIn,
    VerifyIn,
)
from gridops.incidents.actions import Ctx
from gridops.incidents.lifecycle import RULES, Action
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentOut

router = APIRouter(prefix="/incidents", tags=["incidents"])

_PROBLEMS = problems(403, 404, 409, 422)
IfMatch = Annotated[str | None, Header(
    description='The incident\'s ETag as last read, e.g. `"3"` (or send `version` in the body).')]


def _parse_version(if_match: str | None) -> int | None:
    if if_match is None or not if_match.strip():
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise Invalid('If-Match must carry the incident\'s ETag, e.g. "3"',
                      errors=[{"loc": ["header", "If-Match"], "msg": "not a version",
                               "type": "value_error"}])
    return int(raw)


def acting(action: Action) -> Any:
    """The actor (admitted by the roles of `action` in the state machine) and the rest of the
    action's context; the version is completed from the body by `_versioned`."""
    guard = allow(*sorted(RULES[action].roles - {Role.system}))

    async def dependency(actor: Annotated[Actor, Depends(guard)], now: Now, cal: Calendar,
                         settings: AppSettings, if_match: IfMatch = None) -> Ctx:
        return Ctx(actor=actor, now=now, cal=cal, settings=settings,
                   version=_parse_version(if_match))

    return Depends(dependency)


def _versioned(ctx: Ctx, body: ActionIn) -> Ctx:
    """Every write names the version it was based on: of two writers, one wins."""
    if ctx.version is None and body.version is None:
        raise Invalid("send the incident's version: the If-Match header or a version field",
                      errors=[{"loc": ["body", "version"], "msg": "version required",
                               "type": "missing"}])
    if ctx.version is not None and body.version is not None and ctx.version != body.version:
        raise Invalid("If-Match and version disagree")
    return dataclasses.replace(ctx, version=ctx.version or body.version)


async def _answer(session: Session, incident: Incident, ctx: Ctx,
                  response: Response) -> IncidentOut:
    response.headers["ETag"] = f'"{incident.version}"'
    return await queries.view(session, incident, actor=ctx.actor, now=ctx.now, cal=ctx.cal,
                              due_soon_share=ctx.settings.sla.due_soon_share)


Service = Callable[..., Any]


async def _run(service: Service, session: Session, incident_id: uuid.UUID, body: ActionIn,
               ctx: Ctx, response: Response) -> IncidentOut:
    ctx = _versioned(ctx, body)
    result = await service(session, incident_id, body, ctx)
    incident = result if isinstance(result, Incident) else await actions.load(
        session, incident_id, lock=False)
    return await _answer(session, incident, ctx, response)


@router.post("/{incident_id}/dispatch", responses=_PROBLEMS, summary="Dispatch (派单)")
async def dispatch_incident(incident_id: uuid.UUID, body: DispatchIn, session: Session,
                            ctx: Annotated[Ctx, acting(Action.dispatch)],
                            response: Response) -> IncidentOut:
    """From triage to one accountable unit (for `STR`, a street); starts the sign-for and resolve
    deadlines, or hands running ones to the unit after an approved return."""
    return await _run(actions.dispatch, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/accept", responses=_PROBLEMS, summary="Sign for (签收)")
async def accept_incident(incident_id: uuid.UUID, body: ActionIn, session: Session,
                          ctx: Annotated[Ctx, acting(Action.accept)],
                          response: Response) -> IncidentOut:
    """The unit takes the order: the sign-for clock stops, the order is in progress."""
    return await _run(actions.accept, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/return", responses=_PROBLEMS, summary="Ask to return (退单)")
async def request_return(incident_id: uuid.UUID, body: ReturnIn, session: Session,
                         ctx: Annotated[Ctx, acting(Action.request_return)],
                         response: Response) -> IncidentOut:
    """The unit says the order is not theirs; a dispatcher decides."""
    return await _run(actions.request_return, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/return/decision", responses=_PROBLEMS,
             summary="Decide a return (退单审核)")
async def decide_return(incident_id: uuid.UUID, body: ReturnDecisionIn, session: Session,
                        ctx: Annotated[Ctx, acting(Action.decide_return)],
                        response: Response) -> IncidentOut:
    """Approve (to triage, or straight to `unit_code`) or reject. The deadlines keep running; the
    time so far stays with the unit that returned the order."""
    return await _run(actions.decide_return, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/redispatch", responses=_PROBLEMS, summary="Redispatch (改派)")
async def redispatch_incident(incident_id: uuid.UUID, body: RedispatchIn, session: Session,
                              ctx: Annotated[Ctx, acting(Action.redispatch)],
                              response: Response) -> IncidentOut:
    """Another unit takes over the running deadlines and must sign for the order."""
    return await _run(actions.redispatch, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/extension", responses=_PROBLEMS,
             summary="Ask for more time (延期申请)")
async def request_extension(incident_id: uuid.UUID, body: ExtensionIn, session: Session,
                            ctx: Annotated[Ctx, acting(Action.request_extension)],
                            response: Response) -> IncidentOut:
    return await _run(actions.request_extension, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/extension/decision", responses=_PROBLEMS,
             summary="Decide an extension (延期审核)")
async def decide_extension(incident_id: uuid.UUID, body: ExtensionDecisionIn, session: Session,
                           ctx: Annotated[Ctx, acting(Action.decide_extension)],
                           response: Response) -> IncidentOut:
    """Approved: the resolve deadline moves by the hours granted."""
    return await _run(actions.decide_extension, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/suspension", responses=_PROBLEMS, summary="Ask to suspend (挂起申请)")
async def request_suspension(incident_id: uuid.UUID, body: SuspensionIn, session: Session,
                             ctx: Annotated[Ctx, acting(Action.request_suspension)],
                             response: Response) -> IncidentOut:
    return await _run(actions.request_suspension, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/suspension/decision", responses=_PROBLEMS,
             summary="Decide a suspension (挂起审核)")
async def decide_suspension(incident_id: uuid.UUID, body: DecisionIn, session: Session,
                            ctx: Annotated[Ctx, acting(Action.decide_suspension)],
                            response: Response) -> IncidentOut:
    """Approved: every deadline pauses until the order is resumed."""
    return await _run(actions.decide_suspension, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/resume", responses=_PROBLEMS, summary="Resume (恢复办理)")
async def resume_incident(incident_id: uuid.UUID, body: ActionIn, session: Session,
                          ctx: Annotated[Ctx, acting(Action.resume)],
                          response: Response) -> IncidentOut:
    """Back to the state it was suspended from, with the time it had left."""
    return await _run(actions.resume, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/resolve", responses=_PROBLEMS,
             summary="Reply with the result (办结反馈)")
async def resolve_incident(incident_id: uuid.UUID, body: ResolveIn, session: Session,
                           ctx: Annotated[Ctx, acting(Action.resolve)],
                           response: Response) -> IncidentOut:
    """Photos (attachments with purpose `resolve`) are required when the item standard says so."""
    return await _run(actions.resolve, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/verify", responses=_PROBLEMS, summary="Check on site (核查)")
async def verify_incident(incident_id: uuid.UUID, body: VerifyIn, session: Session,
                          ctx: Annotated[Ctx, acting(Action.verify)],
                          response: Response) -> IncidentOut:
    """By the grid worker of the incident's grid or a dispatcher: pass closes, fail is rework."""
    return await _run(actions.verify, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/callback", responses=_PROBLEMS, summary="Record the callback (回访)")
async def callback_incident(incident_id: uuid.UUID, body: CallbackIn, session: Session,
                            ctx: Annotated[Ctx, acting(Action.callback)],
                            response: Response) -> IncidentOut:
    """Satisfied or basically satisfied closes; attributable dissatisfaction is rework (重办)."""
    return await _run(actions.callback, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/reopen", responses=_PROBLEMS, summary="Reopen (重新办理)")
async def reopen_incident(incident_id: uuid.UUID, body: ReasonIn, session: Session,
                          ctx: Annotated[Ctx, acting(Action.reopen)],
                          response: Response) -> IncidentOut:
    """A closed order back to its unit within the reopen window; counted as rework."""
    return await _run(actions.reopen, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/urge", responses=_PROBLEMS, summary="Urge (催办)")
async def urge_incident(incident_id: uuid.UUID, body: MessageIn, session: Session,
                        ctx: Annotated[Ctx, acting(Action.urge)],
                        response: Response) -> IncidentOut:
    """Before a deadline has passed; after one, supervise."""
    return await _run(actions.urge, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/supervise", responses=_PROBLEMS, summary="Supervise (督办)")
async def supervise_incident(incident_id: uuid.UUID, body: MessageIn, session: Session,
                             ctx: Annotated[Ctx, acting(Action.supervise)],
                             response: Response) -> IncidentOut:
    """Once a deadline has passed."""
    return await _run(actions.supervise, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/merge", responses=_PROBLEMS, summary="Merge into another (合并)")
async def merge_incident(incident_id: uuid.UUID, body: MergeIn, session: Session,
                         ctx: Annotated[Ctx, acting(Action.merge)],
                         response: Response) -> IncidentOut:
    """This incident ends (merged); the open incident `into_id` carries on."""
    return await _run(actions.merge, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/void", responses=_PROBLEMS, summary="Void (作废)")
async def void_incident(incident_id: uuid.UUID, body: ReasonIn, session: Session,
                        ctx: Annotated[Ctx, acting(Action.void)],
                        response: Response) -> IncidentOut:
    return await _run(actions.void, session, incident_id, body, ctx, response)


@router.post("/{incident_id}/comments", responses=_PROBLEMS, summary="Comment (备注)")
async def comment_incident(incident_id: uuid.UUID, body: CommentIn, session: Session,
                           ctx: Annotated[Ctx, acting(Action.comment)],
                           response: Response) -> IncidentOut:
    """A note on the timeline (as an `incident.commented` audit event)."""
    return await _run(actions.comment, session, incident_id, body, ctx, response)


@router.get("/requests/pending", responses=problems(403), summary="Pending requests (待审核)")
async def list_pending_requests(
    session: Session, actor: Annotated[Actor, Depends(allow(*ALL_HUMAN_ROLES))],
    kind: Annotated[Literal["return", "extension", "suspension"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[RequestOut]:
    """Returns, extensions and suspensions awaiting a decision on incidents in your scope,
    oldest first: the dispatchers' queue."""
    found = await actions.pending_requests(session, actor, kind=kind, limit=limit)
    return [RequestOut.model_validate(r) for r in found]


@router.get("/{incident_id}/requests", responses=problems(403, 404),
            summary="Requests of an incident")
async def list_requests(incident_id: uuid.UUID, session: Session,
                        actor: Annotated[Actor, Depends(allow(*ALL_HUMAN_ROLES))],
                        ) -> list[RequestOut]:
    """Every return, extension and suspension request, pending and decided, oldest first."""
    found = await actions.requests_of(session, incident_id, actor)
    return [RequestOut.model_validate(r) for r in found]
