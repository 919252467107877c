"""sync runs are recorded; request budgets are shared through the store

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("link", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("started_at", connector.store.types.UtcDateTime(), nullable=False),
        sa.Column("finished_at", connector.store.types.UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("pulled", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("transferred", sa.Integer(), nullable=False),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_sync_runs_link", "sync_runs", ["link", "started_at"])
    op.create_index("ix_sync_runs_started", "sync_runs", ["started_at"])
    op.create_table(
        "request_budgets",
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("request_budgets")
    op.drop_index("ix_sync_runs_started", "sync_runs")
    op.drop_index("ix_sync_runs_link", "sync_runs")
    op.drop_table("sync_runs")
