"""Audit events as rows ready to insert, hashed exactly as `service.record` hashes them, for
writers that insert them with other rows in one statement (incident intake)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from gridops.audit.models import AuditEvent
from gridops.audit.service import GENESIS, Entry, _actor_unit, digest, stream_of
from gridops.auth.actor import Actor


def chained_rows(entries: Sequence[Entry], *, actor: Actor, at: datetime,
                 heads: dict[str, tuple[int, str]] | None = None) -> list[dict[str, Any]]:
    """`entries` appended to their incidents' chains in the order given, as `audit_event` rows.
    `heads` holds each chain's last (seq, hash); a chain not in it starts empty. Each row also
    carries `raw`, its `changes` as JSON text (what it was hashed from)."""
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
        # `digest` only reads attributes; `changes` went through JSON as in `record`.
        row["hash"] = digest(cast(AuditEvent, SimpleNamespace(**row)))
        row["raw"] = raw
        heads[stream] = (seq + 1, row["hash"])
        rows.append(row)
    return rows
