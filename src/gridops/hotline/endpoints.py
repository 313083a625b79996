"""`POST /webhooks/12345`: the 12345 hotline platform pushes its work orders (工单).

Called by a machine, not a person: there is no token; the HMAC signature over the raw body is
the policy. Checks run cheapest first and before anything is parsed or stored: size, media type,
timestamp window, signature; then JSON, the envelope, and each order on its own.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from gridops.deps import AppSettings, Calendar, Now, Session
from gridops.errors import (
    GridopsError,
    Invalid,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    problems,
)
from gridops.hotline import service, signing
from gridops.hotline.schemas import Batch, BatchDoc, BatchResult
from gridops.ops.schema import inline_schema
from gridops.settings import HotlineSettings

router = APIRouter(tags=["hotline"])


class MalformedBody(GridopsError):
    status, slug, title = 400, "malformed-body", "Body is not UTF-8 JSON"


DESCRIPTION = """
The hotline platform's webhook (its format, implemented as given). A batch of 1 to 500 order
events; each is answered on its own: `created`, `updated`, `duplicate` (same order and version
again: nothing changes), `stale` (older than the stored version), or `rejected` with `errors`.
Valid orders are committed even when others in the batch are rejected.

**Authentication:** no token. `X-Hotline-Timestamp` (Unix seconds, within 300 s of now) and
`X-Hotline-Signature: sha256=<hex>`, the HMAC-SHA256 of `"{timestamp}.{raw body}"` with the shared
secret (the previous secret is also accepted while secrets rotate). Anything else is 401 and
nothing is stored.
"""


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise PayloadTooLarge(f"the body may be at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        # Count too: a chunked body has no Content-Length, and a client may lie about it.
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(request: Request) -> None:
    media, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if media.strip().lower() != "application/json" or charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("send application/json in UTF-8")


def _fresh(cfg: HotlineSettings, timestamp: str | None, signature: str | None,
           now: float) -> tuple[str, str]:
    if not timestamp or not signature:
        raise Unauthorized("X-Hotline-Timestamp and X-Hotline-Signature are required")
    # A captured request replayed later fails here even with its valid signature.
    if not timestamp.isdigit() or abs(now - int(timestamp)) > cfg.max_skew_seconds:
        raise Unauthorized(f"X-Hotline-Timestamp must be within {cfg.max_skew_seconds} s of now")
    return timestamp, signature


def _authentic(cfg: HotlineSettings, timestamp: str, signature: str, body: bytes) -> None:
    secrets = [cfg.secret.get_secret_value()]
    if cfg.previous_secret is not None:
        secrets.append(cfg.previous_secret.get_secret_value())
    if not signing.verify(secrets, timestamp, body, signature):
        raise Unauthorized("the signature does not match")


def _batch(body: bytes) -> Batch:
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # nesting, digit bombs
        raise MalformedBody(f"{type(exc).__name__}: {exc}") from None
    try:
        return Batch.model_validate(document)
    except ValidationError as exc:
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                  for e in exc.errors(include_url=False, include_input=False)]
        raise Invalid("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors),
                      errors=errors) from None


@router.post(
    "/webhooks/12345", summary="Receive a batch of 12345 hotline orders",
    description=DESCRIPTION.strip(), responses=problems(400, 401, 413, 415, 422),
    openapi_extra={"x-auth": "hmac-sha256", "requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(BatchDoc)}}}},
)
async def receive_hotline_orders(
    request: Request, session: Session, now: Now, settings: AppSettings, cal: Calendar,
    x_hotline_timestamp: Annotated[str | None, Header(description="Unix seconds")] = None,
    x_hotline_signature: Annotated[str | None, Header(
        description='"sha256=" + hex HMAC-SHA256 of "{timestamp}.{raw body}"')] = None,
) -> BatchResult:
    cfg = settings.hotline
    _media_type(request)
    timestamp, signature = _fresh(cfg, x_hotline_timestamp, x_hotline_signature,
                                  now.timestamp())
    body = await _body(request, cfg.max_body_bytes)
    _authentic(cfg, timestamp, signature, body)
    batch = _batch(body)
    results = await service.ingest(session, batch.orders, now=now, cal=cal, settings=settings)
    return BatchResult(results=results)
