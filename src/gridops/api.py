"""Mounts every domain's router; the only importer of endpoints modules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from gridops.audit import endpoints as audit
from gridops.auth.policy import publish_policies
from gridops.clock import endpoints as sla
from gridops.hotline import endpoints as hotline
from gridops.incidents import action_endpoints as incident_actions
from gridops.incidents import endpoints as incidents
from gridops.open311 import endpoints as open311
from gridops.ops import endpoints as ops
from gridops.outbox import endpoints as outbox
from gridops.places import endpoints as places
from gridops.review import endpoints as review
from gridops.routing import endpoints as routing

TAGS: list[dict[str, Any]] = [
    {"name": "incidents", "description": "Work orders (工单): intake, lists, lifecycle actions."},
    {"name": "routing", "description": "The item-standard table (事项处置标准) and the router."},
    {"name": "sla", "description": "Deadlines on the working clock; the command-centre board."},
    {"name": "audit", "description": "The hash-chained audit trail (全程痕迹化)."},
    {"name": "reviews", "description": "The weekly review (一周一点评)."},
    {"name": "places", "description": "District, streets, communities, grids, units."},
    {"name": "hotline", "description": "The 12345 hotline platform's signed webhook."},
    {"name": "open311", "description": "Open311 GeoReport v2 for standard civic clients."},
    {"name": "outbox", "description": "Outbound deliveries: parked messages and replay."},
    {"name": "operations", "description": "Health, readiness, metrics."},
]


def include_routers(app: FastAPI) -> None:
    v1 = APIRouter(prefix="/api/v1")
    for router in (incidents.router, incident_actions.router, routing.router, sla.router,
                   audit.router, review.router, places.router, outbox.router):
        publish_policies(router)
        v1.include_router(router)
    app.include_router(v1)
    for router in (hotline.router, open311.router, ops.router):
        publish_policies(router)
        app.include_router(router)
