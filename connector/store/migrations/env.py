"""Alembic environment: runs on the engine the Store hands over (see ``db.alembic_config``)."""

from __future__ import annotations

from alembic import context

from connector.store.db import lock_for_migration
from connector.store.schema import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    lock_for_migration(connection)
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
