"""Posting outbox updates to the hotline platform's callback URL, signed like its webhook."""

from __future__ import annotations

import json
import time

import httpx

from gridops.hotline.signing import sign
from gridops.outbox.jobs import Deliverer, DeliveryError
from gridops.outbox.models import OutboxMessage
from gridops.settings import HotlineSettings


def body_of(message: OutboxMessage) -> bytes:
    document = {"event_id": str(message.event_id), "sequence": message.id, **message.payload}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def make_deliverer(cfg: HotlineSettings, client: httpx.AsyncClient) -> Deliverer:
    async def deliver(message: OutboxMessage) -> None:
        if not cfg.callback_url:
            raise DeliveryError("GRIDOPS_HOTLINE__CALLBACK_URL is not set")
        body = body_of(message)
        timestamp = str(int(time.time()))
        try:
            response = await client.post(
                cfg.callback_url, content=body, timeout=cfg.callback_timeout_seconds,
                headers={"Content-Type": "application/json; charset=utf-8",
                         "X-Hotline-Timestamp": timestamp,
                         "X-Hotline-Signature": sign(cfg.secret.get_secret_value(), timestamp,
                                                     body),
                         "X-Event-Id": str(message.event_id)})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"hotline unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"hotline answered {response.status_code}")

    return deliver
