"""Transfers a batch at a time: every intent recorded before the first call, the results
written together, the cost of a round flat in the number of cases (docs/performance.md)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import select

from connector import actions, transfer
from connector.domain import AgencyCase, CaseRequest, ClaimState
from connector.store.db import Store
from connector.store.schema import ClaimRow, JobRow
from connector_adapters.mock.agency import MockAgency
from tests.support import Harness, new_world
from tests.test_engine_exactly_once import approved_due


class Watching(MockAgency):
    """Notes, at each registration, the states of every claim as the store has them."""

    store: Store
    seen: list[list[str]]

    def register_case(self, request: CaseRequest) -> AgencyCase:
        with self.store.session() as s:
            self.seen.append(sorted(s.scalars(select(ClaimRow.state))))
        return super().register_case(request)


def watching(store: Store) -> tuple[Harness, Watching]:
    world = new_world()
    agency = Watching(world)
    agency.store, agency.seen = store, []
    return Harness(store, world, agency=agency), agency


def test_every_intent_of_a_batch_is_recorded_before_its_first_call(store: Store) -> None:
    h, agency = watching(store)
    nos = approved_due(h, 4)
    h.sync()
    assert agency.seen[0] == ["transferring"] * 4  # none can be cancelled any more (R6)
    assert [h.cases_for(no) for no in nos] == [1, 1, 1, 1]
    for no in nos:
        lines = h.history(h.claim(no)["id"])
        started = next(i for i, line in enumerate(lines) if "Transfer to the agency started"
                       in line)
        assert any("Transferred to the agency as case" in line for line in lines[started:])
    with store.session() as s:
        assert set(s.scalars(select(JobRow.state).where(JobRow.kind == transfer.KIND))) \
            == {"done"}


def transfer_transactions(h: Harness) -> int:
    """Transactions begun while the pass carries out its transfer jobs."""
    begun: list[Any] = []
    original = transfer.run_transfers

    def count(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            begun.append(conn)

    def counted(ctx: Any) -> None:
        sa.event.listen(h.store.engine, "begin", count)
        try:
            original(ctx)
        finally:
            sa.event.remove(h.store.engine, "begin", count)

    transfer.run_transfers = counted
    try:
        h.sync()
    finally:
        transfer.run_transfers = original
    return len(begun)


def test_a_transfer_round_costs_two_transactions_for_2_or_12_cases(store: Store) -> None:
    """One for the batch's intents, one for its results, however many cases it holds."""
    h = Harness(store, new_world())
    first = approved_due(h, 2)
    assert transfer_transactions(h) == 2
    more = [h.invoice(due_in_days=-5) for _ in range(12)]
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    assert transfer_transactions(h) == 2
    assert [h.cases_for(no) for no in first + more] == [1] * 14


def test_a_claim_cancelled_before_its_batch_starts_is_not_sent(store: Store) -> None:
    """The intent is recorded under the claim's lock: a claim moved meanwhile is skipped,
    its job cancelled, and the rest of the batch goes on."""
    h = Harness(store, new_world())
    nos = approved_due(h, 3)
    original = transfer._Batch.start

    def cancel_one_first(self: Any, claimed: list[Any]) -> None:
        ctx = h.ctx()
        with ctx.tx() as s:  # a user's cancel racing the transfer, just before it
            row = s.get(ClaimRow, h.claim(nos[1])["id"])
            assert row is not None
            ctx.claims.move(s, [row], ClaimState.DRAFT, ctx.now(), "Cancelled", source="user")
        original(self, claimed)

    transfer._Batch.start = cancel_one_first  # type: ignore[method-assign]
    try:
        h.sync()
    finally:
        transfer._Batch.start = original  # type: ignore[method-assign]
    assert [h.cases_for(no) for no in nos] == [1, 0, 1]
    assert h.claim(nos[1])["list"] == "draft"
    with store.session() as s:
        states = {key: state for key, state in s.execute(
            select(JobRow.key, JobRow.state).where(JobRow.kind == transfer.KIND))}
    assert states[transfer.job_key(h.claim(nos[1])["invoice_id"])] == "cancelled"


def intent_statements(h: Harness) -> list[str]:
    """The statements of the pass's intent steps (``_Batch.start``), first words only."""
    seen: list[str] = []
    original = transfer._Batch.start

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    def counted(self: Any, claimed: list[Any]) -> None:
        sa.event.listen(h.store.engine, "before_cursor_execute", note)
        try:
            original(self, claimed)
        finally:
            sa.event.remove(h.store.engine, "before_cursor_execute", note)

    transfer._Batch.start = counted  # type: ignore[method-assign]
    try:
        h.sync()
    finally:
        transfer._Batch.start = original  # type: ignore[method-assign]
    return seen


def test_the_intent_step_reads_its_invoices_as_columns_in_the_same_statements_for_2_or_12(
        store: Store) -> None:
    """Claims locked and moved, their invoices' open flag and balance read as columns in one
    query, the requests' balances written in one UPDATE, however many cases the batch has."""
    h = Harness(store, new_world())
    approved_due(h, 2)
    two = intent_statements(h)
    for _ in range(12):
        h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    assert intent_statements(h) == two
    assert "SELECT invoices.erp_id, invoices.is_open," in two
    assert two.count("UPDATE jobs SET") == 1
