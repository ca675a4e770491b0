"""Control-plane tables (SQLAlchemy Core). Migrations under ``migrations/versions`` create them;
this module is the code's view of the current schema and must match the latest migration
(``tests/unit/test_control_plane.py`` checks that)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    # active | terminated (grace period running) | deleted
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("terminated_at", DateTime(timezone=True)),
    Column("purge_after", DateTime(timezone=True)),
    # The org's DuckDB/Parquet data key, envelope-encrypted under the KEK. NULL once shredded.
    Column("data_key", Text),
    Column("settings", Text, nullable=False, server_default="{}"),
)

connections = Table(
    "connections",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("organizations.id"), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    # Non-secret settings as JSON (owner, base URL, project keys, path…).
    Column("settings", Text, nullable=False),
    # {field: envelope} JSON; NULL once the connection is removed.
    Column("credentials", Text),
    # active | removed
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_synced_at", DateTime(timezone=True)),
    Column("removed_at", DateTime(timezone=True)),
)

# Per-connection sync cursors and HTTP validators (ETag/Last-Modified), never bodies.
sync_state = Table(
    "sync_state",
    metadata,
    Column("connection_id", String(32), ForeignKey("connections.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # cursor | validator
    Column("key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

deletion_requests = Table(
    "deletion_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("org_id", String(32), ForeignKey("organizations.id"), nullable=False, index=True),
    Column("scope", String(16), nullable=False),  # organization | connection | person
    # Opaque reference (connection id, person id); for email/login requests the subject is kept
    # only envelope-encrypted until the deletion is verified, then wiped.
    Column("subject_ref", String(64)),
    Column("subject_kind", String(16)),  # email | login | person | connection | organization
    Column("subject_sealed", Text),
    Column("subject_hash", String(64)),
    Column("status", String(16), nullable=False),  # pending | running | done | nothing_matched | failed
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("not_before", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("certificate", Text),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("org_id", String(32)),
    Column("target", String(128)),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    UniqueConstraint("entry_hash"),
)

# Personal access (docs/access.md): who may read which organization, and their tokens.
people = Table(
    "people",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    # The OS account that acts as this person on the Sieve host without a token (the admin
    # `sieve init` made); NULL for everyone else, who authenticates with a personal token.
    Column("local_user", String(128), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person_id", String(32), ForeignKey("people.id"), nullable=False, index=True),
    # NULL: every organization (admins only).
    Column("org_id", String(32), ForeignKey("organizations.id")),
    Column("role", String(16), nullable=False),  # analyst | operator | admin
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("granted_by", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# Only an argon2id hash of each token's secret is kept; the token is shown once, when made.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person_id", String(32), ForeignKey("people.id"), nullable=False, index=True),
    Column("secret_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# What the control plane knows about a connection's credential besides the sealed secret:
# when it expires, when it last worked, why a person must re-connect it (needs_reauth), and
# the lease that lets one process at a time refresh a rotating OAuth token
# (refresh_started_at is set before the token request and cleared with the commit of its
# answer, so a crash in between is seen by the next run).
credential_state = Table(
    "credential_state",
    metadata,
    Column("connection_id", String(32), ForeignKey("connections.id"), primary_key=True),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Column("needs_reauth", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("refresh_started_at", DateTime(timezone=True)),
)

# Insight notifications (docs/operations.md, "Notifications"): at most one webhook per
# organization, its URL sealed in the vault like a connection's credentials. No row: off.
notification_webhooks = Table(
    "notification_webhooks",
    metadata,
    Column("org_id", String(32), ForeignKey("organizations.id"), primary_key=True),
    Column("payload_format", String(16), nullable=False),  # slack | json
    Column("url_sealed", Text, nullable=False),
    Column("enabled_at", DateTime(timezone=True), nullable=False),
    Column("enabled_by", String(128), nullable=False),
    Column("last_delivered_at", DateTime(timezone=True)),
    Column("last_failed_at", DateTime(timezone=True)),
    # What went wrong last, in words that never hold the URL; NULL after a delivery.
    Column("last_failure", Text),
)

# What was sent, so a re-run sends nothing twice: an opaque signal id (a hash of the episode,
# never a person's id) and the event. Pruned to the episodes the insights mart still holds.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("org_id", String(32), ForeignKey("organizations.id"), primary_key=True),
    Column("signal_id", String(64), primary_key=True),
    Column("event", String(16), primary_key=True),  # opened | resolved
    Column("delivered_at", DateTime(timezone=True), nullable=False),
)
