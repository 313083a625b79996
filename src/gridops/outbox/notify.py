"""Delivery of escalation notifications (督办): to a configured URL, or to the log."""

from __future__ import annotations

import json
import logging

import httpx

from gridops.outbox.jobs import Deliverer, DeliveryError
from gridops.outbox.models import OutboxMessage
from gridops.settings import OutboxSettings

log = logging.getLogger("gridops.notify")


def make_deliverer(cfg: OutboxSettings, client: httpx.AsyncClient) -> Deliverer:
    async def deliver(message: OutboxMessage) -> None:
        if not cfg.notification_url:
            log.info("notification", extra={"event_id": str(message.event_id),
                                            "payload": message.payload})
            return
        body = json.dumps({"event_id": str(message.event_id), **message.payload},
                          ensure_ascii=False).encode()
        try:
            response = await client.post(cfg.notification_url, content=body, timeout=5.0,
                                         headers={"Content-Type": "application/json"})
        except httpx.HTTPError as exc:
            raise DeliveryError(f"notification target unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"notification target answered {response.status_code}")

    return deliver
