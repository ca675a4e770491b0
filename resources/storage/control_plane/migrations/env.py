"""Alembic environment: run by ``resources.storage.control_plane.migrate`` with a live connection."""

from alembic import context

from resources.storage.control_plane.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
