"""Alembic environment: migrations always run on a connection Kallisti hands in."""

from __future__ import annotations

from alembic import context

from kallisti.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations with `kallisti migrate`, not the alembic CLI.")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
