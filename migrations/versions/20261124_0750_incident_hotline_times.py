"""incident: the 12345 hotline's own times (when it took the call, its 办结时限)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Nullable, no default: adding them rewrites nothing on PostgreSQL, and incidents received before
# (and those of other channels) simply have none. Shown only: gridops' clocks do not read them.
COLUMNS = ("source_received_at", "source_deadline")


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
