from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import allow
from gridops.deps import Now, Session
from gridops.errors import problems
from gridops.outbox import service as outbox

router = APIRouter(prefix="/outbox", tags=["outbox"])

Admin = Annotated[Actor, Depends(allow(Role.admin))]


class OutboxMessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: uuid.UUID
    topic: str
    ordering_key: str
    incident_id: uuid.UUID | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    available_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class OutboxPage(BaseModel):
    items: list[OutboxMessageOut]
    depth: dict[str, int]
    next_cursor: int | None


@router.get("/messages", summary="Outbound messages, parked ones first to look at",
            responses=problems(401, 403, 422))
async def list_outbox_messages(
    session: Session, actor: Admin,
    state: Literal["pending", "delivered", "parked"] | None = "parked",
    topic: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> OutboxPage:
    rows = await outbox.listing(session, state=state, topic=topic, after_id=cursor, limit=limit)
    items = [OutboxMessageOut.model_validate(m) for m in rows]
    return OutboxPage(items=items, depth=await outbox.depth(session),
                      next_cursor=items[-1].id if len(items) == limit else None)


@router.post("/messages/{message_id}/replay", summary="Queue a parked message again",
             responses=problems(401, 403, 404, 409))
async def replay_outbox_message(message_id: Annotated[int, Path(ge=1, le=2**62)],
                                session: Session, now: Now,
                                actor: Admin) -> OutboxMessageOut:
    message = await outbox.replay(session, message_id, actor=actor, now=now)
    return OutboxMessageOut.model_validate(message)
