"""The engine with the real Kravia adapter over its emulator, in place of the mock agency.

The emulator keeps its books in the same mock world as the mock ERP, so the world counts
what a real Kravia would hold twice: a second case for one reference, a reduction reported
twice, a settlement bookkept twice.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from connector import actions
from connector.domain import AgencyCase, CaseRequest
from connector.store.db import Store
from connector.store.schema import ClaimRow
from connector_adapters.mock.world import World
from tests.kravia.conftest import creditor
from tests.support import Harness, new_world
from tests.test_way_back import check_round_trip


def over_kravia(store: Store, world: World) -> Harness:
    return Harness(store, world, agency=creditor(world).agency)


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def test_a_crash_after_kravia_accepted_the_case_ends_as_one_case(sqlite_store: Store) -> None:
    kravia = creditor(new_world())
    h = Harness(sqlite_store, kravia.world, agency=kravia.agency)  # customer 10 is there
    invoice_no = h.invoice("10", due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    register = kravia.agency.register_case

    def accepted_then_died(request: CaseRequest) -> AgencyCase:
        register(request)
        raise Crash

    kravia.agency.register_case = accepted_then_died  # type: ignore[method-assign]
    with pytest.raises(Crash):
        h.sync()
    kravia.agency.register_case = register  # type: ignore[method-assign]
    assert len(h.world.agency.cases) == 1 and h.claim(invoice_no)["list"] == "approved"
    h.advance(minutes=11)  # past the job's lease
    kravia.emulator.requests.clear()
    h.sync()
    claim = h.claim(invoice_no)
    (case_id,) = h.world.agency.cases
    assert claim["list"] == "open" and claim["agency_case_id"] == case_id
    assert h.world.agency.duplicates == 0 and h.world.agency.registrations == 1
    assert kravia.emulator.count("register") == 0  # found by the search instead
    assert kravia.emulator.requests[0][0] == "search"  # the pass looked before anything
    # The agency's changes are read before any transfer: the case is found there, and the
    # transfer's retry finds its claim Open.
    assert any(f"Found at the agency as case {case_id}" in line
               for line in h.history(claim["id"]))


@pytest.mark.parametrize("step", [timedelta(hours=6)])
def test_120_days_over_the_kravia_emulator(sqlite_store: Store, step: timedelta) -> None:
    check_round_trip(sqlite_store, step, 1, over_kravia)
    with sqlite_store.session() as s:
        assert all(c.agency_case_id for c in s.scalars(select(ClaimRow)))
