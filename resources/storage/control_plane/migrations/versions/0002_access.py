"""Personal access: people, their grants per organization, their access tokens (hashed).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("local_user", sa.String(128), unique=True),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "grants",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("org_id", sa.String(32), sa.ForeignKey("organizations.id")),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_at", TZ, nullable=False),
        sa.Column("granted_by", sa.String(128), nullable=False),
        sa.Column("expires_at", TZ),
        sa.Column("revoked_at", TZ),
        sa.Column("last_used_at", TZ),
    )
    op.create_index("ix_grants_person_id", "grants", ["person_id"])
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("person_id", sa.String(32), sa.ForeignKey("people.id"), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ),
        sa.Column("last_used_at", TZ),
    )
    op.create_index("ix_access_tokens_person_id", "access_tokens", ["person_id"])


def downgrade() -> None:
    for table in ("access_tokens", "grants", "people"):
        op.drop_table(table)
