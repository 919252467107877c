"""Read-only questions about a link's state, answered as plain JSON-ready dicts.

The CLI and the plugins' commands read the store only through these, so the listings and
their ``--json`` have one shape each, and no front end holds SQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from connector import transfer
from connector.agency_pull import claim_view_with_agency
from connector.claims import history, view
from connector.domain import ClaimList
from connector.item_errors import open_errors
from connector.store.db import Store
from connector.store.schema import ClaimRow, JobRow, PayoutRow


def claims(store: Store, link: str, lists: Sequence[ClaimList]) -> list[dict[str, Any]]:
    """The link's claims in the lists asked for, oldest first; one whose transfer failed
    carries its job and the command that retries it (``transfer``)."""
    with store.session() as session:
        rows = list(session.scalars(select(ClaimRow).where(
            ClaimRow.link == link, ClaimRow.list_name.in_([x.value for x in lists]))
            .order_by(ClaimRow.id)))
        failed = transfer.failures(session, link, rows)
        return [{**view(r), "transfer": failed.get(r.id)} for r in rows]


def claim_ids(store: Store, link: str, which: ClaimList) -> list[int]:
    with store.session() as session:
        return list(session.scalars(select(ClaimRow.id).where(
            ClaimRow.link == link, ClaimRow.list_name == which.value).order_by(ClaimRow.id)))


def claim(store: Store, link: str, claim_id: int) -> dict[str, Any] | None:
    """One claim with the agency's side and its whole history; None if the link has none
    of that id."""
    with store.session() as session:
        row = session.get(ClaimRow, claim_id)
        if row is None or row.link != link:
            return None
        data = claim_view_with_agency(row)
        data["transfer"] = transfer.failures(session, link, [row]).get(row.id)
        data["history"] = [
            {"at": e.at.isoformat(), "source": e.source, "kind": e.kind, "text": e.text}
            for e in history(session, claim_id)]
        return data


def list_counts(store: Store, link: str) -> dict[str, int]:
    """How many claims each list holds."""
    with store.session() as session:
        counted = session.execute(
            select(ClaimRow.list_name, func.count()).where(ClaimRow.link == link)
            .group_by(ClaimRow.list_name))
        return {name: count for name, count in counted}


def outcome_counts(store: Store, link: str) -> dict[str, int]:
    """How many closed claims ended each way (paid, partly paid, ...)."""
    with store.session() as session:
        counted = session.execute(
            select(ClaimRow.outcome, func.count()).where(
                ClaimRow.link == link, ClaimRow.outcome.is_not(None))
            .group_by(ClaimRow.outcome))
        return {str(name): count for name, count in counted}


def payout_view(row: PayoutRow) -> dict[str, Any]:
    return {"id": row.id, "agency_id": row.agency_id, "link": row.link,
            "paid_on": row.paid_on.isoformat(), "currency": row.currency, "net": str(row.net),
            "lines": row.lines, "state": row.state, "voucher_reference": row.voucher_reference,
            "voucher_id": row.voucher_id, "voucher_kind": row.voucher_kind,
            "voucher": row.voucher, "flagged": row.flagged}


def payouts(store: Store, links: Sequence[str]) -> list[dict[str, Any]]:
    """The agency's payouts as received, with how each was booked (R13)."""
    with store.session() as session:
        return [payout_view(p) for p in session.scalars(
            select(PayoutRow).where(PayoutRow.link.in_(list(links))).order_by(PayoutRow.id))]


def payout_totals(store: Store, link: str) -> dict[str, Any]:
    """Payouts received and booked, their net sum and how many reverse a write-off."""
    rows = payouts(store, [link])
    states = Counter(p["state"] for p in rows)
    return {"received": len(rows), "booked": states["booked"] + states["marked"],
            "net": str(sum((Decimal(p["net"]) for p in rows), Decimal(0))),
            "flagged": sum(bool(p["flagged"]) for p in rows)}


def item_errors(store: Store, links: Sequence[str]) -> list[dict[str, Any]]:
    """Records that could not be handled, with the reason, until they come through."""
    with store.session() as session:
        return [{"link": e.link, "resource": e.resource, "key": e.key, "reason": e.reason,
                 "first_seen": e.first_seen.isoformat(), "last_seen": e.last_seen.isoformat(),
                 "raw": e.raw}
                for link in links for e in open_errors(session, link)]


def jobs(store: Store, links: Sequence[str], state: str | None = None) -> list[dict[str, Any]]:
    """Durable jobs with their state, attempts and last error."""
    query = select(JobRow).where(JobRow.link.in_(list(links))).order_by(JobRow.id)
    if state:
        query = query.where(JobRow.state == state)
    with store.session() as session:
        return [{"id": j.id, "link": j.link, "kind": j.kind, "key": j.key, "state": j.state,
                 "attempts": j.attempts, "run_after": j.run_after.isoformat(),
                 "last_error": j.last_error} for j in session.scalars(query)]
