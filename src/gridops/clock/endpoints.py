from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gridops.auth.actor import Actor, Role
from gridops.auth.policy import allow
from gridops.clock import queries
from gridops.clock.schemas import SlaBoard
from gridops.deps import Calendar, Now, Session
from gridops.errors import problems

router = APIRouter(prefix="/sla", tags=["sla"])

BoardViewer = Annotated[Actor, Depends(allow(Role.dispatcher, Role.leader, Role.auditor,
                                             Role.admin, Role.unit_operator))]


@router.get("/board", responses=problems(401, 403, 422))
async def get_sla_board(
    session: Session, now: Now, cal: Calendar, actor: BoardViewer,
    per_group: Annotated[int, Query(ge=1, le=200, description="Incidents listed per group.")] = 20,
) -> SlaBoard:
    """Overdue (超期) and due-soon (即将超期) work orders by unit and by street, for the
    command-centre screen. Dispatchers see their street or community, unit operators their unit."""
    return await queries.board(session, actor, now, cal, per_group)
