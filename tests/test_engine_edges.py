"""Edges where the two systems move at once: money during a transfer, rejections fixed later,
hiccups in the middle of a pass, dead jobs, statuses that go back and forth."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import select

from connector import actions, hookimpl, jobs, pull, transfer
from connector.domain import KEY_LENGTH, Voucher, VoucherKind, VoucherLine
from connector.events import ClaimMoved
from connector.store.db import Store
from connector.store.schema import InvoiceRow, JobRow, LedgerEntryRow
from tests.support import Harness, new_world


def approved_and_due(h: Harness, **customer: Any) -> str:
    h.customer("10", **customer)
    no = h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    return no


def test_an_invoice_paid_while_its_transfer_waits_is_never_sent(store: Store) -> None:
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.world.inject("agency.register", 1)  # the agency is down for this pass
    h.sync()
    claim = h.claim(no)
    assert claim["list"] == "approved"
    assert "is being sent" in actions.cancel(h.ctx(), [claim["id"]]).refused[str(claim["id"])]
    h.world.erp.pay(no, "1000.00")  # the debtor pays the creditor in full meanwhile
    h.advance(minutes=10)
    h.sync()
    assert h.claim(no)["list"] == "dropped"
    assert h.cases_for(no) == 0 and h.world.agency.registrations == 0


def test_a_part_payment_during_the_transfer_is_reported_once_the_case_exists(
        store: Store) -> None:
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.world.inject("agency.register.lost_reply", 1)  # registered, but the answer is lost
    h.sync()
    h.world.erp.pay(no, "300.00")
    for _ in range(4):
        h.advance(minutes=15)
        h.sync()
    assert h.claim(no)["list"] == "open" and h.cases_for(no) == 1
    reported = [r.reduction for r in h.world.agency.reductions.values()]
    assert [(r.amount, r.case_id) for r in reported] == [
        (Decimal("300.00"), h.claim(no)["agency_case_id"])]
    assert h.world.agency.duplicate_reductions == 0


def test_a_hand_booked_payout_is_never_reported_as_a_direct_payment(store: Store) -> None:
    """booking = "none": the creditor books each payout himself, under his own reference."""
    h = Harness(store, new_world(), booking="none")
    no = approved_and_due(h, behaviour="instalments", instalments=4, pays_after_days=3)
    h.sync()
    booked: set[str] = set()
    for _ in range(60):
        h.advance(days=1)
        h.sync()
        for payout in h.world.agency.payouts.values():
            if payout.id in booked:
                continue
            booked.add(payout.id)
            principal = [ln for ln in payout.lines if ln.kind.value == "principal"]
            lines = [VoucherLine(account="1920", amount=sum(ln.amount for ln in principal))]
            lines += [VoucherLine(account="1500", amount=-ln.amount, customer_no="10",
                                  invoice_no=no) for ln in principal]
            h.world.erp.post_voucher(Voucher(reference=f"bank-{payout.id}", kind=VoucherKind.POSTED,
                                         date=h.world.today, description="Agency payout",
                                         lines=lines))
    assert booked, "the agency paid out"
    assert h.world.agency.reductions == {}
    with store.session() as s:
        handled = {e.handled for e in s.scalars(select(LedgerEntryRow))
                   if e.external_reference and e.external_reference.startswith("bank-")}
    assert handled <= {"own_payout", "ignored"} and "own_payout" in handled


def test_a_write_off_is_reversed_in_full_over_several_payouts(store: Store) -> None:
    h = Harness(store, new_world())
    no = approved_and_due(h, behaviour="instalments", instalments=4, pays_after_days=3)
    h.sync()
    h.world.erp.write_off([no], h.world.today, account="7830")
    for _ in range(90):
        h.advance(days=1)
        h.sync()
        for voucher in list(h.world.erp.vouchers.values()):
            if not voucher.posted and voucher.origin == "import":
                h.world.erp.approve_proposal(voucher.id)
    with store.session() as s:
        from connector.store.schema import ClaimRow

        claim = s.scalars(select(ClaimRow)).one()
    case = h.world.agency.cases[claim.agency_case_id or ""]
    assert claim.written_off == Decimal("1000.00")
    assert claim.write_off_reversed == case.paid_principal == Decimal("1000.00")


def test_r11_is_kept_when_a_pass_fails_after_reading_the_customers(store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    no = h.invoice(due_in_days=-5)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(minutes=30)
    h.world.erp.exclude_customer("10")  # R11, inside the grace window
    h.world.inject("erp.invoices", 1)  # the pass fails after the customers were read
    assert not h.sync().ok
    h.advance(hours=2)
    h.sync()
    assert h.claim(no)["list"] == "dropped" and h.cases_for(no) == 0


def test_a_rejected_claim_goes_through_with_the_fixed_data(store: Store) -> None:
    h = Harness(store, new_world())
    no = approved_and_due(h, organization_number="923609017")  # a wrong check digit
    h.sync()
    assert "not a valid" in h.claim(no)["obstacles"][0]["message"]
    h.world.update_customer("10", organization_number="923609016")
    h.advance(hours=1)
    h.sync()
    assert h.claim(no)["list"] == "open" and h.cases_for(no) == 1
    case = h.world.agency.cases[h.claim(no)["agency_case_id"]]
    assert case.request.debtor.organization_number == "923609016"


def test_a_dead_transfer_is_a_failure_of_every_pass_until_retried(store: Store) -> None:
    h = Harness(store, new_world(), job_attempts=2, call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.world.inject("agency.register", 2)
    h.sync()
    h.advance(minutes=5)
    h.sync()
    h.advance(days=1)
    report = h.sync()
    assert any("gave up after 2 attempts" in f.reason for f in report.failures)
    with store.session() as s:
        [job] = s.scalars(select(JobRow)).all()
        assert job.state == "dead"
        assert jobs.retry(s, ["test"], None, h.world.now) == [job.id]
    h.sync()
    assert h.claim(no)["list"] == "open" and h.cases_for(no) == 1
    assert h.sync().ok


def test_status_back_and_forth_ends_showing_the_latest(store: Store) -> None:
    h = Harness(store, new_world())
    no = approved_and_due(h)
    h.sync()
    invoice_id, claim_id = h.world.erp.invoice(no).id, h.claim(no)["id"]
    first = h.world.erp.case_status[invoice_id].status_text
    for action in ("pause", "resume"):
        assert actions.at_agency(h.ctx(), action, [claim_id]).ok
        h.advance(minutes=10)
        h.sync()
    assert h.world.erp.case_status[invoice_id].status_text == first
    assert h.claim(no)["status"] == first


def test_a_dry_run_tells_plugins_nothing(store: Store) -> None:
    heard: list[str] = []

    class Listener:
        @hookimpl
        def connector_claim_event(self, event: ClaimMoved) -> None:
            heard.append(event.new)

    h = Harness(store, new_world())
    h.pm.register(Listener())
    h.customer("10")
    h.invoice(due_in_days=-5)
    assert h.sync(dry_run=True).moved == {"draft": 1}
    assert heard == [] and h.claims() == []
    h.sync()
    assert heard == ["draft"]


def test_the_erp_is_told_each_status_once(store: Store) -> None:
    h = Harness(store, new_world())
    no = approved_and_due(h)
    h.sync()
    invoice_id = h.world.erp.invoice(no).id
    assert h.world.erp.case_status[invoice_id].status_text == h.claim(no)["status"]  # R8 at once
    writes = h.world.erp.status_writes
    for _ in range(3):  # the agency's case is re-read, nothing changed: nothing is written
        h.advance(minutes=1)
        h.sync()
    assert h.world.erp.status_writes == writes


def test_a_part_payment_before_a_retried_transfer_is_counted_once(store: Store) -> None:
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.world.inject("agency.register", 1)  # the first attempt never reaches the agency
    h.sync()
    h.world.erp.pay(no, "300.00")
    for _ in range(4):
        h.advance(minutes=15)
        h.sync()
    case = h.world.agency.cases[h.claim(no)["agency_case_id"]]
    assert case.balance == h.world.erp.invoice(no).balance == Decimal("700.00")


def test_a_debtors_instalment_equal_to_a_payout_line_is_still_reported(store: Store) -> None:
    h = Harness(store, new_world())  # payouts booked as proposals, not yet approved
    no = approved_and_due(h, behaviour="instalments", instalments=4, pays_after_days=3)
    h.sync()
    while not h.world.agency.payouts:
        h.advance(days=1)
        h.sync()
    payout = next(iter(h.world.agency.payouts.values()))
    [line] = [ln for ln in payout.lines if ln.kind.value == "principal"]
    h.world.erp.pay(no, line.amount)  # the debtor pays the creditor the same sum directly
    h.advance(minutes=10)
    h.sync()
    assert [r.reduction.amount for r in h.world.agency.reductions.values()] == [line.amount]


def test_our_reversal_line_alone_on_a_page_is_known_as_ours(sqlite_store: Store) -> None:
    """A payout voucher's write-off reversal comes back from the ledger as a negative
    write-off under ``payout:…``; whatever page it lands on, it is not a new write-off."""
    from datetime import UTC, date, datetime

    from connector import ledger
    from connector.domain import LedgerEntry, LedgerKind

    entry = LedgerEntry(id="L1", invoice_id="inv", kind=LedgerKind.WRITE_OFF,
                        amount=Decimal("-250.00"), on=date(2026, 5, 4),
                        external_reference="payout:S7", changed_at=datetime.now(UTC))
    with sqlite_store.session() as s:
        assert ledger._own_payouts(s, "test", [entry])(entry)


def test_a_direct_payment_whose_ledger_id_is_as_long_as_the_store_keeps_is_reported(
        store: Store, monkeypatch: Any) -> None:
    """A ledger entry's id of up to ``KEY_LENGTH`` characters is a valid id: the job that
    reports its payment does not grow it past the limit with its ``payment:`` prefix."""
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.sync()
    assert h.claim(no)["list"] == "open"
    side = type(h.world.erp)
    counter = side.next_id
    monkeypatch.setattr(side, "next_id", lambda self: int("9" * 93 + str(counter(self))))
    h.world.erp.pay(no, "300.00")
    monkeypatch.setattr(side, "next_id", counter)
    for _ in range(3):
        h.advance(minutes=15)
        report = h.sync()
    with store.session() as s:
        (entry_id,) = s.scalars(select(LedgerEntryRow.erp_id))
    assert KEY_LENGTH - 8 < len(entry_id) <= KEY_LENGTH and report.ok
    assert [r.reduction.amount for r in h.world.agency.reductions.values()] == [
        Decimal("300.00")]


def test_a_case_id_longer_than_any_key_is_kept_whole_and_its_case_followed(
        store: Store, monkeypatch: Any) -> None:
    """The agency's id comes back from a registration that has happened: the claim goes
    Open with it on both databases, and the case's later news still reaches the claim."""
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h, behaviour="full", pays_after_days=1)
    side = type(h.world.agency)
    counter = side.next_id
    monkeypatch.setattr(side, "next_id", lambda self: int("7" * 150 + str(counter(self))))
    report = h.sync()
    monkeypatch.setattr(side, "next_id", counter)
    claim = h.claim(no)
    assert report.ok and claim["list"] == "open" and len(claim["agency_case_id"]) > 150
    for _ in range(5):
        h.advance(days=1)
        assert h.sync().ok
    assert h.claim(no)["list"] == "archived"


