"""HTTP edge of incident intake and reads: parse, check role, call one service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile as FormFile

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import ANY_ROLE, allow
from gridops.clock.calendar import WorkingCalendar
from gridops.deps import AppSettings, Calendar, Now, Session, statements_commit_alone
from gridops.errors import Invalid, NotFound, UnsupportedMediaType, problems
from gridops.incidents import idempotency, intake, queries, storage
from gridops.incidents.models import Attachment
from gridops.incidents.schemas import (
    AttachmentOut,
    Channel,
    EventOut,
    IncidentIn,
    IncidentOut,
    IncidentPage,
    State,
    Urgency,
)
from gridops.ops.schema import inline_schema
from gridops.settings import Settings

router = APIRouter(prefix="/incidents", tags=["incidents"])

CODE = r"^[0-9A-Za-z]+$"
Creator = Annotated[Actor, Depends(allow(Role.grid_worker, Role.dispatcher))]
Reader = Annotated[Actor, Depends(allow(*ANY_ROLE))]


async def _storage(request: Request) -> storage.Storage:
    # One store per app; a deployment can put another implementation on app.state.storage.
    # async: a plain def dependency would cost a thread-pool hop per request.
    store: storage.Storage | None = getattr(request.app.state, "storage", None)
    if store is None:
        settings: Settings = request.app.state.settings
        store = storage.LocalStorage(settings.storage.path)
        request.app.state.storage = store
    return store


Store = Annotated[storage.Storage, Depends(_storage)]


_INTAKE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": inline_schema(IncidentIn)},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["data"],
        "properties": {
            "data": {"type": "string", "description": "The IncidentIn document as JSON."},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"},
                       "description": f"Up to {storage.MAX_FILES} JPEG, PNG or WebP photos."},
        }}},
}}}


def _validation(exc: ValidationError, *prefix: str) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (*prefix, *e["loc"])}
                                   for e in exc.errors(include_url=False)])


async def _read_intake(request: Request, settings: Settings,
                       ) -> tuple[IncidentIn, list[storage.Upload]]:
    """JSON, or multipart with a `data` JSON part and `photos` files."""
    content_type = request.headers.get("content-type", "application/json").lower()
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form(max_files=storage.MAX_FILES + 1) as form:
            raw = form.get("data")
            if raw is None:
                raise Invalid("the multipart body needs a `data` part", errors=[
                    {"loc": ["body", "data"], "msg": "Field required", "type": "missing"}])
            text = await raw.read() if isinstance(raw, FormFile) else raw
            try:
                data = IncidentIn.model_validate_json(text)
            except ValidationError as exc:
                raise _validation(exc, "body", "data") from None
            files = [f for f in form.getlist("photos") if isinstance(f, FormFile)]
            return data, await storage.read_uploads(files, settings.storage)
    if not content_type.startswith("application/json"):
        raise UnsupportedMediaType("send application/json or multipart/form-data")
    try:
        return IncidentIn.model_validate_json(await request.body()), []
    except ValidationError as exc:
        raise _validation(exc, "body") from None


def _json(model: BaseModel, status_code: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json", headers=headers)


_ANY_ID = "00000000-0000-0000-0000-000000000000"


def _location(request: Request, incident_id: str) -> str:
    """`request.url_for("get_incident", …)`, whose route search cost more than the rest of
    the answer: the app's path of an incident is looked up once, then only the id changes."""
    path: str | None = getattr(request.app.state, "incident_path", None)
    if path is None:
        provider = request.scope.get("router") or request.scope["app"]  # as url_for does
        path = str(provider.url_path_for("get_incident", incident_id=_ANY_ID))
        request.app.state.incident_path = path
    # What URLPath.make_absolute_url builds from the base URL (which holds no query), as text.
    return str(request.base_url).rstrip("/") + path.replace(_ANY_ID, incident_id)


def _created_headers(request: Request, incident_id: str, version: int) -> dict[str, str]:
    return {"Location": _location(request, incident_id), "ETag": f'"{version}"'}


def _created(request: Request, body: dict[str, Any], status_code: int,
             replayed: bool = False) -> JSONResponse:
    headers = _created_headers(request, body["id"], body["version"])
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status_code, headers=headers)


@router.post("", status_code=201, response_model=IncidentOut, openapi_extra=_INTAKE_BODY,
             summary="Report an incident (受理)",
             responses=problems(401, 403, 409, 413, 415, 422, 503))
async def receive_incident(
    request: Request, session: Session, now: Now, actor: Creator,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="Same key and body: the first answer again; "
        "same key, other body: 409.")] = None,
) -> Response:
    """Place, route and (when the router is sure) dispatch a new incident; otherwise it waits in
    triage. Grid workers report in their own grid; `resolved_on_spot` (就地解决) goes straight to
    verification. JSON, or multipart/form-data with a `data` JSON part and `photos`."""
    # The settings, the calendar and the store straight from the app: as dependencies, each
    # cost FastAPI more than what it returns (the busiest endpoint; the others keep them).
    settings: Settings = request.app.state.settings
    cal: WorkingCalendar = request.app.state.calendar
    data, uploads = await _read_intake(request, settings)
    if idempotency_key is None and not uploads:
        # Reads, then one statement writing everything (PostgreSQL): atomic without a
        # transaction around it. A key or photos write more than once: those keep it.
        await statements_commit_alone(session)
    claim = None
    if idempotency_key is not None:
        fingerprint = idempotency.request_hash(data.model_dump(mode="json"),
                                               [u.sha256 for u in uploads])
        claim = await idempotency.claim(session, subject=actor.subject,
                                        key=idempotency.check_key(idempotency_key),
                                        fingerprint=fingerprint, now=now)
        if claim.replay:
            return _created(request, claim.response, claim.status_code, replayed=True)
    channel = data.channel or ("grid_app" if actor.role is Role.grid_worker else "walk_in")
    [received] = await intake.receive_many(
        session, [intake.NewIncident(data, channel, photos=uploads)], actor=actor, now=now,
        cal=cal, settings=settings, store=await _storage(request) if uploads else None)
    assert received is not None  # no external id: nothing to conflict with
    out = queries.fresh_view(received.row, received.clocks, received.attachments,
                             actor=actor, now=now, cal=cal,
                             due_soon_share=settings.sla.due_soon_share)
    if claim is None:
        # Serialised once, by pydantic, straight to bytes.
        return _json(out, 201, _created_headers(request, str(out.id), out.version))
    body = out.model_dump(mode="json")
    await idempotency.complete(session, claim, 201, body)
    return _created(request, body, 201)


