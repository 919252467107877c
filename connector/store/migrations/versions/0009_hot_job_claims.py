"""a job claim changes no indexed column, so PostgreSQL can update it in place (HOT)

The index of unfinished jobs was partial on ``state``: every claim (queued → running)
changed a column the index names, so each claimed row got a new entry in all three of the
table's indexes. It is now partial on ``unfinished``, a column the database computes from
``state``; a claim leaves it true, and on PostgreSQL the claimed row's new version stays on
its page with no index entry at all (a heap-only tuple). The jobs table leaves half of each
page free for those versions (``fillfactor``); only a job's end (running → done) still
moves it out of the index.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = "state IN ('queued', 'running', 'dead')"
FILLFACTOR = 50


def upgrade() -> None:
    op.drop_index("ix_jobs_unfinished", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("unfinished", sa.Boolean(),
                                   sa.Computed(UNFINISHED, persisted=True), nullable=False))
    op.create_index("ix_jobs_unfinished", "jobs", ["link", "kind", "id"],
                    postgresql_where=sa.text("unfinished"), sqlite_where=sa.text("unfinished"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE jobs SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE jobs RESET (fillfactor)")
    op.drop_index("ix_jobs_unfinished", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("unfinished")
    op.create_index("ix_jobs_unfinished", "jobs", ["link", "kind", "id"],
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
