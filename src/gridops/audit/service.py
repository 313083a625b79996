"""Append hash-chained audit events in the caller's transaction, and verify the chains."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.audit.models import AuditEvent
from gridops.auth.actor import Actor

if TYPE_CHECKING:
    from gridops.incidents.models import Incident

GENESIS = "0" * 64


def stream_of(incident_id: uuid.UUID) -> str:
    return f"incident:{incident_id}"


def digest(event: AuditEvent) -> str:
    """SHA-256 over every field that matters, in a canonical form, chained to prev_hash."""
    body = {
        "stream": event.stream, "seq": event.seq,
        "incident_id": str(event.incident_id) if event.incident_id else None,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": [event.actor_role, event.actor_unit, event.actor_subject],
        "action": event.action, "from": event.from_state, "to": event.to_state,
        "note": event.note, "changes": event.changes, "prev": event.prev_hash,
    }
    raw = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                     default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


async def record(session: AsyncSession, action: str, *, actor: Actor, at: datetime,
                 incident: Incident | None = None, from_state: str | None = None,
                 to_state: str | None = None, note: str | None = None,
                 changes: dict[str, Any] | None = None, stream: str | None = None) -> AuditEvent:
    """Append one event to its chain. Incident chains are serialised by the incident's row
    version; other streams rely on the (stream, seq) unique key."""
    # The hash covers `at` as stored (UTC), so it must be hashed in UTC too.
    at = at.astimezone(UTC)
    if incident is not None and incident.id is None:
        await session.flush()
    stream = stream or (stream_of(incident.id) if incident is not None else "system")
    last = (await session.execute(
        select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.stream == stream)
        .order_by(AuditEvent.seq.desc()).limit(1))).first()
    event = AuditEvent(
        stream=stream, seq=(last.seq + 1) if last else 1,
        incident_id=incident.id if incident is not None else None,
        at=at, actor_role=actor.role.value, actor_unit=_actor_unit(actor),
        actor_subject=actor.subject, action=action, from_state=from_state, to_state=to_state,
        note=note, changes=_jsonable(changes or {}), prev_hash=last.hash if last else GENESIS,
    )
    event.hash = digest(event)
    session.add(event)
    await session.flush()
    return event


def _actor_unit(actor: Actor) -> str | None:
    if actor.unit_code and actor.street_code:
        return f"{actor.unit_code}:{actor.street_code}"
    return actor.scope_label


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@dataclass(frozen=True, slots=True)
class Break:
    stream: str
    seq: int
    event_id: int | None
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    streams: int
    events: int
    breaks: list[Break]

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify(session: AsyncSession, *, stream: str | None = None,
                 batch: int = 5000) -> VerifyReport:
    """Recompute every chain; report the first broken link of each broken stream: an edited event
    (hash mismatch), a deleted one (gap in seq or prev_hash not the predecessor's hash)."""
    query = select(AuditEvent).order_by(AuditEvent.stream, AuditEvent.seq)
    if stream:
        query = query.where(AuditEvent.stream == stream)
    breaks: list[Break] = []
    current, expected_seq, prev_hash, broken = None, 1, GENESIS, False
    events = streams = 0
    result = await session.stream_scalars(query.execution_options(yield_per=batch))
    async for event in result:
        events += 1
        if event.stream != current:
            current, expected_seq, prev_hash, broken = event.stream, 1, GENESIS, False
            streams += 1
        if broken:
            continue
        problem = None
        if event.seq != expected_seq:
            problem = f"event(s) {expected_seq}..{event.seq - 1} missing (deleted)"
        elif event.prev_hash != prev_hash:
            problem = "prev_hash does not match the previous event"
        elif digest(event) != event.hash:
            problem = "content does not match its hash (edited)"
        if problem:
            breaks.append(Break(event.stream, event.seq, event.id, problem))
            broken = True
        expected_seq, prev_hash = event.seq + 1, event.hash
    return VerifyReport(streams=streams, events=events, breaks=breaks)


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)
