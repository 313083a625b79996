"""Open311 GeoReport v2 over the incidents domain: services are item standards, requests are
incidents. Public reads never carry callers' data, and phones inside texts are masked."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import Actor, Role
from gridops.clock.calendar import WorkingCalendar
from gridops.clock.models import SlaClock
from gridops.errors import Conflict, Forbidden, NotFound
from gridops.incidents import intake
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn, Location, ReporterIn
from gridops.open311.models import Open311Client
from gridops.open311.schemas import RequestCreated, Service, ServiceDefinition, ServiceRequest
from gridops.ops.logging import scrub
from gridops.places.models import Unit
from gridops.routing import service as routing
from gridops.settings import Settings

CLOSED_STATES = ("closed", "voided", "merged")
STATUS_NOTES = {
    "triage": "已受理，待指挥中心研判派单",
    "dispatched": "已派单至{unit}，待签收",
    "in_progress": "{unit}已签收，正在办理",
    "suspended": "办理暂停（挂起），恢复后继续",
    "resolved": "{unit}已反馈办结，待核查回访",
    "closed": "已办结（结案）",
    "voided": "已作废",
    "merged": "已与同一事项合并办理",
}


def _key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def add_client(session: AsyncSession, name: str, *, now: datetime) -> tuple[Open311Client,
                                                                                  str]:
    """Register a partner; the key is returned once and stored only as a hash."""
    if await session.scalar(select(Open311Client.id).where(Open311Client.name == name)):
        raise Conflict(f"an Open311 client named {name!r} exists")
    api_key = secrets.token_urlsafe(32)
    client = Open311Client(name=name, key_hash=_key_hash(api_key), created_at=now, active=True)
    session.add(client)
    await session.flush()
    return client, api_key


async def authenticate(session: AsyncSession, api_key: str | None) -> Actor:
    if not api_key:
        raise Forbidden("api_key is required to post service requests")
    client = await session.scalar(select(Open311Client).where(
        Open311Client.key_hash == _key_hash(api_key), Open311Client.active.is_(True)))
    if client is None:
        raise Forbidden("api_key is not valid")
    return Actor(subject=f"open311:{client.name}", role=Role.system, name=client.name)


async def services(session: AsyncSession) -> list[Service]:
    rules = await routing.active_rules(session)
    return [Service(service_code=item.code, service_name=item.name, description=item.filing,
                    keywords=",".join((item.strong + item.phrases)[:6]), group=item.major)
            for item in rules.items]


async def definition(session: AsyncSession, code: str) -> ServiceDefinition:
    rules = await routing.active_rules(session)
    if rules.item(code) is None:
        raise NotFound(f"service_code {code} is not a service")
    return ServiceDefinition(service_code=code, attributes=[])


@dataclass(frozen=True, slots=True)
class NewRequest:
    service_code: str
    lat: float | None
    long: float | None
    address_string: str | None
    description: str | None
    media_url: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None


async def create(session: AsyncSession, data: NewRequest, *, actor: Actor, now: datetime,
                 cal: WorkingCalendar, settings: Settings) -> RequestCreated:
    rules = await routing.active_rules(session)
    item = rules.item(data.service_code)
    if item is None:
        raise NotFound(f"service_code {data.service_code} is not a service")
    name = " ".join(p for p in (data.last_name, data.first_name) if p) or None
    text = (data.description or "").strip() or item.name
    if data.media_url:
        text = f"{text}\n照片：{data.media_url}"
    incident = await intake.receive(
        session,
        IncidentIn(text=text[:4000], address=data.address_string, item_code_hint=item.code,
                   location=(Location(lat=data.lat, lon=data.long)
                             if data.lat is not None and data.long is not None else None),
                   reporter=ReporterIn(name=name, phone=data.phone) if name or data.phone
                   else None),
        actor=actor, now=now, cal=cal, settings=settings, channel="open311")
    return RequestCreated(service_request_id=str(incident.id),
                          service_notice=STATUS_NOTES[incident.state].format(unit="承办单位"))


@dataclass(frozen=True, slots=True)
class RequestFilter:
    ids: list[uuid.UUID] | None = None
    service_code: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    updated_after: datetime | None = None
    page: int = 1
    page_size: int = 100


async def requests(session: AsyncSession, f: RequestFilter) -> list[ServiceRequest]:
    query = select(Incident, Unit.name_zh).outerjoin(Unit, Unit.code == Incident.unit_code)
    if f.ids:
        query = query.where(Incident.id.in_(f.ids))
    if f.service_code:
        query = query.where(Incident.item_code.in_(f.service_code))
    if f.start:
        query = query.where(Incident.created_at >= f.start)
    if f.end:
        query = query.where(Incident.created_at <= f.end)
    if f.updated_after:
        query = query.where(Incident.updated_at > f.updated_after)
    if f.status == "open":
        query = query.where(Incident.state.not_in(CLOSED_STATES))
    elif f.status == "closed":
        query = query.where(Incident.state.in_(CLOSED_STATES))
    query = (query.order_by(Incident.created_at.desc(), Incident.id)
             .offset((f.page - 1) * f.page_size).limit(f.page_size))
    rows = (await session.execute(query)).all()
    due = await _resolve_due(session, [incident.id for incident, _ in rows])
    return [_as_request(incident, unit_name, due.get(incident.id)) for incident, unit_name in rows]


async def _resolve_due(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    if not ids:
        return {}
    rows = await session.execute(
        select(SlaClock.incident_id, SlaClock.due_at).where(
            SlaClock.incident_id.in_(ids), SlaClock.kind == "resolve")
        .order_by(SlaClock.incident_id, SlaClock.round))
    return dict(rows.all())  # the latest round wins


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _as_request(incident: Incident, unit_name: str | None,
                due: datetime | None) -> ServiceRequest:
    description: Any = None if incident.reporter_confidential else scrub(incident.text)
    return ServiceRequest(
        service_request_id=str(incident.id),
        status="closed" if incident.state in CLOSED_STATES else "open",
        status_notes=STATUS_NOTES.get(incident.state, incident.state).format(
            unit=unit_name or "承办单位"),
        service_name=incident.item_name, service_code=incident.item_code,
        description=description, agency_responsible=unit_name,
        requested_datetime=_iso(incident.created_at) or "",
        updated_datetime=_iso(incident.updated_at) or "",
        expected_datetime=_iso(due) if incident.state not in CLOSED_STATES else None,
        address=incident.address, lat=incident.lat, long=incident.lon,
    )


async def one(session: AsyncSession, request_id: str) -> ServiceRequest:
    try:
        ident = uuid.UUID(request_id)
    except ValueError:
        raise NotFound(f"service request {request_id} not found") from None
    found = await requests(session, RequestFilter(ids=[ident], page_size=1))
    if not found:
        raise NotFound(f"service request {request_id} not found")
    return found[0]
