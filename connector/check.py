"""``connector check``: is the store sound, and does it agree with the agency?

The store's own integrity check (SQLite's ``PRAGMA integrity_check``; PostgreSQL checks its
pages itself) and, per link, one paged read of the agency's cases compared with the claims:
every Open claim has its agency case, and every case of the link is a claim in the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from connector.context import LinkContext
from connector.domain import ClaimList
from connector.store.db import Store
from connector.store.schema import ClaimRow


@dataclass(frozen=True)
class Problem:
    where: str
    text: str


def check_store(store: Store) -> list[Problem]:
    """The database's own consistency check."""
    if store.dialect != "sqlite":
        return []
    with store.engine.connect() as conn:
        lines = [str(r[0]) for r in conn.execute(text("PRAGMA integrity_check"))]
    return [] if lines == ["ok"] else [Problem("store", line) for line in lines]


def check_link(ctx: LinkContext) -> list[Problem]:
    """Open claims against the agency's cases, read once, page by page."""
    with ctx.tx() as session:
        open_cases = [(case_id, claim_id) for case_id, claim_id in session.execute(
            select(ClaimRow.agency_case_id, ClaimRow.id).where(
                ClaimRow.link == ctx.link, ClaimRow.list_name == ClaimList.OPEN.value))]
        known = set(session.scalars(select(ClaimRow.agency_case_id).where(
            ClaimRow.link == ctx.link, ClaimRow.agency_case_id.is_not(None))))
    problems = [Problem(ctx.link, f"claim {claim_id} is Open without an agency case")
                for case_id, claim_id in open_cases if case_id is None]
    seen: set[str] = set()
    for page in ctx.agency.changes(None):
        for case in page.items:
            seen.add(case.case_id)
            if case.case_id not in known:
                problems.append(Problem(ctx.link, (
                    f"agency case {case.case_id} (reference {case.reference}) is not in the "
                    "store; the next sync adopts it")))
    problems += [Problem(ctx.link, f"claim {claim_id} is Open but the agency has no case "
                         f"{case_id}") for case_id, claim_id in open_cases
                 if case_id is not None and case_id not in seen]
    return problems
