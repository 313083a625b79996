from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession


async def test_healthz_answers_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_migrations_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


async def test_readyz_is_503_when_schema_is_behind(client: httpx.AsyncClient, app) -> None:
    app.state.migration_heads = {"a-revision-not-applied"}
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["status"] == "behind"


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert 'gridops_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in (
        response.text)


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_metrics_report_incidents_by_state_and_queue_depths(
        client: httpx.AsyncClient, session: AsyncSession, now: datetime) -> None:
    from sqlalchemy import text

    from gridops.outbox import service as outbox
    from tests.builders import make_incident

    await outbox.enqueue(session, "notification", {}, ordering_key="k", now=now)
    await make_incident(session, state="triage")
    await make_incident(session, state="triage")
    await make_incident(session, state="closed")
    await session.commit()
    body = (await client.get("/metrics")).text
    assert 'gridops_outbox_messages{state="pending"} 1.0' in body
    assert 'gridops_outbox_messages{state="parked"} 0.0' in body
    assert 'gridops_incidents{state="triage"} 2.0' in body
    assert 'gridops_incidents{state="closed"} 1.0' in body
    assert (await session.execute(text("SELECT count(*) FROM incident"))).scalar_one() == 3
