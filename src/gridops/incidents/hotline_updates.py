"""What the 12345 platform is told of its orders: the `hotline.update` outbox payload, built here
for the router's dispatch at intake (`intake`) and for every later step (`actions.base.notify`),
so both say the same fields the same way (times in UTC, ISO 8601)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TOPIC = "hotline.update"


def utc_iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def payload(*, order_no: str | None, incident_id: str, event: str, state: str, at: datetime,
            unit_code: str | None, unit_name: str | None, note: str | None,
            resolve_due_at: datetime | None, source_deadline: datetime | None) -> dict[str, Any]:
    """`source_deadline`: the hotline's own 办结时限 as gridops holds it (amendments replace
    it), beside gridops' own resolve deadline."""
    return {"order_no": order_no, "incident_id": incident_id, "event": event, "state": state,
            "at": utc_iso(at), "unit_code": unit_code, "unit_name": unit_name, "note": note,
            "resolve_due_at": utc_iso(resolve_due_at),
            "source_deadline": utc_iso(source_deadline)}
