"""Credential state per connection: expiry, last use, needs_reauth, and the refresh lease.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credential_state",
        sa.Column("connection_id", sa.String(32), sa.ForeignKey("connections.id"),
                  primary_key=True),
        sa.Column("expires_at", TZ),
        sa.Column("last_used_at", TZ),
        sa.Column("needs_reauth", sa.Text),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", TZ),
        sa.Column("refresh_started_at", TZ),
    )


def downgrade() -> None:
    op.drop_table("credential_state")
