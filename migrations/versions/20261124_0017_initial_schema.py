"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 00:17:29.751949
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # On a live database, fail fast rather than queue behind long transactions.
        op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "audit_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("actor_unit", sa.String(length=24), nullable=True),
        sa.Column("actor_subject", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "changes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("stream", "seq", name=op.f("uq_audit_event_stream_seq")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "district",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_district")),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("subject", "key", name=op.f("uq_idempotency_record_subject_key")),
    )
    op.create_table(
        "open311_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_client")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_client_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_open311_client_name")),
    )
    op.create_table(
        "outbox_message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("ordering_key", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_message_event_id")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_key_id", ["ordering_key", "id"], unique=False)
        batch_op.create_index(
            "ix_outbox_message_state_available", ["state", "available_at"], unique=False
        )

    op.create_table(
        "pack_load",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pack_load")),
    )
    with op.batch_alter_table("pack_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pack_load_checksum"), ["checksum"], unique=False)

    op.create_table(
        "ruleset",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column(
            "source", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_ruleset")),
    )
    with op.batch_alter_table("ruleset", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ruleset_checksum"), ["checksum"], unique=False)
        batch_op.create_index("uq_ruleset_active", ["active"], unique=True)

    op.create_table(
        "unit",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("owns_examples", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_unit")),
    )
    op.create_table(
        "street",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_street_district_code_district")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_street")),
    )
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_street_district_code"), ["district_code"], unique=False
        )

    op.create_table(
        "community",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["street_code"], ["street.code"], name=op.f("fk_community_street_code_street")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_community")),
    )
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_community_street_code"), ["street_code"], unique=False)

    op.create_table(
        "grid",
        sa.Column("code", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("community_code", sa.String(length=20), nullable=False),
        sa.Column("street_code", sa.String(length=16), nullable=False),
        sa.Column(
            "polygon", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_code"], ["community.code"], name=op.f("fk_grid_community_code_community")
        ),
        sa.ForeignKeyConstraint(
            ["street_code"], ["street.code"], name=op.f("fk_grid_street_code_street")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_grid")),
    )
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grid_street_code"), ["street_code"], unique=False)

    op.create_table(
        "grid_worker",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grid_code", sa.String(length=24), nullable=False),
        sa.Column("post", sa.String(length=1), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_code"], ["grid.code"], name=op.f("fk_grid_worker_grid_code_grid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_worker")),
        sa.UniqueConstraint("grid_code", "post", name=op.f("uq_grid_worker_grid_code_post")),
        sa.UniqueConstraint("subject", name=op.f("uq_grid_worker_subject")),
    )
    with op.batch_alter_table("grid_worker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_worker_grid_code"), ["grid_code"], unique=False)

    op.create_table(
        "incident",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("external_version", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(length=24), nullable=True),
        sa.Column("community_code", sa.String(length=20), nullable=True),
        sa.Column("street_code", sa.String(length=16), nullable=True),
        sa.Column("item_hint", sa.String(length=16), nullable=True),
        sa.Column("source_category", sa.String(length=100), nullable=True),
        sa.Column("source_kind", sa.String(length=8), nullable=True),
        sa.Column("item_code", sa.String(length=16), nullable=True),
        sa.Column("item_name", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=True),
        sa.Column("level", sa.String(length=12), nullable=True),
        sa.Column("unit_code", sa.String(length=8), nullable=True),
        sa.Column("assigned_street_code", sa.String(length=16), nullable=True),
        sa.Column(
            "co_units", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column(
            "routing", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("prior_state", sa.String(length=16), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reporter_name", sa.String(length=64), nullable=True),
        sa.Column("reporter_phone", sa.String(length=32), nullable=True),
        sa.Column("reporter_confidential", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("resolved_on_spot", sa.Boolean(), nullable=False),
        sa.Column("resolution_text", sa.Text(), nullable=True),
        sa.Column("callback_resolved", sa.Boolean(), nullable=True),
        sa.Column("callback_satisfaction", sa.String(length=12), nullable=True),
        sa.Column("callback_comment", sa.Text(), nullable=True),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column(
            "possible_duplicates",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_code"], ["grid.code"], name=op.f("fk_incident_grid_code_grid")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["incident.id"], name=op.f("fk_incident_merged_into_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version"],
            ["ruleset.version"],
            name=op.f("fk_incident_ruleset_version_ruleset"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["unit.code"], name=op.f("fk_incident_unit_code_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
        sa.UniqueConstraint("channel", "external_id", name=op.f("uq_incident_channel_external_id")),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_assigned_street_code"), ["assigned_street_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_incident_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index("ix_incident_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(
            "ix_incident_item_grid_created", ["item_code", "grid_code", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_state"), ["state"], unique=False)
        batch_op.create_index("ix_incident_state_unit", ["state", "unit_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_street_code"), ["street_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_incident_unit_code"), ["unit_code"], unique=False)

    op.create_table(
        "attachment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_attachment_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attachment_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incident_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("unit_code", sa.String(length=8), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_incident_request_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_request")),
    )
    with op.batch_alter_table("incident_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_request_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index("ix_incident_request_kind_state", ["kind", "state"], unique=False)

    op.create_table(
        "routing_correction",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ruleset_version", sa.Integer(), nullable=True),
        sa.Column("chosen_unit", sa.String(length=8), nullable=True),
        sa.Column("chosen_item", sa.String(length=16), nullable=True),
        sa.Column("correct_unit", sa.String(length=8), nullable=False),
        sa.Column("correct_item", sa.String(length=16), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("actor_subject", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_routing_correction_incident_id_incident"),
        ),
        sa.ForeignKeyConstraint(
            ["ruleset_version"],
            ["ruleset.version"],
            name=op.f("fk_routing_correction_ruleset_version_ruleset"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_correction")),
    )
    with op.batch_alter_table("routing_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_correction_correct_unit"), ["correct_unit"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_correction_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_routing_correction_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "sla_clock",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("basis", sa.String(length=12), nullable=False),
        sa.Column("limit_minutes", sa.Float(), nullable=False),
        sa.Column("extended_minutes", sa.Float(), nullable=False),
        sa.Column("unit_code", sa.String(length=8), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_soon_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_minutes", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_sla_clock_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clock")),
    )
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sla_clock_incident_kind", ["incident_id", "kind", "round"], unique=False
        )
        batch_op.create_index("ix_sla_clock_open_due", ["outcome", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_sla_clock_unit_code"), ["unit_code"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("sla_clock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_clock_unit_code"))
        batch_op.drop_index("ix_sla_clock_open_due")
        batch_op.drop_index("ix_sla_clock_incident_kind")

    op.drop_table("sla_clock")
    with op.batch_alter_table("routing_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_correction_incident_id"))
        batch_op.drop_index(batch_op.f("ix_routing_correction_created_at"))
        batch_op.drop_index(batch_op.f("ix_routing_correction_correct_unit"))

    op.drop_table("routing_correction")
    with op.batch_alter_table("incident_request", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_request_kind_state")
        batch_op.drop_index(batch_op.f("ix_incident_request_incident_id"))

    op.drop_table("incident_request")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_incident_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_unit_code"))
        batch_op.drop_index(batch_op.f("ix_incident_street_code"))
        batch_op.drop_index("ix_incident_state_unit")
        batch_op.drop_index(batch_op.f("ix_incident_state"))
        batch_op.drop_index("ix_incident_item_grid_created")
        batch_op.drop_index(batch_op.f("ix_incident_grid_code"))
        batch_op.drop_index("ix_incident_created_at")
        batch_op.drop_index(batch_op.f("ix_incident_community_code"))
        batch_op.drop_index(batch_op.f("ix_incident_closed_at"))
        batch_op.drop_index(batch_op.f("ix_incident_assigned_street_code"))

    op.drop_table("incident")
    with op.batch_alter_table("grid_worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_worker_grid_code"))

    op.drop_table("grid_worker")
    with op.batch_alter_table("grid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_street_code"))
        batch_op.drop_index(batch_op.f("ix_grid_community_code"))

    op.drop_table("grid")
    with op.batch_alter_table("community", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_community_street_code"))

    op.drop_table("community")
    with op.batch_alter_table("street", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_street_district_code"))

    op.drop_table("street")
    op.drop_table("unit")
    with op.batch_alter_table("ruleset", schema=None) as batch_op:
        batch_op.drop_index("uq_ruleset_active")
        batch_op.drop_index(batch_op.f("ix_ruleset_checksum"))

    op.drop_table("ruleset")
    with op.batch_alter_table("pack_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pack_load_checksum"))

    op.drop_table("pack_load")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_state_available")
        batch_op.drop_index("ix_outbox_message_key_id")

    op.drop_table("outbox_message")
    op.drop_table("open311_client")
    op.drop_table("idempotency_record")
    op.drop_table("district")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_incident_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
