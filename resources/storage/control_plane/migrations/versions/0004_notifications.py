"""Insight notifications: an organization's sealed webhook and the events already delivered.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notification_webhooks",
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("payload_format", sa.String(16), nullable=False),
        sa.Column("url_sealed", sa.Text, nullable=False),
        sa.Column("enabled_at", TZ, nullable=False),
        sa.Column("enabled_by", sa.String(128), nullable=False),
        sa.Column("last_delivered_at", TZ),
        sa.Column("last_failed_at", TZ),
        sa.Column("last_failure", sa.Text),
    )
    op.create_table(
        "notification_deliveries",
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("signal_id", sa.String(64), primary_key=True),
        sa.Column("event", sa.String(16), primary_key=True),
        sa.Column("delivered_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("notification_webhooks")
