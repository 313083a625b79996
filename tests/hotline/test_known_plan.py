"""The webhook's first read, which orders are stored already, probes (channel, external_id) once
per order (PostgreSQL, generic plan, no table statistics)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gridops.hotline import service as hotline
from tests.incidents.test_intake_plans import _fill, _plan, captured

pytestmark = pytest.mark.postgres


async def test_known_orders_are_looked_up_one_index_probe_each(
        session: AsyncSession, now: datetime) -> None:
    await _fill(session, now)
    conn = await session.connection()
    await conn.exec_driver_sql("UPDATE incident SET channel = 'hotline_12345', "
                               "external_id = 'GD' || reporter_phone")
    with captured(session) as seen:
        known = await hotline._known(session, ["GD13900000007", "GD13900000008", "nope"])
    assert set(known) == {"GD13900000007", "GD13900000008"}
    [(statement, parameters)] = seen
    plan = await _plan(session, statement, parameters)
    assert "Index Scan using uq_incident_channel_external_id" in plan, plan
    assert "AND ((external_id)::text = (o.order_no)::text))" in plan, plan
