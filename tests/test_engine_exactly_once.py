"""Exactly-once effects on at-least-once jobs (docs/guarantees.md): one agency case per invoice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from connector import actions
from connector.domain import AgencyCase, CaseRequest
from connector.store.db import Store
from connector.store.schema import JobRow
from connector_adapters.mock.agency import MockAgency
from tests.support import Harness, new_world


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


class CrashAfterAccept(MockAgency):
    """The agency accepts the case, then the connector dies before it can record that."""

    crashes = 1

    def register_case(self, request: CaseRequest) -> AgencyCase:
        case = super().register_case(request)
        if self.crashes:
            self.crashes -= 1
            raise Crash
        return case


def approved_due(h: Harness, n: int = 3) -> list[str]:
    h.customer("10")
    nos = [h.invoice(due_in_days=-5) for _ in range(n)]
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    return nos


def test_same_sync_twice_makes_one_case_per_invoice(store: Store) -> None:
    h = Harness(store, new_world())
    nos = approved_due(h)
    h.sync()
    h.sync()
    h.advance(hours=1)
    h.sync()
    assert [h.cases_for(no) for no in nos] == [1, 1, 1]
    assert h.world.agency.duplicates == 0
    assert {c["list"] for c in h.claims()} == {"open"}


def test_crash_between_agency_accept_and_store_record(store: Store) -> None:
    world = new_world()
    h = Harness(store, world, agency=CrashAfterAccept(world))
    nos = approved_due(h)
    with pytest.raises(Crash):
        h.sync()
    # The agency has the first case, the store does not know it; the claim cannot be
    # cancelled any more because its transfer had started.
    assert sorted(h.cases_for(no) for no in nos) == [0, 0, 1]
    crashed = next(no for no in nos if h.cases_for(no) == 1)
    first = h.claim(crashed)
    assert first["list"] == "approved"
    assert "can no longer be stopped" in actions.cancel(h.ctx(), [first["id"]]).refused[
        str(first["id"])]
    h.sync()  # the job's lease runs on, but the agency's news names the case: recorded
    assert h.claim(crashed)["list"] == "open"
    assert any("Found at the agency as case" in line for line in h.history(first["id"]))
    assert sorted(c["list"] for c in h.claims()) == ["approved", "approved", "open"]
    h.advance(minutes=11)  # past the 10-minute lease: the job is taken up again
    h.sync()
    assert [h.cases_for(no) for no in nos] == [1, 1, 1]
    assert world.agency.duplicates == 0 and world.agency.registrations == 3
    assert {c["list"] for c in h.claims()} == {"open"}
    with store.session() as s:
        job = s.scalars(select(JobRow).where(JobRow.key == f"case:{first['invoice_id']}")).one()
    assert (job.state, job.attempts) == ("done", 2)


def test_transient_agency_errors_are_retried_without_duplicates(store: Store) -> None:
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    nos = approved_due(h, 2)
    h.world.inject("agency.register", 3)
    report = h.sync()
    assert not report.ok
    assert all(f.resource == "transfer" for f in report.failures)
    for _ in range(4):
        h.advance(minutes=30)
        h.sync()
    assert [h.cases_for(no) for no in nos] == [1, 1]
    assert h.world.agency.duplicates == 0


def test_dead_letter_after_max_attempts_keeps_the_error(store: Store) -> None:
    h = Harness(store, new_world(), call_retries=1, job_attempts=2, job_backoff="1m")
    (no,) = approved_due(h, 1)
    h.world.inject("agency.register", 10)
    h.sync()
    h.advance(minutes=5)
    h.sync()
    with store.session() as s:
        job = s.scalars(select(JobRow)).one()
    assert job.state == "dead" and "TransientError" in (job.last_error or "")
    assert "gave up" in h.history(h.claim(no)["id"])[-1]


def test_dry_run_writes_nothing_anywhere(store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    no = h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    before_world = h.world.snapshot()
    before_claims = h.claims()
    report = h.sync(dry_run=True)
    assert [c["invoice_no"] for c in report.transferred] == [no]
    assert h.claims() == before_claims
    assert h.world.snapshot() == before_world
    with store.session() as s:
        assert s.scalars(select(JobRow)).all() == []


def test_veto_hook_keeps_a_claim_in_approved(store: Store) -> None:
    from connector import hookimpl

    class Veto:
        @hookimpl
        def connector_veto_transfer(self, link: str, claim: dict[str, Any]) -> str | None:
            return "credit check pending"

    h = Harness(store, new_world())
    h.pm.register(Veto())
    (no,) = approved_due(h, 1)
    report = h.sync()
    assert h.claim(no)["list"] == "approved"
    assert "credit check pending" in h.claim(no)["obstacles"][0]["message"]
    assert report.blocked and h.cases_for(no) == 0
