"""The store: one SQLAlchemy schema for SQLite and PostgreSQL, migrated with Alembic."""
