"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), JSON and XML.

Errors use the spec's form, a list of {code, description}, not problem+json: that is what
Open311 clients parse."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from gridops.deps import AppSettings, Calendar, Now, Session
from gridops.errors import GridopsError
from gridops.open311 import format as fmt_
from gridops.open311 import service
from gridops.open311.schemas import (
    Open311Error,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
)

router = APIRouter(prefix="/open311/v2", tags=["open311"])

Format = Literal["json", "xml"]
_XML = {"text/xml": {"schema": {"type": "string", "description": "the same document as XML"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[Open311Error], "description": text, "content": _XML}
    for code, text in ((400, "Invalid request"), (403, "Invalid api_key"),
                       (404, "Not found"))
}
OK: dict[int | str, dict[str, Any]] = {200: {"content": _XML}, **ERRORS}
CREATED: dict[int | str, dict[str, Any]] = {201: {"content": _XML}, **ERRORS}


async def _answer(fmt: Format, root: str, work: Callable[[], Awaitable[Any]],
                  status: int = 200) -> Response:
    try:
        result = await work()
    except GridopsError as exc:
        code = 400 if exc.status == 422 else exc.status
        return fmt_.errors(fmt, code, exc.detail or exc.title)
    if isinstance(result, list):
        body: Any = [r.model_dump(mode="json") for r in result]
    else:
        body = result.model_dump(mode="json")
    return fmt_.render(fmt, root, body, status)


@router.get("/services.{fmt}", summary="Service list: the item standards, grouped by category",
            response_model=list[Service], responses=OK)
async def list_services(fmt: Format, session: Session) -> Response:
    return await _answer(fmt, "services", lambda: service.services(session))


@router.get("/services/{service_code}.{fmt}", summary="Service definition",
            response_model=ServiceDefinition, responses=OK)
async def get_service_definition(service_code: str, fmt: Format, session: Session) -> Response:
    return await _answer(fmt, "service_definition",
                         lambda: service.definition(session, service_code))


@router.post("/requests.{fmt}", summary="Create a service request (form-encoded, api_key)",
             response_model=list[RequestCreated], status_code=201, responses=CREATED,
             openapi_extra={"x-auth": "api_key form field of a registered partner client"})
async def create_service_request(
    fmt: Format, session: Session, now: Now, cal: Calendar, settings: AppSettings,
    service_code: Annotated[str, Form(max_length=16)],
    api_key: Annotated[str | None, Form(max_length=200)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=300)] = None,
    address_id: Annotated[str | None, Form(max_length=64)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    media_url: Annotated[str | None, Form(max_length=1000)] = None,
    email: Annotated[str | None, Form(max_length=200)] = None,
    device_id: Annotated[str | None, Form(max_length=200)] = None,
    account_id: Annotated[str | None, Form(max_length=200)] = None,
    first_name: Annotated[str | None, Form(max_length=32)] = None,
    last_name: Annotated[str | None, Form(max_length=32)] = None,
    phone: Annotated[str | None, Form(max_length=32)] = None,
) -> Response:
    async def work() -> list[RequestCreated]:
        actor = await service.authenticate(session, api_key)
        if (lat is None or long is None) and not address_string:
            return _location_missing()
        data = service.NewRequest(service_code=service_code, lat=lat, long=long,
                                  address_string=address_string, description=description,
                                  media_url=media_url, first_name=first_name,
                                  last_name=last_name, phone=phone, email=email)
        return [await service.create(session, data, actor=actor, now=now, cal=cal,
                                     settings=settings)]

    return await _answer(fmt, "service_requests", work, status=201)


def _location_missing() -> list[RequestCreated]:
    from gridops.errors import Invalid

    raise Invalid("a location is required: lat and long, or address_string")


@router.get("/requests.{fmt}", summary="Service requests, newest first",
            response_model=list[ServiceRequest], responses=OK)
async def list_service_requests(
    fmt: Format, session: Session,
    service_request_id: Annotated[str | None, Query(max_length=4000)] = None,
    service_code: Annotated[str | None, Query(max_length=400)] = None,
    start_date: datetime | None = None, end_date: datetime | None = None,
    status: Literal["open", "closed"] | None = None,
    updated_after: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    async def work() -> list[ServiceRequest]:
        ids = _ids(service_request_id)
        if ids is not None and not ids:
            return []
        for name, value in (("start_date", start_date), ("end_date", end_date),
                            ("updated_after", updated_after)):
            if value is not None and value.tzinfo is None:
                from gridops.errors import Invalid

                raise Invalid(f"{name} needs a UTC offset (W3C datetime)")
        return await service.requests(session, service.RequestFilter(
            ids=ids, service_code=service_code.split(",") if service_code else None,
            start=start_date, end=end_date, status=status, updated_after=updated_after,
            page=page, page_size=page_size))

    return await _answer(fmt, "service_requests", work)


def _ids(raw: str | None) -> list[uuid.UUID] | None:
    if raw is None:
        return None
    ids = []
    for part in raw.split(","):
        try:
            ids.append(uuid.UUID(part.strip()))
        except ValueError:
            continue  # an id this service never issued matches nothing
    return ids


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request",
            response_model=list[ServiceRequest], responses=OK)
async def get_service_request(service_request_id: str, fmt: Format,
                              session: Session) -> Response:
    async def work() -> list[ServiceRequest]:
        return [await service.one(session, service_request_id)]

    return await _answer(fmt, "service_requests", work)


def open311_validation_error(request: Request, errors: list[dict[str, Any]]) -> Response:
    """FastAPI's validation errors on an Open311 path, in the spec's error form."""
    fmt: Format = "xml" if request.url.path.endswith(".xml") else "json"
    descriptions = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in errors]
    return fmt_.errors(fmt, 400, *descriptions)
