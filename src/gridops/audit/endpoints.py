from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gridops.audit import queries
from gridops.audit import service as audit
from gridops.audit.schemas import AuditEventOut, AuditPage, BreakOut, VerifyOut
from gridops.auth.actor import Actor, Role
from gridops.auth.policy import allow
from gridops.deps import Session
from gridops.errors import Invalid, problems

router = APIRouter(prefix="/audit", tags=["audit"])

Auditor = Annotated[Actor, Depends(allow(Role.auditor, Role.admin, Role.leader))]


@router.get("/verify", summary="Recompute every hash chain and name the first broken link",
            responses=problems(401, 403))
async def verify_chains(session: Session, actor: Auditor,
                        stream: Annotated[str | None, Query(max_length=64)] = None) -> VerifyOut:
    report = await audit.verify(session, stream=stream)
    breaks = [BreakOut(stream=b.stream, seq=b.seq, event_id=b.event_id, problem=b.problem)
              for b in report.breaks]
    return VerifyOut(ok=report.ok, streams=report.streams, events=report.events,
                     first_break=breaks[0] if breaks else None, breaks=breaks)


@router.get("/events", summary="All audit events, oldest first, with a cursor",
            responses=problems(401, 403, 422))
async def list_audit_events(
    session: Session, actor: Auditor,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    updated_after: Annotated[datetime | None, Query()] = None,
    action: Annotated[str | None, Query(max_length=48)] = None,
    incident_id: uuid.UUID | None = None,
    actor_subject: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    after_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise Invalid("cursor is not one this service issued")
        after_id = int(cursor)
    if updated_after is not None and updated_after.tzinfo is None:
        raise Invalid("updated_after needs a UTC offset")
    events = await queries.feed(session, after_id=after_id, updated_after=updated_after,
                                action=action, incident_id=incident_id,
                                actor_subject=actor_subject, limit=limit)
    items = [AuditEventOut.model_validate(e) for e in events]
    return AuditPage(items=items,
                     next_cursor=str(items[-1].id) if len(items) == limit else None)
