"""Indexes for the weekly review: clocks by deadline and by stop, requests by decision time

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The review reads one week at a time: deadlines that fell in it (sla_clock.due_at), rounds
# finished or still open at its end (kind, stopped_at), extensions approved in it
# (incident_request kind, decided_at). Without these each read scans every clock ever started.


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # Plain CREATE INDEX takes a lock that blocks writes; fail fast rather than queue.
        op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_index("ix_sla_clock_due_at", "sla_clock", ["due_at"])
    op.create_index("ix_sla_clock_kind_stopped", "sla_clock", ["kind", "stopped_at"])
    op.create_index("ix_incident_request_kind_decided", "incident_request",
                    ["kind", "decided_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_request_kind_decided", table_name="incident_request")
    op.drop_index("ix_sla_clock_kind_stopped", table_name="sla_clock")
    op.drop_index("ix_sla_clock_due_at", table_name="sla_clock")
