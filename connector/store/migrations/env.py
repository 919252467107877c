"""Alembic environment: runs on the engine the Store hands over (see ``db.alembic_config``)."""

from __future__ import annotations

from alembic import context

from connector.store.db import lock_for_migration
from connector.store.schema import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode copies a table, drops the old one and renames the copy: with foreign
        # keys on, dropping ``claims`` would cascade into ``claim_events`` and wipe every
        # claim's history. The pragma only takes effect outside a transaction.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            lock_for_migration(connection)
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
