"""Writing new incidents with everything created beside them (clocks, audit events, outbox
messages) in as few round trips as the database allows: on PostgreSQL one statement for the whole
batch, elsewhere one statement per table.

Rows are plain dicts holding every column of their table. An incident whose (channel,
external_id) is stored already is skipped (ON CONFLICT DO NOTHING), and so are its clocks, events
and messages: the caller learns which were written from the returned ids.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    TextClause,
    Uuid,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator

from gridops.audit.models import AuditEvent
from gridops.clock.models import SlaClock
from gridops.db import driver_rows
from gridops.incidents.models import Incident
from gridops.outbox.models import OutboxMessage
from gridops.places.models import Unit

INCIDENTS = cast(Table, Incident.__table__)
CLOCKS = cast(Table, SlaClock.__table__)
EVENTS = cast(Table, AuditEvent.__table__)
MESSAGES = cast(Table, OutboxMessage.__table__)


@dataclass(slots=True)
class Rows:
    """What a batch of new incidents writes. `events` are `audit.chained_rows`; a
    message's payload gets `unit_name`, the name of the unit `unit_code` names, when written."""

    incidents: list[dict[str, Any]] = field(default_factory=list)
    clocks: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


async def insert_all(session: AsyncSession, rows: Rows) -> set[uuid.UUID]:
    """Write everything; returns the ids of the incidents written."""
    if not rows.incidents:
        return set()
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        sql, names = _pg_compiled(dialect)
        params = _pg_params(rows)
        # The driver's SQL with positional values: ~90 arrays are not bound one by one per call.
        return {row[0] for row in await driver_rows(session, sql, [params[n] for n in names])}
    written = await insert_incidents(session, rows.incidents)
    await insert_children(session, Rows(
        clocks=[r for r in rows.clocks if r["incident_id"] in written],
        events=[r for r in rows.events if r["incident_id"] in written],
        messages=[r for r in rows.messages if r["incident_id"] in written]))
    return written


async def insert_incidents(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """The incidents alone (when something must reference them before the rest is known)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(INCIDENTS)
                 .on_conflict_do_nothing(index_elements=["channel", "external_id"])
                 .returning(INCIDENTS.c.id))
    # executemany of one cached statement, batched by SQLAlchemy into multi-row INSERTs
    return set((await session.execute(statement, rows)).scalars().all())


async def insert_children(session: AsyncSession, rows: Rows) -> None:
    """Clocks, events and messages of incidents already written, one statement per table."""
    if rows.messages:
        codes = {m["payload"]["unit_code"] for m in rows.messages}
        names = dict((await session.execute(
            select(Unit.code, Unit.name_zh).where(Unit.code.in_(codes)))).all())
        for message in rows.messages:
            message["payload"]["unit_name"] = names.get(message["payload"]["unit_code"])
    for table, batch in ((CLOCKS, rows.clocks), (EVENTS, rows.events),
                         (MESSAGES, rows.messages)):
        if batch:
            await session.execute(insert(table), [_columns(table, row) for row in batch])


def _columns(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {c.name: row[c.name] for c in _written_columns(table)}


@functools.cache
def _written_columns(table: Table) -> tuple[Column[Any], ...]:
    """Every column but a generated integer key."""
    return tuple(c for c in table.columns
                 if not (c.primary_key and isinstance(c.type, Integer)))


# --- PostgreSQL: one statement, one array per column ------------------------------------------

def _pg_type(column: Column[Any]) -> str:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    for sql_type, name in ((JSON, "jsonb"), (Boolean, "bool"), (Integer, "int8"),
                           (Float, "float8"), (DateTime, "timestamptz"), (Uuid, "uuid"),
                           (String, "text")):
        if isinstance(kind, sql_type):
            return name
    raise TypeError(f"no array type for {column}")  # pragma: no cover - a new column type


def _pg_insert(table: Table, alias: str, *, extra: Sequence[str] = (),
               joins: str = "", values: dict[str, str] | None = None) -> str:
    """INSERT INTO table (…) SELECT … FROM unnest(one array per column) in array order.
    JSON columns come as text arrays (cast per element)."""
    columns = _written_columns(table)
    arrays, exprs = [], []
    for c in columns:
        kind = _pg_type(c)
        arrays.append(f"CAST(:{alias}_{c.name} AS {'text' if kind == 'jsonb' else kind}[])")
        exprs.append((values or {}).get(c.name)
                     or (f"CAST({alias}.{c.name} AS jsonb)" if kind == "jsonb"
                         else f"{alias}.{c.name}"))
    arrays += [f"CAST(:{alias}_{name} AS text[])" for name in extra]
    names = ", ".join([c.name for c in columns] + list(extra))
    return (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)})\n"
            f"SELECT {', '.join(exprs)}\n"
            f"FROM unnest({', '.join(arrays)}) WITH ORDINALITY AS {alias}({names}, n)\n"
            f"{joins}ORDER BY {alias}.n")


@functools.cache
def _pg_statement() -> TextClause:
    # Data-modifying CTEs: the children join the incidents actually inserted, and foreign keys
    # are checked at the end of the statement, when the incidents exist.
    def joined(alias: str) -> str:
        return f"JOIN inserted ON inserted.id = {alias}.incident_id\n"

    incidents = _pg_insert(INCIDENTS, "i")
    clocks = _pg_insert(CLOCKS, "c", joins=joined("c"))
    events = _pg_insert(EVENTS, "e", joins=joined("e"))
    messages = _pg_insert(
        MESSAGES, "m", extra=["unit_code"],
        joins=joined("m") + "LEFT JOIN unit ON unit.code = m.unit_code\n",
        values={"payload": "CAST(m.payload AS jsonb) "
                           "|| jsonb_build_object('unit_name', unit.name_zh)"})
    return text(f"WITH inserted AS (\n{incidents}\n"
                "ON CONFLICT (channel, external_id) DO NOTHING RETURNING id),\n"
                f"clocks AS (\n{clocks}),\nevents AS (\n{events}),\n"
                f"messages AS (\n{messages})\nSELECT id FROM inserted")


@functools.cache
def _pg_compiled(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The statement as the driver takes it, and the parameter names in position order."""
    compiled = _pg_statement().compile(dialect=dialect)
    assert compiled.positiontup is not None
    return compiled.string, tuple(compiled.positiontup)


@functools.cache
def _pg_arrays() -> tuple[tuple[str, str, str, bool], ...]:
    """(rows attribute, parameter, key in the row, JSON?) for every array of the statement."""
    arrays = []
    for table, alias, attribute in ((INCIDENTS, "i", "incidents"), (CLOCKS, "c", "clocks"),
                                    (EVENTS, "e", "events"), (MESSAGES, "m", "messages")):
        for c in _written_columns(table):
            is_json = _pg_type(c) == "jsonb"
            if table is EVENTS and c.name == "changes":  # the JSON text it was hashed from
                arrays.append((attribute, "e_changes", "raw", False))
            else:
                arrays.append((attribute, f"{alias}_{c.name}", c.name, is_json))
    return tuple(arrays)


def _pg_params(rows: Rows) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for attribute, name, key, is_json in _pg_arrays():
        batch: list[dict[str, Any]] = getattr(rows, attribute)
        params[name] = [_json(r[key]) for r in batch] if is_json else [r[key] for r in batch]
    params["m_unit_code"] = [r["payload"]["unit_code"] for r in rows.messages]
    return params


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)

