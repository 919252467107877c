"""due jobs are fetched per link and kind

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_jobs_fetch", "jobs")
    op.create_index("ix_jobs_due", "jobs", ["link", "kind", "state", "run_after"])


def downgrade() -> None:
    op.drop_index("ix_jobs_due", "jobs")
    op.create_index("ix_jobs_fetch", "jobs", ["state", "run_after"])
