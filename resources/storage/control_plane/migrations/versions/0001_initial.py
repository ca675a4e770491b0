"""Initial control plane: organizations, connections, sync state, deletion requests, audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("terminated_at", TZ),
        sa.Column("purge_after", TZ),
        sa.Column("data_key", sa.Text),
        sa.Column("settings", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "connections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("credentials", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_synced_at", TZ),
        sa.Column("removed_at", TZ),
    )
    op.create_index("ix_connections_org_id", "connections", ["org_id"])
    op.create_table(
        "sync_state",
        sa.Column("connection_id", sa.String(32), sa.ForeignKey("connections.id"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "deletion_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject_ref", sa.String(64)),
        sa.Column("subject_kind", sa.String(16)),
        sa.Column("subject_sealed", sa.Text),
        sa.Column("subject_hash", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("not_before", TZ),
        sa.Column("started_at", TZ),
        sa.Column("completed_at", TZ),
        sa.Column("certificate", sa.Text),
    )
    op.create_index("ix_deletion_requests_org_id", "deletion_requests", ["org_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("org_id", sa.String(32)),
        sa.Column("target", sa.String(128)),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("audit_log", "deletion_requests", "sync_state", "connections", "organizations"):
        op.drop_table(table)
