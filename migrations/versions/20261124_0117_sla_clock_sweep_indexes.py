"""sla_clock: partial indexes for the sweeper's overdue, due-soon and escalation scans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:17:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each index holds only the clocks its scan may still act on, so a sweep no longer reads the
# whole table (due soon) or every clock it has already flagged (overdue, escalation).
UNBREACHED = "outcome IS NULL AND breached_at IS NULL"
UNWARNED = "outcome IS NULL AND warned_at IS NULL"
ESCALATING = "outcome IS NULL AND breached_at IS NOT NULL AND kind = 'resolve'"
INDEXES = (
    ("ix_sla_clock_sweep_overdue", ["due_at", "id"], UNBREACHED),
    ("ix_sla_clock_sweep_due_soon", ["due_soon_at", "id"], UNWARNED),
    ("ix_sla_clock_sweep_escalation", ["escalation_level", "due_at", "id"], ESCALATING),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # On a live database, fail fast rather than queue behind long transactions (the build
        # holds a SHARE lock on sla_clock: writes wait for it, reads do not).
        op.execute("SET LOCAL lock_timeout = '5s'")
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        for name, columns, where in INDEXES:
            batch_op.create_index(name, columns, unique=False,
                                  postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        for name, _, _ in reversed(INDEXES):
            batch_op.drop_index(name)
