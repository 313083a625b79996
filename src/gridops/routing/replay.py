"""Replay recent incidents through a candidate table before activating it.

Both the active version and the candidate decide every incident again from the same inputs, so
the difference is the table's alone. Where a dispatcher has already fixed an incident's unit
(any state past triage), that unit is the reference: the report says how many the candidate
would get right that the active table got wrong, and the reverse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.errors import Unavailable
from gridops.incidents.models import Incident
from gridops.routing import service
from gridops.routing.rules import CompiledRules, Decision, Hints
from gridops.routing.scoring import TRIAGE_THRESHOLD

TRIAGE = "triage"
MAX_EXAMPLES = 20
_UNDECIDED = ("triage", "voided", "merged")


@dataclass(frozen=True, slots=True)
class Change:
    incident_id: str
    text: str
    before_unit: str
    before_item: str | None
    after_unit: str
    after_item: str | None
    after_item_name: str | None
    after_confidence: float
    reference_unit: str | None
    reasons: tuple[str, ...]


@dataclass(slots=True)
class ReplayReport:
    active_version: int | None
    candidate_version: int | None
    candidate_label: str
    since: datetime
    replayed: int = 0
    unit_changed: int = 0
    item_changed: int = 0
    to_triage: int = 0
    from_triage: int = 0
    fixed: int = 0  # the candidate agrees with the dispatcher-confirmed unit, the active did not
    broken: int = 0  # the reverse
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "active_version": self.active_version, "candidate_version": self.candidate_version,
            "candidate_label": self.candidate_label, "since": self.since.isoformat(),
            "replayed": self.replayed, "unit_changed": self.unit_changed,
            "item_changed": self.item_changed, "to_triage": self.to_triage,
            "from_triage": self.from_triage, "fixed": self.fixed, "broken": self.broken,
            "matrix": [{"from": a, "to": b, "count": n} for (a, b), n in self.matrix.most_common()],
            "examples": [vars_of(c) for c in self.examples],
        }


def vars_of(change: Change) -> dict[str, Any]:
    return {name: getattr(change, name) for name in Change.__dataclass_fields__}


async def candidate_rules(session: AsyncSession,
                          candidate: int | Path | str | bytes | Mapping[str, Any],
                          ) -> tuple[CompiledRules, int | None, str]:
    if isinstance(candidate, int):
        row = await service.get_version(session, candidate)
        return service.compile_version(row), row.version, row.label
    table = service.validated(candidate)
    return CompiledRules(0, table.items), None, table.label


async def replay(session: AsyncSession, candidate: int | Path | str | bytes | Mapping[str, Any],
                 *, since: datetime, limit: int = 1000,
                 threshold: float = TRIAGE_THRESHOLD) -> ReplayReport:
    """What would change if `candidate` were active, over incidents created since `since`."""
    rules, version, label = await candidate_rules(session, candidate)
    try:
        active: CompiledRules | None = await service.active_rules(session)
    except Unavailable:
        active = None
    report = ReplayReport(active_version=active.version if active else None,
                          candidate_version=version, candidate_label=label, since=since)
    incidents = (await session.scalars(
        select(Incident).where(Incident.created_at >= since)
        .order_by(Incident.created_at.desc()).limit(limit))).all()
    for incident in incidents:
        hints = Hints(channel=incident.channel, grid_code=incident.grid_code,
                      street_code=incident.street_code, item_code_hint=incident.item_hint,
                      category=incident.source_category)
        before = active.decide(incident.text, hints, threshold) if active else None
        after = rules.decide(incident.text, hints, threshold)
        _count(report, incident, before, after)
    return report


def _unit(decision: Decision | None) -> str:
    if decision is None or decision.needs_triage or decision.unit_code is None:
        return TRIAGE
    return decision.unit_code


def _count(report: ReplayReport, incident: Incident, before: Decision | None,
           after: Decision) -> None:
    report.replayed += 1
    a, b = _unit(before), _unit(after)
    reference = incident.unit_code if incident.state not in _UNDECIDED else None
    if reference:
        report.fixed += a != reference and b == reference
        report.broken += a == reference and b != reference
    item_a = before.item_code if before else None
    if a == b and item_a == after.item_code:
        return
    if a != b:
        report.unit_changed += 1
        report.matrix[(a, b)] += 1
        report.to_triage += b == TRIAGE
        report.from_triage += a == TRIAGE
    else:
        report.item_changed += 1
    if len(report.examples) < MAX_EXAMPLES:
        report.examples.append(Change(
            incident_id=str(incident.id), text=incident.text[:300], before_unit=a,
            before_item=item_a, after_unit=b, after_item=after.item_code,
            after_item_name=after.item.name if after.item else None,
            after_confidence=after.confidence, reference_unit=reference,
            reasons=after.reasons))
