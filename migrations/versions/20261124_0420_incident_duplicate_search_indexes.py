"""incident: partial indexes for the duplicate search at intake (item near a point, phone)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every create looks for open incidents of its item within 100 m, or from the same phone.
# Without these it read every incident of the item (thousands in a busy district), so each
# create cost more as the table grew. Only open incidents are indexed.
OPEN = "state IN ('triage', 'dispatched', 'in_progress', 'suspended', 'resolved')"
INDEXES = (
    ("ix_incident_open_item_place", ["item_code", "lat", "lon"]),
    ("ix_incident_open_phone_item", ["reporter_phone", "item_code"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # On a live database, fail fast rather than queue behind long transactions (the build
        # holds a SHARE lock on incident: writes wait for it, reads do not).
        op.execute("SET LOCAL lock_timeout = '5s'")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        for name, columns in INDEXES:
            batch_op.create_index(name, columns, unique=False,
                                  postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        for name, _ in reversed(INDEXES):
            batch_op.drop_index(name)
