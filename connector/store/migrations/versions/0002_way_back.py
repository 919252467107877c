"""way back: payouts, ledger, case outcome, link leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:08:59.635345
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_entries',
    sa.Column('link', sa.String(length=100), nullable=False),
    sa.Column('erp_id', sa.String(length=100), nullable=False),
    sa.Column('invoice_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', connector.store.types.MoneyType(), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('external_reference', sa.String(length=200), nullable=True),
    sa.Column('handled', sa.String(length=20), nullable=False),
    sa.Column('changed_at', connector.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('link', 'erp_id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_invoice', ['link', 'invoice_id'], unique=False)

    op.create_table('link_leases',
    sa.Column('link', sa.String(length=100), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('until', connector.store.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('link')
    )
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('link', sa.String(length=100), nullable=False),
    sa.Column('agency_id', sa.String(length=100), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net', connector.store.types.MoneyType(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('voucher_reference', sa.String(length=200), nullable=False),
    sa.Column('voucher_id', sa.String(length=100), nullable=True),
    sa.Column('voucher_kind', sa.String(length=20), nullable=True),
    sa.Column('voucher', sa.JSON(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('received_at', connector.store.types.UtcDateTime(), nullable=False),
    sa.Column('booked_at', connector.store.types.UtcDateTime(), nullable=True),
    sa.Column('marked_at', connector.store.types.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('link', 'agency_id', name='uq_payouts_link_agency')
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('balance_at_agency', connector.store.types.MoneyType(), nullable=True))
        batch_op.add_column(sa.Column('remaining_principal', connector.store.types.MoneyType(), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('closed_at', connector.store.types.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('written_off', connector.store.types.MoneyType(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('write_off_reversed', connector.store.types.MoneyType(), nullable=False, server_default='0'))
        batch_op.create_index('ix_claims_agency_case', ['link', 'agency_case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('ix_claims_agency_case')
        batch_op.drop_column('write_off_reversed')
        batch_op.drop_column('written_off')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('outcome')
        batch_op.drop_column('remaining_principal')
        batch_op.drop_column('balance_at_agency')
        batch_op.drop_column('paused')

    op.drop_table('payouts')
    op.drop_table('link_leases')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_invoice')

    op.drop_table('ledger_entries')
