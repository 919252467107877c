"""claims get a state of their own (transferring, transfer failed) and an outbox of events

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("state", sa.String(length=20), nullable=True))
    # A claim whose transfer started is being sent; a dead transfer job says it failed.
    op.execute("UPDATE claims SET state = list_name")
    op.execute("UPDATE claims SET state = 'transferring' "
               "WHERE list_name = 'approved' AND transfer_started_at IS NOT NULL")
    op.execute("UPDATE claims SET state = 'transfer_failed' WHERE state = 'transferring' AND "
               "EXISTS (SELECT 1 FROM jobs WHERE jobs.link = claims.link AND jobs.kind = "
               "'transfer' AND jobs.key = 'case:' || claims.invoice_id AND "
               "jobs.state IN ('dead', 'queued'))")
    with op.batch_alter_table("claims") as batch:
        batch.alter_column("state", existing_type=sa.String(length=20), nullable=False)
        batch.create_index("ix_claims_link_state", ["link", "state"])
    op.create_table(
        "claim_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link", sa.String(length=100), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", connector.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_claim_outbox_link", "claim_outbox", ["link", "id"])


def downgrade() -> None:
    op.drop_index("ix_claim_outbox_link", "claim_outbox")
    op.drop_table("claim_outbox")
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_link_state")
        batch.drop_column("state")
