"""Photos and documents of incidents: the byte store, the upload checks, the attachment rows.

Files are content addressed (the key is the SHA-256 of the bytes), so a photo sent twice is
stored once and a stored file can never change under its key. The type is judged by the file's
first bytes, never by the name or the declared content type alone.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Protocol

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified
from starlette.datastructures import UploadFile

from gridops.audit import service as audit
from gridops.auth.actor import Actor
from gridops.errors import Conflict, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from gridops.incidents.models import Attachment, Incident
from gridops.settings import StorageSettings

MAX_FILES = 9  # one WeChat-style batch; more is a mistake or an attack
CHUNK = 64 * 1024
PURPOSES = ("report", "resolve", "verify", "comment")
CLOSED_FOR_ATTACHMENTS = ("closed", "merged", "voided")


class Storage(Protocol):
    async def put(self, data: bytes) -> str:
        """Store the bytes; returns their key."""

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; NotFound when they are gone."""


class LocalStorage:
    """Files under `root/ab/cd/<sha256>`; writes go through a temporary file and a rename, so a
    reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise NotFound("no such stored file")
        return self.root / key[:2] / key[2:4] / key

    async def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        await anyio.to_thread.run_sync(self._write, self._path(key), data)
        return key

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.to_thread.run_sync(path.read_bytes)
        except FileNotFoundError:
            raise NotFound("the stored file is missing") from None


def sniff(head: bytes) -> str | None:
    """The image type the bytes really are (JPEG, PNG, WebP), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True, slots=True)
class Upload:
    """A checked upload held in memory (at most `max_bytes`), not stored yet."""

    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _filename(raw: str | None, content_type: str) -> str:
    cleaned = "".join(c for c in (raw or "") if c.isprintable()).replace("\\", "/")
    name = PurePath(cleaned).name.strip()[:200]
    return name if name.strip(".") else "photo." + content_type.rsplit("/", 1)[-1]


async def read_upload(upload: UploadFile, settings: StorageSettings) -> Upload:
    """Read one file, refusing it once it passes the size limit (413) or when its bytes are not
    an allowed type (415)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > settings.max_bytes:
            raise PayloadTooLarge(f"{upload.filename or 'file'} is larger than "
                                  f"{settings.max_bytes} bytes")
        chunks.append(chunk)
    data = b"".join(chunks)
    kind = sniff(data[:16])
    if kind is None or kind not in settings.allowed_types:
        declared = upload.content_type or "unknown"
        raise UnsupportedMediaType(
            f"{upload.filename or 'file'} is not an allowed image (declared {declared}); "
            f"allowed: {', '.join(settings.allowed_types)}",
            allowed_types=list(settings.allowed_types))
    return Upload(_filename(upload.filename, kind), kind, data)


async def read_uploads(uploads: Sequence[UploadFile], settings: StorageSettings) -> list[Upload]:
    if len(uploads) > MAX_FILES:
        raise Invalid(f"at most {MAX_FILES} files per request",
                      errors=[{"loc": ["body", "photos"], "msg": f"at most {MAX_FILES} files",
                               "type": "too_long"}])
    return [await read_upload(u, settings) for u in uploads]


async def save(session: AsyncSession, storage: Storage, incident_id: uuid.UUID,
               uploads: Sequence[Upload], *, purpose: str, actor: Actor,
               now: datetime) -> list[Attachment]:
    """Store the bytes and add attachment rows (no audit: the caller's event names them)."""
    rows = []
    # Ascending ids keep the upload order when listed by (created_at, id).
    ids = sorted(uuid.uuid4() for _ in uploads)
    for attachment_id, upload in zip(ids, uploads, strict=True):
        key = await storage.put(upload.data)
        rows.append(Attachment(id=attachment_id, incident_id=incident_id, purpose=purpose,
                               filename=upload.filename, content_type=upload.content_type,
                               size=len(upload.data), sha256=upload.sha256, storage_key=key,
                               uploaded_by=actor.subject, created_at=now))
    session.add_all(rows)
    await session.flush()
    return rows


def described(rows: Sequence[Attachment]) -> list[dict[str, object]]:
    """What the audit trail keeps of attachments: identity and fingerprint, not the bytes."""
    return [{"id": str(a.id), "filename": a.filename, "sha256": a.sha256, "size": a.size,
             "purpose": a.purpose} for a in rows]


async def attach(session: AsyncSession, storage: Storage, incident: Incident,
                 uploads: Sequence[Upload], *, purpose: str, actor: Actor,
                 now: datetime) -> list[Attachment]:
    """Add files to an open incident and record `incident.attached`."""
    if incident.state in CLOSED_FOR_ATTACHMENTS:
        raise Conflict(f"incident is {incident.state}: nothing can be attached")
    if not uploads:
        raise Invalid("no file sent", errors=[{"loc": ["body", "photos"],
                                               "msg": "at least one file", "type": "missing"}])
    rows = await save(session, storage, incident.id, uploads, purpose=purpose, actor=actor,
                      now=now)
    # Touching the row bumps its version: the audit chain of one incident is serialised by it.
    incident.updated_at = now
    flag_modified(incident, "updated_at")  # an UPDATE even when `now` equals the stored value
    await audit.record(session, "incident.attached", actor=actor, at=now, incident=incident,
                       changes={"attachments": described(rows)})
    return rows
