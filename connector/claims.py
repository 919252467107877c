"""Reading claims: the JSON shape every front end and plugin sees, and a claim's history.

Writing them is ``connector.lifecycle``'s alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.store.schema import ClaimEventRow, ClaimRow


def view(row: ClaimRow) -> dict[str, Any]:
    """The JSON shape of a claim, for ``--json``, events and the CLI tables."""
    return {
        "id": row.id,
        "link": row.link,
        "invoice_id": row.invoice_id,
        "invoice_no": row.invoice_no,
        "customer_no": row.customer_no,
        "list": row.list_name,
        "state": row.state,
        "status": row.status,
        "amount": str(row.amount),
        "balance": str(row.balance),
        "currency": row.currency,
        "due_date": row.due_date.isoformat(),
        "obstacles": list(row.obstacles or []),
        "entered_at": row.entered_at.isoformat(),
        "approved_at": row.approved_at.isoformat() if row.approved_at else None,
        "transferred_at": row.transferred_at.isoformat() if row.transferred_at else None,
        "agency_case_id": row.agency_case_id,
    }


def history(session: Session, claim_id: int) -> list[ClaimEventRow]:
    return list(
        session.scalars(
            select(ClaimEventRow)
            .where(ClaimEventRow.claim_id == claim_id)
            .order_by(ClaimEventRow.at, ClaimEventRow.id)
        )
    )
