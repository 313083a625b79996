"""`Idempotency-Key` for creating incidents: the same key and body give the stored answer again;
the same key with another body is a 409. Keys belong to the subject that sent them.

The key is claimed (a row inserted) BEFORE the incident is created, in the same transaction.
Of two identical requests racing, the second insert waits on the unique index until the first
transaction ends; if the first committed, the second replays its answer; if it rolled back, the
second goes ahead. No incident is ever created twice for one key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.errors import Conflict, Invalid
from gridops.incidents.models import IdempotencyRecord

MAX_KEY = 128
PENDING = 0  # status of a claimed key whose answer is not written yet


@dataclass(frozen=True, slots=True)
class Claim:
    record: IdempotencyRecord
    replay: bool

    @property
    def status_code(self) -> int:
        return self.record.status_code

    @property
    def response(self) -> dict[str, Any]:
        return self.record.response


def request_hash(payload: Any, files: list[str] | None = None) -> str:
    """A fingerprint of what was asked, independent of JSON spacing, key order or multipart
    boundaries: the canonical JSON of the parsed body plus the SHA-256 of each file in order."""
    canonical = json.dumps({"body": payload, "files": files or []}, ensure_ascii=False,
                           sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise Invalid("Idempotency-Key must be 1..128 printable characters",
                      errors=[{"loc": ["header", "Idempotency-Key"],
                               "msg": "1..128 printable characters", "type": "value_error"}])
    return key


async def _find(session: AsyncSession, subject: str, key: str) -> IdempotencyRecord | None:
    return await session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.subject == subject, IdempotencyRecord.key == key))


def _judge(record: IdempotencyRecord, fingerprint: str) -> Claim:
    if record.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used with a different request body",
                       idempotency_key=record.key)
    if record.status_code == PENDING:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry")
    return Claim(record, replay=True)


async def claim(session: AsyncSession, *, subject: str, key: str, fingerprint: str,
                now: datetime) -> Claim:
    """Either the stored answer to replay, or a fresh claim the caller must `complete`."""
    existing = await _find(session, subject, key)
    if existing is not None:
        return _judge(existing, fingerprint)
    record = IdempotencyRecord(id=uuid.uuid4(), subject=subject, key=key,
                               request_hash=fingerprint, status_code=PENDING, response={},
                               created_at=now)
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        # Lost the race: the other transaction committed this key while we waited on it.
        existing = await _find(session, subject, key)
        if existing is None:  # pragma: no cover - the winner vanished (rolled back) meanwhile
            raise Conflict("a request with this Idempotency-Key is in progress; retry") from None
        return _judge(existing, fingerprint)
    return Claim(record, replay=False)


async def complete(session: AsyncSession, claim: Claim, status_code: int,
                   response: dict[str, Any]) -> None:
    claim.record.status_code = status_code
    claim.record.response = response
    await session.flush()