@router.get("", summary="List incidents in your scope", response_model=IncidentPage,
            responses=problems(401, 403, 422))
async def list_incidents(
    session: Session, now: Now, settings: AppSettings, cal: Calendar, actor: Reader,
    state: Annotated[list[State] | None, Query(description="Repeat for several.")] = None,
    unit: Annotated[str | None, Query(max_length=8, pattern=CODE)] = None,
    street: Annotated[str | None, Query(max_length=16, pattern=CODE)] = None,
    community: Annotated[str | None, Query(max_length=20, pattern=CODE)] = None,
    grid: Annotated[str | None, Query(max_length=24, pattern=CODE)] = None,
    item: Annotated[str | None, Query(max_length=16, pattern=CODE)] = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    overdue: Annotated[bool | None, Query(description="A running deadline is past.")] = None,
    due_before: Annotated[AwareDatetime | None, Query()] = None,
    created_from: Annotated[AwareDatetime | None, Query()] = None,
    created_to: Annotated[AwareDatetime | None, Query(description="Exclusive.")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$",
                                   description="Text, title or address contains.")] = None,
    sort: queries.SortKey = "created_at",
    order: Literal["asc", "desc"] = "desc",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    """Filtered, sorted, cursor-paginated; callers' data masked per role. `sort=due` orders by
    the next running deadline (incidents without one come last)."""
    filters = queries.Filters(
        state=tuple(state or ()), unit=unit, street=street, community=community, grid=grid,
        item=item, channel=channel, urgency=urgency, overdue=overdue, due_before=due_before,
        created_from=created_from, created_to=created_to, q=q)
    incidents, next_cursor = await queries.page(session, actor, filters, now=now, sort=sort,
                                                order=order, cursor=cursor, limit=limit)
    items = await queries.views(session, incidents, actor=actor, now=now, cal=cal,
                                due_soon_share=settings.sla.due_soon_share)
    # Serialised once by pydantic: returning the model would have FastAPI validate it again.
    return _json(IncidentPage(items=items, next_cursor=next_cursor))


@router.get("/{incident_id}", summary="One incident", name="get_incident",
            response_model=IncidentOut,
            responses=problems(401, 403, 404, 422))
async def get_incident(incident_id: uuid.UUID, session: Session, now: Now,
                       settings: AppSettings, cal: Calendar, actor: Reader) -> Response:
    """The whole incident: routing decision, deadlines, counters; `ETag` is its version."""
    incident = await queries.get_visible(session, incident_id, actor)
    return _json(await queries.view(session, incident, actor=actor, now=now, cal=cal,
                                    due_soon_share=settings.sla.due_soon_share),
                 headers={"ETag": f'"{incident.version}"'})


@router.get("/{incident_id}/events", summary="The incident's audit timeline",
            responses=problems(401, 403, 404, 422))
async def incident_events(incident_id: uuid.UUID, session: Session,
                          actor: Reader) -> list[EventOut]:
    await queries.get_visible(session, incident_id, actor)
    return [EventOut.model_validate(e) for e in await queries.timeline(session, incident_id)]


@router.post("/{incident_id}/attachments", status_code=201, summary="Attach photos",
             responses=problems(401, 403, 404, 409, 413, 415, 422))
async def attach_files(
    incident_id: uuid.UUID, session: Session, now: Now, settings: AppSettings, actor: Reader,
    store: Store, photos: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP.")],
    purpose: Annotated[Literal["report", "resolve", "verify", "comment"], Form()] = "report",
) -> list[AttachmentOut]:
    """Add files to an open incident in your scope; recorded as `incident.attached`."""
    incident = await queries.get_visible(session, incident_id, actor)
    uploads = await storage.read_uploads(photos, settings.storage)
    rows = await storage.attach(session, store, incident, uploads, purpose=purpose, actor=actor,
                                now=now)
    return [AttachmentOut.model_validate(a) for a in rows]


@router.get("/{incident_id}/attachments/{attachment_id}", summary="Download an attachment",
            response_class=Response, responses={
                200: {"content": {t: {} for t in ("image/jpeg", "image/png", "image/webp")},
                      "description": "The file."}, **problems(401, 403, 404, 422)})
async def download_attachment(incident_id: uuid.UUID, attachment_id: uuid.UUID,
                              session: Session, actor: Reader, store: Store) -> Response:
    await queries.get_visible(session, incident_id, actor)
    attachment = await session.scalar(select(Attachment).where(
        Attachment.id == attachment_id, Attachment.incident_id == incident_id))
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist on this incident")
    data = await store.get(attachment.storage_key)
    return Response(data, media_type=attachment.content_type, headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=86400, immutable",
        "ETag": f'"{attachment.sha256}"'})

