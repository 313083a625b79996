"""Append hash-chained audit events in the caller's transaction, and verify the chains."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, func, insert, select, text
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


@dataclass(frozen=True, slots=True)
class Entry:
    """One event for `record_many`, on the chain of `incident_id`."""

    incident_id: uuid.UUID
    action: str
    note: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    from_state: str | None = None
    to_state: str | None = None


async def record_many(session: AsyncSession, entries: Sequence[Entry], *, actor: Actor,
                      at: datetime) -> int:
    """Append `entries` to their incidents' chains in the order given (several on one chain are
    fine), hashed exactly as `record` does, in one INSERT. As with `record`, the caller holds the
    incidents' rows so no one else appends to those chains meanwhile; the (stream, seq) unique
    key is the backstop. Returns the number of events written."""
    if not entries:
        return 0
    heads = await _heads(session, {stream_of(e.incident_id) for e in entries})
    return await _append(session, entries, heads, actor=actor, at=at)


async def record_first(session: AsyncSession, entries: Sequence[Entry], *, actor: Actor,
                       at: datetime) -> int:
    """`record_many` for chains known to be empty (the events of an incident being created in
    this transaction): no head is looked up, one INSERT. Hashed as `record` does; the
    (stream, seq) unique key refuses a chain that was not empty after all."""
    if not entries:
        return 0
    return await _append(session, entries, {}, actor=actor, at=at)


def chained_rows(entries: Sequence[Entry], *, actor: Actor, at: datetime,
                 heads: dict[str, tuple[int, str]] | None = None) -> list[dict[str, Any]]:
    """`entries` appended to their incidents' chains in the order given, as `audit_event` rows
    (for `_append`, and for writers that insert them with other rows in one statement: the
    incident intake). `heads` holds each chain's last (seq, hash); a chain not in it starts
    empty. Each row also carries `raw`, its `changes` as JSON text (what it was hashed from)."""
    heads = dict(heads or {})
    at = at.astimezone(UTC)  # the hash covers `at` as stored
    role, unit, subject = actor.role.value, _actor_unit(actor), actor.subject
    rows: list[dict[str, Any]] = []
    for entry in entries:
        stream = stream_of(entry.incident_id)
        seq, prev = heads.get(stream, (0, GENESIS))
        raw = json.dumps(entry.changes, ensure_ascii=False, default=str)
        row = {"stream": stream, "seq": seq + 1, "incident_id": entry.incident_id, "at": at,
               "actor_role": role, "actor_unit": unit, "actor_subject": subject,
               "action": entry.action, "from_state": entry.from_state,
               "to_state": entry.to_state, "note": entry.note, "changes": json.loads(raw),
               "prev_hash": prev}
        # digest() only reads attributes; a namespace spares building ORM objects by the
        # thousand. `changes` went through JSON as in `record`, so the hash covers what is stored.
        row["hash"] = digest(cast(AuditEvent, SimpleNamespace(**row)))
        row["raw"] = raw
        heads[stream] = (seq + 1, row["hash"])
        rows.append(row)
    return rows


async def _append(session: AsyncSession, entries: Sequence[Entry],
                  heads: dict[str, tuple[int, str]], *, actor: Actor, at: datetime) -> int:
    at = at.astimezone(UTC)
    role, unit, subject = actor.role.value, _actor_unit(actor), actor.subject
    rows = chained_rows(entries, actor=actor, at=at, heads=heads)
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_PG_INSERT, {
            "at": at, "role": role, "unit": unit, "subject": subject,
            **{name: [row[key] for row in rows] for name, key in _PG_ARRAYS}})
    else:
        await session.execute(insert(cast(Table, AuditEvent.__table__)),
                              [{k: v for k, v in row.items() if k != "raw"} for row in rows])
    return len(rows)


# One statement whatever the page size: arrays instead of a VALUES list of 14 × n parameters.
_PG_ARRAYS = (("streams", "stream"), ("seqs", "seq"), ("incidents", "incident_id"),
              ("actions", "action"), ("froms", "from_state"), ("tos", "to_state"),
              ("notes", "note"), ("changes", "raw"), ("prevs", "prev_hash"), ("hashes", "hash"))
_PG_INSERT = text("""
INSERT INTO audit_event (stream, seq, incident_id, at, actor_role, actor_unit, actor_subject,
                         action, from_state, to_state, note, changes, prev_hash, hash)
SELECT e.stream, e.seq, e.incident_id, :at, :role, :unit, :subject, e.action, e.from_state,
       e.to_state, e.note, CAST(e.changes AS jsonb), e.prev_hash, e.hash
FROM unnest(CAST(:streams AS varchar[]), CAST(:seqs AS int[]), CAST(:incidents AS uuid[]),
            CAST(:actions AS varchar[]), CAST(:froms AS varchar[]), CAST(:tos AS varchar[]),
            CAST(:notes AS text[]), CAST(:changes AS text[]), CAST(:prevs AS varchar[]),
            CAST(:hashes AS varchar[]))
     AS e(stream, seq, incident_id, action, from_state, to_state, note, changes, prev_hash,
          hash)""")
_PG_HEADS = text("""
SELECT s.stream, e.seq, e.hash FROM unnest(CAST(:streams AS varchar[])) AS s(stream)
CROSS JOIN LATERAL (SELECT seq, hash FROM audit_event WHERE audit_event.stream = s.stream
                    ORDER BY seq DESC LIMIT 1) AS e""")


async def _heads(session: AsyncSession, streams: set[str]) -> dict[str, tuple[int, str]]:
    """The last (seq, hash) of each stream that has events."""
    ordered = sorted(streams)
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(_PG_HEADS, {"streams": ordered})
        return {row.stream: (row.seq, row.hash) for row in rows}
    heads: dict[str, tuple[int, str]] = {}
    for i in range(0, len(ordered), 500):  # within SQLite's bound-parameter limit
        chunk = ordered[i:i + 500]
        last = (select(AuditEvent.stream, func.max(AuditEvent.seq).label("seq"))
                .where(AuditEvent.stream.in_(chunk)).group_by(AuditEvent.stream).subquery())
        result = await session.execute(
            select(AuditEvent.stream, AuditEvent.seq, AuditEvent.hash)
            .join(last, and_(AuditEvent.stream == last.c.stream, AuditEvent.seq == last.c.seq)))
        heads.update({row.stream: (row.seq, row.hash) for row in result})
    return heads


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
