"""mirrored records with ids past the key length are read again; agency-issued ids unbounded

Before, a record whose id was longer than the store keeps was kept: whole on SQLite, its
key columns cut short on PostgreSQL (where two records whose ids differed past the limit
merged into one row). The models now refuse such a record (``connector.domain.Key``), so a
stored one would fail every pass that reads it back. Each such row is deleted, and its
link's cursor of that resource too: the next pass reads the resource again from the start
and sets every such record aside as an item error with its data, the records a merge had
hidden included.

The id of an agency's case and of an ERP's voucher come back from a call that has already
acted, so they are never refused: their columns become unbounded. An agency event's id past
200 characters (SQLite kept it whole) is fitted as the models now fit it, so the event read
again is known as the same one.

Revision ID: 0010
Revises: 0009
"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMIT = 100
REFERENCE = 200
FIELDS = {"customers": {"id": "erp_id", "number": "number"},
          "invoices": {"id": "erp_id", "invoice_no": "invoice_no",
                       "customer_id": "customer_id", "customer_no": "customer_no"},
          "letters": {"id": "erp_id", "invoice_id": "invoice_id"}}
"""Each mirror table (its name is its resource's): the fields of its record the store keys
or searches by, and their columns. A row with no such column at the limit has none past it."""


def upgrade() -> None:
    bind = op.get_bind()
    cursors = sa.table("cursors", sa.column("link"), sa.column("resource"))
    for name, fields in FIELDS.items():
        table = sa.table(name, sa.column("link"), sa.column("data"),
                         *(sa.column(c) for c in set(fields.values())))
        suspects = bind.execute(
            sa.select(table.c.link, table.c.erp_id, sa.cast(table.c.data, sa.Text))
            .where(sa.or_(*(sa.func.length(table.c[c]) >= LIMIT for c in fields.values()))))
        for link, erp_id, text in suspects.all():
            data: dict[str, Any] = json.loads(text)
            if all(len(str(data.get(f) or "")) <= LIMIT for f in fields):
                continue
            bind.execute(sa.delete(table).where(table.c.link == link,
                                                table.c.erp_id == erp_id))
            bind.execute(sa.delete(cursors).where(cursors.c.link == link,
                                                  cursors.c.resource == name))
    for name, column in (("claims", "agency_case_id"), ("payouts", "voucher_id")):
        with op.batch_alter_table(name) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(length=100),
                               existing_nullable=True)
    events = sa.table("claim_events", sa.column("id"), sa.column("external_id"))
    for event_id, external_id in bind.execute(
            sa.select(events.c.id, events.c.external_id)
            .where(sa.func.length(events.c.external_id) > REFERENCE)).all():
        bind.execute(sa.update(events).where(events.c.id == event_id)
                     .values(external_id=_fitted(external_id)))


def _fitted(value: str) -> str:
    """As ``connector.domain.fitted`` fits a reference at this revision."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:16]
    return f"{value[:REFERENCE - 18]}…#{digest}"


def downgrade() -> None:
    """The ids go back to 100 characters (a longer one stored meanwhile stops the downgrade
    on PostgreSQL); the records read again stay as they were read."""
    for name, column in (("claims", "agency_case_id"), ("payouts", "voucher_id")):
        with op.batch_alter_table(name) as batch:
            batch.alter_column(column, type_=sa.String(length=100), existing_type=sa.Text(),
                               existing_nullable=True)
