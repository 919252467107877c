"""mirrored records whose ids are longer than the store keeps become item errors

Before, such a record was kept: whole on SQLite, its key columns cut short on PostgreSQL
(where two records whose ids differed past the limit merged). The models now refuse one
(``connector.domain.Key``), so a stored one would fail every pass that reads it back. Each
moves to ``item_errors`` with its data, as a record read now is set aside; a claim of it
stays as it is, and the record reads again once the ERP shortens the id.

Revision ID: 0010
Revises: 0009
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import connector.store.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMIT = 100
ERROR_KEY = 200
FIELDS = {"customers": ("id", "number"),
          "invoices": ("id", "invoice_no", "customer_id", "customer_no"),
          "letters": ("id", "invoice_id")}
"""Each mirror table (its name is the resource's) and the fields of its record that the
store keys or searches by."""
COLUMNS = {"customers": ("erp_id", "number"),
           "invoices": ("erp_id", "invoice_no", "customer_id", "customer_no"),
           "letters": ("erp_id", "invoice_id")}
"""Those fields' columns: a row with none at the limit has no field past it."""


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    errors = sa.table(
        "item_errors", sa.column("link"), sa.column("resource"), sa.column("key"),
        sa.column("reason"), sa.column("raw", sa.JSON),
        sa.column("first_seen", connector.store.types.UtcDateTime()),
        sa.column("last_seen", connector.store.types.UtcDateTime()),
        sa.column("resolved_at", connector.store.types.UtcDateTime()))
    for name, fields in FIELDS.items():
        table = sa.table(name, sa.column("link"), sa.column("data"),
                         *(sa.column(c) for c in COLUMNS[name]))
        suspects = bind.execute(
            sa.select(table.c.link, table.c.erp_id, sa.cast(table.c.data, sa.Text))
            .where(sa.or_(*(sa.func.length(table.c[c]) >= LIMIT for c in COLUMNS[name]))))
        for link, erp_id, text in suspects.all():
            data: dict[str, Any] = json.loads(text)
            long = [f for f in fields if len(str(data.get(f) or "")) > LIMIT]
            if not long:
                continue
            reason = "; ".join(f"{f}: String should have at most {LIMIT} characters"
                               for f in long)
            key = str(data.get("id", erp_id))
            bind.execute(sa.delete(errors).where(
                errors.c.link == link, errors.c.resource == name,
                errors.c.key == _fitted(key)))
            bind.execute(sa.insert(errors).values(
                link=link, resource=name, key=_fitted(key), reason=reason, raw=data,
                first_seen=now, last_seen=now, resolved_at=None))
            bind.execute(sa.delete(table).where(table.c.link == link,
                                                table.c.erp_id == erp_id))


def _fitted(key: str) -> str:
    """As ``connector.item_errors.fitted`` keys an error, at the time of this revision."""
    if len(key) <= ERROR_KEY:
        return key
    return f"{key[:ERROR_KEY - 18]}…#{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def downgrade() -> None:
    """The records set aside stay item errors: the next pass that reads them sets them aside
    again only if the models still refuse them."""
