"""Taking a batch of hotline orders: each order is its own unit of work (a savepoint), so a
rejected order never undoes the others, and the caller's one transaction commits the rest.

Versions decide what an order means: the same (order_no, version) again is `duplicate`, an older
version than the stored one is `stale`, a newer one is applied. (channel, external_id) is unique
in the database, so concurrent deliveries of one order cannot make two incidents: the loser of the
race sees the winner's row and answers from it. Orders are applied sorted by (order_no, version)
so two batches touching the same orders take their row locks in one order and cannot deadlock.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.auth.actor import HOTLINE
from gridops.clock.calendar import WorkingCalendar
from gridops.errors import GridopsError, Invalid
from gridops.hotline import amend
from gridops.hotline.schemas import Order, Result, Status
from gridops.incidents import actions, intake
from gridops.incidents.action_schemas import CallbackIn, ReasonIn
from gridops.incidents.models import Incident
from gridops.incidents.schemas import IncidentIn, Location, ReporterIn
from gridops.settings import Settings

CHANNEL = "hotline_12345"
log = logging.getLogger("gridops.hotline")


@dataclass(slots=True)
class Known:
    incident_id: uuid.UUID
    version: int | None


class _Exists(Exception):
    """Someone else received this order first (a concurrent delivery)."""


def parse(raw: Any) -> Order | Result:
    try:
        return Order.model_validate(raw)
    except ValidationError as exc:
        fields = raw if isinstance(raw, dict) else {}
        order_no, version = fields.get("order_no"), fields.get("version")
        return Result(order_no=order_no if isinstance(order_no, str) else None,
                      version=version if type(version) is int else None, status="rejected",
                      errors=_errors(exc))


def _errors(exc: ValidationError, prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_input=False)]


def _result(order: Order, status: Status, incident_id: uuid.UUID | None = None,
            errors: list[dict[str, Any]] | None = None) -> Result:
    return Result(order_no=order.order_no, version=order.version, status=status,
                  incident_id=incident_id, errors=errors or [])


def _rejected(order: Order, exc: GridopsError) -> Result:
    errors = exc.extensions.get("errors") or [
        {"loc": ["orders", order.order_no], "msg": exc.detail or exc.title, "type": exc.slug}]
    return _result(order, "rejected", errors=list(errors))


# One index probe per order on (channel, external_id). With an IN list (or a join) the planner,
# short of table statistics, may read every hotline incident by channel and filter the numbers;
# the LIMIT (the key is unique) keeps the subquery a probe per order.
_KNOWN = text("""
SELECT i.external_id, i.id, i.external_version
FROM unnest(CAST(:order_nos AS varchar[])) AS o(order_no)
CROSS JOIN LATERAL (SELECT external_id, id, external_version FROM incident
                    WHERE channel = :channel AND external_id = o.order_no LIMIT 1) AS i""")


async def _known(session: AsyncSession, order_nos: Sequence[str]) -> dict[str, Known]:
    if not order_nos:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        rows = (await session.execute(_KNOWN, {"order_nos": sorted(set(order_nos)),
                                               "channel": CHANNEL})).all()
    else:
        rows = (await session.execute(
            select(Incident.external_id, Incident.id, Incident.external_version)
            .where(Incident.channel == CHANNEL, Incident.external_id.in_(set(order_nos))))).all()
    return {r.external_id: Known(r.id, r.external_version) for r in rows}


async def _locked(session: AsyncSession, order_no: str) -> Incident | None:
    return await session.scalar(
        select(Incident).where(Incident.channel == CHANNEL, Incident.external_id == order_no)
        .with_for_update().execution_options(populate_existing=True))


def _by_version(order: Order, stored: int | None) -> Status | None:
    """`duplicate` or `stale` when the stored version already covers this one; None: apply."""
    if stored is None or order.version > stored:
        return None
    return "duplicate" if order.version == stored else "stale"


async def ingest(session: AsyncSession, orders: Sequence[Any], *, now: datetime,
                 cal: WorkingCalendar, settings: Settings, bulk: bool = True) -> list[Result]:
    """One result per order, in the order sent; flushes, never commits. With `bulk`, the batch's
    new orders are received together first (`intake.receive_many`); the rest go one by one."""
    parsed = [parse(raw) for raw in orders]
    valid = [(n, p) for n, p in enumerate(parsed) if isinstance(p, Order)]
    known = await _known(session, [order.order_no for _, order in valid])
    ctx = actions.Ctx(actor=HOTLINE, now=now, cal=cal, settings=settings)
    results: list[Result | None] = [p if isinstance(p, Result) else None for p in parsed]
    if bulk:
        await _receive_new(session, valid, known, results, ctx)
    for n, order in sorted(valid, key=lambda pair: (pair[1].order_no, pair[1].version)):
        if results[n] is not None:
            continue
        result = await _one(session, order, known.get(order.order_no), ctx)
        if result.status in ("created", "updated") and result.incident_id is not None:
            known[order.order_no] = Known(result.incident_id, order.version)
        results[n] = result
    return [r for r in results if r is not None]


async def _receive_new(session: AsyncSession, valid: list[tuple[int, Order]],
                       known: dict[str, Known], results: list[Result | None],
                       ctx: actions.Ctx) -> None:
    """The orders seen for the first time, once each in this batch, all at once
    (`intake.receive_many`: a handful of statements for the whole batch). Whatever it does not
    take (an order inserted meanwhile by another delivery, or all of them when it fails) is left
    for the one-by-one path."""
    times = Counter(order.order_no for _, order in valid)
    fresh: list[tuple[int, Order, IncidentIn]] = []
    for n, order in valid:
        if order.event == "created" and order.order_no not in known \
                and times[order.order_no] == 1:
            try:
                fresh.append((n, order, _incident_in(order)))
            except GridopsError as exc:
                results[n] = _rejected(order, exc)
    if not fresh:
        return
    # In (order_no, version) order, as the one-by-one path applies them: an earlier order can
    # be a later one's possible duplicate either way.
    fresh.sort(key=lambda f: f[1].order_no)
    try:
        async with session.begin_nested():
            received = await intake.receive_many(
                session, [intake.NewIncident(data, CHANNEL, o.order_no, o.version,
                                             source_received_at=o.received_at,
                                             source_deadline=o.deadline)
                          for _, o, data in fresh],
                actor=HOTLINE, now=ctx.now, cal=ctx.cal, settings=ctx.settings)
    except Exception:  # a failed fast path must not lose orders: the slow path takes them all
        log.warning("hotline fast path failed; receiving one by one", exc_info=True)
        return
    for (n, order, _), incident in zip(fresh, received, strict=True):
        if incident is not None:
            results[n] = _result(order, "created", incident.id)
            known[order.order_no] = Known(incident.id, order.version)


async def _one(session: AsyncSession, order: Order, seen: Known | None,
               ctx: actions.Ctx) -> Result:
    if seen is not None and (status := _by_version(order, seen.version)) is not None:
        return _result(order, status, seen.incident_id)  # the common replay: no write at all
    try:
        try:
            async with session.begin_nested():
                return await _apply(session, order, ctx=ctx,
                                    creating=seen is None and order.event == "created")
        except (IntegrityError, _Exists):
            # A concurrent delivery inserted it first; its row is committed (or we waited on
            # its lock until it was), so applying again now sees it.
            async with session.begin_nested():
                return await _apply(session, order, creating=False, ctx=ctx)
    except GridopsError as exc:
        return _rejected(order, exc)


async def _apply(session: AsyncSession, order: Order, *, creating: bool,
                 ctx: actions.Ctx) -> Result:
    incident = None if creating else await _locked(session, order.order_no)
    if incident is None:
        if order.event == "created":
            return _result(order, "created", (await _create(session, order, ctx)).id)
        return _result(order, "rejected", errors=[{
            "loc": ["orders", order.order_no], "type": "unknown_order",
            "msg": f"order {order.order_no} was never received: nothing to {order.event}"}])
    if (status := _by_version(order, incident.external_version)) is not None:
        return _result(order, status, incident.id)
    if order.event in ("created", "updated"):
        await amend.amend(session, incident, order, _incident_in(order), ctx)
    elif order.event == "withdrawn":
        await _withdraw(session, incident, order, ctx)
    else:
        await _callback(session, incident, order, ctx)
    return _result(order, "updated", incident.id)


def _incident_in(order: Order) -> IncidentIn:
    caller = order.caller
    try:
        return IncidentIn(
            text=order.content or "", title=order.title, address=order.address,
            location=Location(lat=order.location.lat, lon=order.location.lon)
            if order.location else None,
            category=order.category, source_kind=order.kind,
            # The hotline may raise urgency; "normal" leaves it to the item standard, so a gas
            # leak reported as normal still runs on the urgent clock.
            urgent=True if order.urgency == "urgent" else None,
            reporter=ReporterIn(name=caller.name, phone=caller.phone,
                                confidential=caller.confidential) if caller else None)
    except ValidationError as exc:
        raise Invalid("the order does not make a valid incident",
                      errors=_errors(exc, ("orders", order.order_no))) from None


async def _create(session: AsyncSession, order: Order, ctx: actions.Ctx) -> Incident:
    data = _incident_in(order)
    try:
        return await intake.receive(session, data, actor=HOTLINE, now=ctx.now, cal=ctx.cal,
                                    settings=ctx.settings, channel=CHANNEL,
                                    external_id=order.order_no,
                                    external_version=order.version,
                                    source_received_at=order.received_at,
                                    source_deadline=order.deadline)
    except GridopsError as exc:
        if exc.status == 409 and "incident_id" in exc.extensions:
            raise _Exists from None
        raise


async def _withdraw(session: AsyncSession, incident: Incident, order: Order,
                    ctx: actions.Ctx) -> None:
    """The caller withdrew (撤单): void it, unless a unit already took it on."""
    if incident.state != "voided":
        reason = order.comment or "热线撤单 (order withdrawn by the 12345 hotline)"
        await actions.void(session, incident.id, ReasonIn(reason=reason), ctx)
    incident.external_version = order.version
    await session.flush()


async def _callback(session: AsyncSession, incident: Incident, order: Order,
                    ctx: actions.Ctx) -> None:
    assert order.resolved is not None
    assert order.satisfaction is not None
    data = CallbackIn(resolved=order.resolved, satisfaction=order.satisfaction,
                      comment=order.comment)
    await actions.callback(session, incident.id, data, ctx)
    incident.external_version = order.version
    await session.flush()
