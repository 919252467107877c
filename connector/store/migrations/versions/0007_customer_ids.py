"""customers are keyed by the ERP's own id; invoices and claims join them by it

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUSTOMER_ID_OF_INVOICE = (
    "COALESCE((SELECT c.erp_id FROM customers c WHERE c.link = invoices.link "
    "AND c.number = invoices.customer_no), '')")
"""An invoice whose customer is not stored yet keeps '' until its next pull."""


def _customers_keyed_by(key: str) -> None:
    """Rebuild ``customers`` with ``(link, key)`` as its primary key; where two numbers
    carried one id, the card changed last is kept."""
    op.create_table(
        "customers_rebuilt",
        sa.Column("link", sa.String(length=100), nullable=False),
        sa.Column("erp_id", sa.String(length=100), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("transfer_to_agency", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_at", connector.store.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("link", key, name=f"pk_customers_{key}"),
    )
    op.execute(
        "INSERT INTO customers_rebuilt (link, erp_id, number, transfer_to_agency, data, "
        "changed_at) SELECT link, erp_id, number, transfer_to_agency, data, changed_at "
        f"FROM customers WHERE true ORDER BY changed_at DESC ON CONFLICT (link, {key}) "
        "DO NOTHING")
    op.drop_table("customers")
    op.rename_table("customers_rebuilt", "customers")


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(length=100), nullable=True))
    op.execute(f"UPDATE invoices SET customer_id = {CUSTOMER_ID_OF_INVOICE}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE invoices SET data = jsonb_set(data::jsonb, '{customer_id}', "
                   "to_jsonb(customer_id))::json")
    else:
        op.execute("UPDATE invoices SET data = json_set(data, '$.customer_id', customer_id)")
    with op.batch_alter_table("invoices") as batch:
        batch.alter_column("customer_id", existing_type=sa.String(length=100), nullable=False)
        batch.drop_index("ix_invoices_customer")
        batch.create_index("ix_invoices_customer_id", ["link", "customer_id"])

    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(length=100), nullable=True))
    op.execute("UPDATE claims SET customer_id = COALESCE((SELECT i.customer_id FROM invoices i "
               "WHERE i.link = claims.link AND i.erp_id = claims.invoice_id), '')")
    with op.batch_alter_table("claims") as batch:
        batch.alter_column("customer_id", existing_type=sa.String(length=100), nullable=False)
        batch.drop_index("ix_claims_customer")
        batch.create_index("ix_claims_customer_id", ["link", "customer_id"])

    _customers_keyed_by("erp_id")
    op.create_index("ix_customers_number", "customers", ["link", "number"])


def downgrade() -> None:
    op.drop_index("ix_customers_number", "customers")
    _customers_keyed_by("number")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE invoices SET data = (data::jsonb - 'customer_id')::json")
    else:
        op.execute("UPDATE invoices SET data = json_remove(data, '$.customer_id')")
    with op.batch_alter_table("claims") as batch:
        batch.drop_index("ix_claims_customer_id")
        batch.create_index("ix_claims_customer", ["link", "customer_no"])
        batch.drop_column("customer_id")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index("ix_invoices_customer_id")
        batch.create_index("ix_invoices_customer", ["link", "customer_no"])
        batch.drop_column("customer_id")