def test_a_retried_transfer_whose_invoice_left_the_mirror_asks_the_agency_first(
        store: Store, monkeypatch: Any) -> None:
    """A try before may have reached the agency: it is asked; with no case there, the claim
    goes back to Approved with the reason, cancellable, and nothing is sent or dropped."""
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    h.world.inject("agency.register", 1)  # the agency is down: the job is tried again
    h.sync()
    assert h.claim(no)["state"] == "transfer_failed"
    h.advance(minutes=10)
    lose_after_each_pull(monkeypatch, store, no)
    looked: list[str] = []
    find = h.agency.find_case

    def noted(reference: str, **kw: Any) -> Any:
        looked.append(reference)
        return find(reference, **kw)

    monkeypatch.setattr(h.agency, "find_case", noted)
    h.sync()
    claim = h.claim(no)
    assert looked and h.cases_for(no) == 0 and h.world.agency.registrations == 0
    assert (claim["list"], claim["state"]) == ("approved", "approved")
    assert claim["status"].startswith(f"Blocked: invoice {no} is not in the store's copy")
    assert actions.cancel(h.ctx(), [claim["id"]]).ok


def test_a_first_transfer_whose_invoice_left_the_mirror_is_not_started(
        store: Store, monkeypatch: Any) -> None:
    """Never tried: the claim stays in Approved with the reason, not sent, still cancellable,
    and later passes keep it so instead of sending or forgetting it."""
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    scheduled = transfer.schedule

    def schedule_then_lose_it(ctx: Any) -> None:
        scheduled(ctx)
        with store.session() as s:
            s.execute(sa_delete(InvoiceRow).where(InvoiceRow.invoice_no == no))

    monkeypatch.setattr(transfer, "schedule", schedule_then_lose_it)
    h.sync()
    monkeypatch.setattr(transfer, "schedule", scheduled)
    for _ in range(2):
        claim = h.claim(no)
        assert (claim["list"], claim["state"]) == ("approved", "approved")
        assert claim["status"].startswith(f"Blocked: invoice {no} is not in the store's copy")
        assert h.cases_for(no) == 0
        with store.session() as s:  # a dry run would not send it either
            assert transfer.pending_transfers(s, "test", h.world.now) == []
        h.advance(hours=1)
        h.sync()
    assert actions.cancel(h.ctx(), [claim["id"]]).ok


def test_an_excluded_customer_drops_the_claim_though_its_invoice_left_the_mirror(
        store: Store, monkeypatch: Any) -> None:
    """R11 is read on the fresh card before anything else: the claim is dropped, not held
    back for an invoice the store no longer has."""
    h = Harness(store, new_world(), call_retries=1, job_backoff="1m")
    no = approved_and_due(h)
    lose_after_each_pull(monkeypatch, store, no)
    h.world.erp.exclude_customer("10")
    h.sync()
    assert h.claim(no)["list"] == "dropped" and h.cases_for(no) == 0


def lose_after_each_pull(monkeypatch: Any, store: Store, invoice_no: str) -> None:
    """The invoice leaves the store's copy of the ERP right after each pull, as a record set
    aside by an upgrade would (a pull would otherwise read it back)."""
    pulled = pull.pull_erp

    def pull_then_lose_it(ctx: Any) -> Any:
        touched = pulled(ctx)
        with store.session() as s:
            s.execute(sa_delete(InvoiceRow).where(InvoiceRow.invoice_no == invoice_no))
        return touched

    monkeypatch.setattr(pull, "pull_erp", pull_then_lose_it)
