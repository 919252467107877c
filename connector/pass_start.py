"""What a pass reads at its start, in one statement: an idle link must cost next to nothing.

The link's company, its cursors, the resources with open item errors, the kinds of its
unfinished jobs and whether it has approved claims are five small reads; sent as one
``UNION ALL`` they are one round trip.
Each row is tagged with what it is; the columns are those of a cursor row, which the
others fill as far as they need.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    CompoundSelect,
    String,
    bindparam,
    case,
    cast,
    exists,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from connector import jobs
from connector.context import PassStart
from connector.domain import ClaimState, Company
from connector.store.schema import ClaimRow, CompanyRow, CursorRow, ItemErrorRow, JobRow
from connector.store.types import UtcDateTime

CURSOR, COMPANY, ERRORS, UNFINISHED, DEAD, APPROVED = (
    "cursor", "company", "errors", "unfinished", "dead", "approved")


def _tag(name: str) -> Any:
    return literal_column(f"'{name}'", String)


@cache
def _query() -> CompoundSelect:
    """Built once, for any link (``:link``): an idle pass spends no time building it."""
    link = bindparam("link", type_=String)
    # Typed NULLs, since PostgreSQL reads an untyped one in a grouped select as text.
    no_name, no_time, no_data = cast(null(), String), cast(null(), UtcDateTime), cast(null(), JSON)
    cursors = select(_tag(CURSOR).label("what"), CursorRow.resource.label("name"),
                     CursorRow.value, CursorRow.updated_at, no_data.label("data")
                     ).where(CursorRow.link == link)
    company = select(_tag(COMPANY), no_name, no_time, no_time, CompanyRow.data
                     ).where(CompanyRow.link == link)
    errors = select(_tag(ERRORS), ItemErrorRow.resource, no_time, no_time, no_data).where(
        ItemErrorRow.link == link, ItemErrorRow.resolved_at.is_(None)
    ).group_by(ItemErrorRow.resource)
    job_kinds = select(
        case((JobRow.state == jobs.JobState.DEAD.value, _tag(DEAD)), else_=_tag(UNFINISHED)),
        JobRow.kind, no_time, no_time, no_data,
    ).where(JobRow.link == link, jobs.unfinished()).group_by(JobRow.kind, JobRow.state)
    approved = select(_tag(APPROVED), no_name, no_time, no_time, no_data).where(
        exists().where(ClaimRow.link == link, ClaimRow.state == ClaimState.APPROVED.value))
    return union_all(cursors, company, errors, job_kinds, approved)


def read(session: Session, link: str) -> PassStart:
    """The link's company, cursors, resources with open item errors, kinds of queued or
    running jobs, whether any job is dead and whether any claim is approved, read at once
    (in Core: the ORM's own work would cost an idle pass more than the round trip)."""
    known = PassStart(company=None, cursors={}, errors_open=set())
    for what, name, value, updated_at, data in session.connection().execute(
            _query(), {"link": link}):
        if what == CURSOR:
            known.cursors[name] = (value, updated_at)
        elif what == COMPANY:
            known.company = Company.model_validate(data)
        elif what == ERRORS:
            known.errors_open.add(name)
        elif what == DEAD:
            known.dead = True
        elif what == APPROVED:
            known.approved = True
        else:
            known.unfinished.add(name)
    return known
