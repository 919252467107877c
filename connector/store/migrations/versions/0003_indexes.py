"""indexes for reconciling by customer and for matching payouts by date

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_claims_customer", "claims", ["link", "customer_no"])
    op.create_index("ix_invoices_customer", "invoices", ["link", "customer_no"])
    op.create_index("ix_payouts_paid_on", "payouts", ["link", "paid_on"])


def downgrade() -> None:
    op.drop_index("ix_payouts_paid_on", "payouts")
    op.drop_index("ix_invoices_customer", "invoices")
    op.drop_index("ix_claims_customer", "claims")
