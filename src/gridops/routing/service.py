"""Rule-table versions in the database, the active router, and dispatcher corrections.

Versions are immutable once stored: a new table is a new version, activation only moves the
`active` flag (atomically, in the caller's transaction). The compiled router is cached per
(version, checksum) in this process; every replica asks the database which version is active
(one indexed row) and compiles a version it has not seen yet.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gridops.audit import service as audit
from gridops.auth.actor import Actor
from gridops.errors import Invalid, NotFound, Unavailable
from gridops.routing.learned import Example
from gridops.routing.models import RoutingCorrection, Ruleset
from gridops.routing.normalise import normalise
from gridops.routing.rules import CompiledRules, Decision, Hints
from gridops.routing.table import RuleTable, TableError, parse_table, stored_table

if TYPE_CHECKING:
    from gridops.incidents.models import Incident

STREAM = "ruleset"
_CACHE_SIZE = 4
_compiled: OrderedDict[tuple[int, str], CompiledRules] = OrderedDict()

Source = Path | str | bytes | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class LoadResult:
    version: int
    label: str
    item_count: int
    checksum: str
    created: bool  # False: an identical table was already stored
    active: bool
    units: dict[str, int]


def validated(source: Source) -> RuleTable:
    """Parse and validate, turning every table problem into one 422 listing them all."""
    try:
        return parse_table(source)
    except TableError as exc:
        raise Invalid(f"rule table refused: {len(exc.problems)} problem(s)",
                      errors=exc.problems) from None


async def load_table(session: AsyncSession, source: Source, *, actor: Actor, now: datetime,
                     activate: bool = True) -> LoadResult:
    """Store a validated table as a new version; an identical table returns its version."""
    table = validated(source)
    checksum = table.checksum
    row = await session.scalar(select(Ruleset).where(Ruleset.checksum == checksum)
                               .order_by(Ruleset.version).limit(1))
    created = row is None
    if row is None:
        latest = await session.scalar(select(func.max(Ruleset.version)))
        row = Ruleset(version=(latest or 0) + 1, label=table.label, checksum=checksum,
                      item_count=len(table.items), source=table.document(), created_at=now,
                      created_by=actor.subject)
        session.add(row)
        await session.flush()
        await audit.record(session, "ruleset.loaded", actor=actor, at=now, stream=STREAM,
                           changes={"version": row.version, "label": row.label,
                                    "checksum": checksum, "items": row.item_count})
    if activate and not row.active:
        await _activate(session, row, actor=actor, now=now)
    return _result(row, created, table)


def _result(row: Ruleset, created: bool, table: RuleTable) -> LoadResult:
    units: dict[str, int] = {}
    for item in table.items:
        units[item.unit] = units.get(item.unit, 0) + 1
    return LoadResult(version=row.version, label=row.label, item_count=row.item_count,
                      checksum=row.checksum, created=created, active=bool(row.active),
                      units=dict(sorted(units.items())))


async def activate(session: AsyncSession, version: int, *, actor: Actor,
                   now: datetime) -> Ruleset:
    row = await session.get(Ruleset, version)
    if row is None:
        raise NotFound(f"rule table version {version} does not exist")
    if not row.active:
        await _activate(session, row, actor=actor, now=now)
    return row


async def _activate(session: AsyncSession, row: Ruleset, *, actor: Actor, now: datetime) -> None:
    _active.checked = -math.inf
    previous = await session.scalar(select(Ruleset.version).where(Ruleset.active.is_(True)))
    # Clear the old flag first: the unique index admits one TRUE row at any moment.
    await session.execute(update(Ruleset).where(Ruleset.active.is_(True))
                          .values(active=None).execution_options(synchronize_session="fetch"))
    await session.flush()
    row.active = True
    row.activated_at = now
    await session.flush()
    await audit.record(session, "ruleset.activated", actor=actor, at=now, stream=STREAM,
                       changes={"version": row.version, "previous": previous})


async def get_version(session: AsyncSession, version: int) -> Ruleset:
    row = await session.get(Ruleset, version)
    if row is None:
        raise NotFound(f"rule table version {version} does not exist")
    return row


async def list_versions(session: AsyncSession) -> list[Ruleset]:
    return list((await session.scalars(select(Ruleset).order_by(Ruleset.version.desc()))).all())


# A dispatcher's correction counts as this many corpus examples: it is a real complaint of this
# district, labelled by someone who knows it.
CORRECTION_WEIGHT = 3.0
_CORRECTIONS_READ = 5000


def compile_version(row: Ruleset, examples: Sequence[Example] = ()) -> CompiledRules:
    key = (row.version, row.checksum)
    rules = _compiled.get(key)
    if rules is None:
        rules = CompiledRules(row.version, stored_table(row.source).items, examples=examples)
        _compiled[key] = rules
        while len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    else:
        _compiled.move_to_end(key)
    return rules


# How long a process trusts the active version it last saw without asking the database: a
# table activated by another process (`gridops rules load`) routes every request within this
# many seconds. Activations in this process take effect at once (`_activate` forgets).
TRUST_SECONDS = 1.0


@dataclass(slots=True)
class _Active:
    rules: CompiledRules | None = None
    checked: float = -math.inf  # time.monotonic() of the last check that confirmed `rules`


_active = _Active()


async def active_rules(session: AsyncSession) -> CompiledRules:
    """The active version's router; compiled once per version in this process. The active
    version is checked at most once per `TRUST_SECONDS` for sessions on the engine; a session
    on a connection (the caller's own outer transaction, as in tests) always checks."""
    if (_active.rules is not None and isinstance(session.bind, AsyncEngine)
            and time.monotonic() - _active.checked < TRUST_SECONDS):
        return _active.rules
    active = (await session.execute(select(Ruleset.version, Ruleset.checksum)
                                    .where(Ruleset.active.is_(True)))).first()
    if active is None:
        _active.rules = None
        raise Unavailable("no rule table is active; load one with `gridops rules load`")
    rules = _compiled.get((active.version, active.checksum))
    if rules is None:
        row = await session.get(Ruleset, active.version)
        assert row is not None
        rules = compile_version(row, await correction_examples(session))
    _active.rules, _active.checked = rules, time.monotonic()
    return rules


async def correction_examples(session: AsyncSession) -> list[Example]:
    """Dispatchers' corrections as labelled examples for the learned model: when a version is
    compiled, what dispatchers decided so far is learned (most recent first, at most 5,000)."""
    rows = (await session.execute(
        select(RoutingCorrection.text, RoutingCorrection.correct_unit)
        .order_by(RoutingCorrection.created_at.desc()).limit(_CORRECTIONS_READ))).all()
    return [Example(normalise(text), unit, CORRECTION_WEIGHT) for text, unit in rows if text]


async def street_of_grid(session: AsyncSession, grid_code: str) -> str | None:
    from gridops.places.models import Grid

    return await session.scalar(select(Grid.street_code).where(Grid.code == grid_code))


async def decide(session: AsyncSession, text: str, hints: Hints, threshold: float) -> Decision:
    """Route with the active version; a grid code without a street is resolved to its street."""
    rules = await active_rules(session)
    if hints.grid_code and not hints.street_code:
        street = await street_of_grid(session, hints.grid_code)
        if street:
            hints = Hints(channel=hints.channel, grid_code=hints.grid_code, street_code=street,
                          item_code_hint=hints.item_code_hint, category=hints.category)
    return rules.decide(text, hints, threshold)


async def record_correction(session: AsyncSession, incident: Incident, correct_unit: str,
                            correct_item: str | None, source: str, actor: Actor,
                            now: datetime) -> RoutingCorrection | None:
    """Keep a dispatcher's decision as a labelled example. Call it BEFORE the incident's unit
    changes (the chosen unit is read from `incident.routing`, else the incident's fields).
    Agreeing with what the router chose is not a correction: nothing is stored."""
    routed: dict[str, Any] = dict(incident.routing or {})
    chosen_unit = routed.get("unit_code", incident.unit_code)
    chosen_item = routed.get("item_code", incident.item_code)
    if routed.get("needs_triage"):
        chosen_unit, chosen_item = None, None
    if chosen_unit == correct_unit and (correct_item is None or chosen_item == correct_item):
        return None
    correction = RoutingCorrection(
        id=uuid.uuid4(), incident_id=incident.id, source=source, text=incident.text,
        ruleset_version=incident.ruleset_version, chosen_unit=chosen_unit,
        chosen_item=chosen_item, correct_unit=correct_unit, correct_item=correct_item,
        confidence=routed.get("confidence", incident.confidence), actor_subject=actor.subject,
        created_at=now)
    session.add(correction)
    await session.flush()
    return correction
