"""What a pass reads at its start, in one statement: an idle link must cost next to nothing.

The link's company, its cursors, the resources with open item errors and the kinds of its
unfinished jobs are four small reads; sent as one ``UNION ALL`` they are one round trip.
Each row is tagged with what it is; the columns are those of a cursor row, which the
others fill as far as they need.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    CompoundSelect,
    String,
    case,
    cast,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from connector import jobs
from connector.context import PassStart
from connector.domain import Company
from connector.store.schema import CompanyRow, CursorRow, ItemErrorRow, JobRow
from connector.store.types import UtcDateTime

CURSOR, COMPANY, ERRORS, UNFINISHED, DEAD = "cursor", "company", "errors", "unfinished", "dead"


def _tag(name: str) -> Any:
    return literal_column(f"'{name}'", String)


def _query(link: str) -> CompoundSelect:
    # Typed NULLs, since PostgreSQL reads an untyped one in a grouped select as text.
    no_time, no_data = cast(null(), UtcDateTime), cast(null(), JSON)
    cursors = select(_tag(CURSOR).label("what"), CursorRow.resource.label("name"),
                     CursorRow.value, CursorRow.updated_at, no_data.label("data")
                     ).where(CursorRow.link == link)
    company = select(_tag(COMPANY), cast(null(), String), no_time, no_time, CompanyRow.data
                     ).where(CompanyRow.link == link)
    errors = select(_tag(ERRORS), ItemErrorRow.resource, no_time, no_time, no_data).where(
        ItemErrorRow.link == link, ItemErrorRow.resolved_at.is_(None)
    ).group_by(ItemErrorRow.resource)
    job_kinds = select(
        case((JobRow.state == jobs.JobState.DEAD.value, _tag(DEAD)), else_=_tag(UNFINISHED)),
        JobRow.kind, no_time, no_time, no_data,
    ).where(JobRow.link == link, jobs.unfinished()).group_by(JobRow.kind, JobRow.state)
    return union_all(cursors, company, errors, job_kinds)


def read(session: Session, link: str) -> PassStart:
    """The link's company, cursors, resources with open item errors, kinds of queued or
    running jobs and whether any job is dead, read at once."""
    known = PassStart(company=None, cursors={}, errors_open=set())
    for what, name, value, updated_at, data in session.execute(_query(link)):
        if what == CURSOR:
            known.cursors[name] = (value, updated_at)
        elif what == COMPANY:
            known.company = Company.model_validate(data)
        elif what == ERRORS:
            known.errors_open.add(name)
        elif what == DEAD:
            known.dead = True
        else:
            known.unfinished.add(name)
    return known
