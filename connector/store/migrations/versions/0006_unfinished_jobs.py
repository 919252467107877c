"""jobs are claimed from a partial index of the unfinished ones

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNFINISHED = sa.text("state IN ('queued', 'running', 'dead')")


def upgrade() -> None:
    op.drop_index("ix_jobs_due", "jobs")
    op.create_index("ix_jobs_unfinished", "jobs", ["link", "kind", "id"],
                    postgresql_where=UNFINISHED, sqlite_where=UNFINISHED)


def downgrade() -> None:
    op.drop_index("ix_jobs_unfinished", "jobs")
    op.create_index("ix_jobs_due", "jobs", ["link", "kind", "state", "run_after"])
