"""The PowerOffice adapter on recorded cassettes: what it sends and how it reads the answers.

A cassette is recorded from the emulator the first time (``record_mode="once"``) with the
keys, the Basic credentials, the subscription key and every token scrubbed before it is
written, and replayed afterwards, so these tests pin the wire traffic. Each test checks the
adapter's results and the traffic in its cassette, which hold whether the answers came from
the emulator or from the file. To record again, delete ``tests/poweroffice/cassettes/`` and
run these tests; ``docs/adapters/poweroffice.md`` says how to record against PowerOffice's
demo environment instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import structlog
from vcr.cassette import Cassette

from connector.clock import ManualClock
from connector.domain import InvoiceKind, Voucher, VoucherKind, VoucherLine
from connector.errors import AdapterError, ConfigError, TransientError
from connector.http import redact
from tests.cassettes import SCRUBBED, body, recorder, sent
from tests.poweroffice.conftest import CREDENTIALS, Client, client
from tests.support import FULL_ADDRESS, START, new_world

CASSETTES = Path(__file__).parent / "cassettes"
RECORDER = recorder(CASSETTES, lambda: CREDENTIALS,
                    headers=("authorization", "ocp-apim-subscription-key"))


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    with RECORDER.use_cassette(f"{request.node.name}.yaml") as recorded:
        yield recorded


def statuses(cassette: Cassette, path: str) -> list[int]:
    return [response["status"]["code"] for request, response in
            zip(cassette.requests, cassette.responses, strict=True)
            if request.path.endswith(path)]


def customers(po: Client, numbers: range) -> None:
    for number in numbers:
        po.world.add_customer(str(number), f"Kunde {number} AS", address=FULL_ADDRESS)
        po.world.advance(timedelta(minutes=1))


def payout_voucher(po: Client, reference: str, kind: VoucherKind,
                   invoice_no: str) -> Voucher:
    return Voucher(reference=reference, kind=kind, date=po.world.today,
                   description="Collection payout 7", lines=[
                       VoucherLine(account="1920", amount=Decimal("400.00")),
                       VoucherLine(account="1500", amount=Decimal("-400.00"), customer_no="10",
                                   invoice_no=invoice_no, description="Principal collected")])


def test_a_token_then_its_renewal_after_expiry(po: Client, cassette: Cassette) -> None:
    assert po.erp.company().name == "Test AS"
    po.clock.now += 21 * 60  # past the token's 20 minutes
    assert [c.number for p in po.erp.customers(None) for c in p.items] == ["10"]
    tokens = sent(cassette, "POST", "/OAuth/Token")
    assert len(tokens) == 2
    assert all(t.body == b"grant_type=client_credentials" for t in tokens)
    assert all(t.headers["Authorization"] == SCRUBBED for t in tokens)  # Basic, not on disk
    calls = [r for r in cassette.requests if "/v2/" in r.path]
    assert all(r.headers["Ocp-Apim-Subscription-Key"] == SCRUBBED for r in calls)
    assert [r.path.rsplit("/", 1)[-1] for r in cassette.requests] == [
        "Token", "ClientIntegrationInformation", "Token", "Customers"]


def test_a_token_revoked_early_is_renewed_once(po: Client, cassette: Cassette) -> None:
    po.erp.company()
    po.emulator.expire_tokens()
    assert [c.number for p in po.erp.customers(None) for c in p.items] == ["10"]
    assert statuses(cassette, "/Customers") == [401, 200]
    assert len(sent(cassette, "POST", "/OAuth/Token")) == 2


def test_paging_over_three_pages_and_a_204(cassette: Cassette) -> None:
    po = client(page_size=2)
    customers(po, range(11, 15))  # five customers in all
    pages = [p.items for p in po.erp.customers(None)]
    assert len(pages) >= 3 and all(len(items) <= 2 for items in pages)
    numbers = [c.number for items in pages for c in items]
    assert numbers == ["10", "11", "12", "13", "14"]  # each once, oldest change first
    cursor = pages[-1][-1].changed_at
    assert list(po.erp.customers(cursor)) == []
    queries = [dict(r.query) for r in sent(cassette, "GET", "/Customers")]
    assert {(q["PageSize"], q["OrderBy"]) for q in queries} == {
        ("2", "LastChangedDateTimeOffset")}
    # each next page asks from the last change time seen, as the filter moves on
    after = [q.get("lastChangedDateTimeOffsetGreaterThan") for q in queries]
    assert after[0] is None and after[1:-1] == sorted(set(after[1:-1]))
    assert after[-1] == cursor.isoformat()
    assert statuses(cassette, "/Customers") == [200] * (len(queries) - 1) + [204]


def test_an_incremental_read_with_an_exclusive_cursor(po: Client, cassette: Cassette) -> None:
    numbers = [po.world.erp.add_invoice("10", f"{n}00.00").invoice_no for n in (1, 2, 3)]
    everything = [i for p in po.erp.invoices(None) for i in p.items]
    assert [i.invoice_no for i in everything] == numbers
    cursor = everything[1].changed_at
    po.world.erp.pay(numbers[0], "50.00")
    later = [i for p in po.erp.invoices(cursor) for i in p.items]
    assert [(i.invoice_no, i.balance) for i in later] == [
        (numbers[2], Decimal("300.00")), (numbers[0], Decimal("50.00"))]
    assert all(i.changed_at > cursor and i.kind is InvoiceKind.INVOICE for i in later)
    second = dict(sent(cassette, "GET", "/OutgoingInvoices")[1].query)
    assert second["balanceLastChangedDateTimeOffsetGreaterThan"] == cursor.isoformat()
    assert second["OrderBy"] == "BalanceLastChangedDateTimeOffset"


def test_429_with_and_without_retry_after(cassette: Cassette) -> None:
    waits: list[float] = []
    po = client()
    po.erp.http._sleep = waits.append
    po.emulator.inject("customers", 429)  # PowerOffice's: no Retry-After
    po.emulator.inject("customers", 429, retry_after=3)
    assert [c.number for p in po.erp.customers(None) for c in p.items] == ["10"]
    assert statuses(cassette, "/Customers") == [429, 429, 200]
    assert waits[0] >= 1.0 and waits[1] == 3.0


def test_past_ten_requests_a_second_the_emulator_answers_429(cassette: Cassette) -> None:
    """The emulator's own limit: the eleventh call within a second is refused without
    ``Retry-After``; the kit waits at least a second and the call goes through."""
    po = client(rate=10)
    po.erp.http._sleep = lambda seconds: setattr(po.clock, "now", po.clock.now + seconds)
    for _ in range(9):  # the token and nine reads in the same second
        po.erp.customers_by_number(["10"])
    assert [c.number for c in po.erp.customers_by_number(["10"])] == ["10"]
    codes = [response["status"]["code"] for response in cassette.responses]
    assert codes.count(429) == 1 and codes[-1] == 200 and len(codes) == 12
    refused = cassette.responses[codes.index(429)]
    assert "retry-after" not in {k.lower() for k in refused["headers"]}


def test_a_500_then_success(po: Client, cassette: Cassette) -> None:
    po.world.erp.add_invoice("10", "1000.00")
    po.emulator.inject("invoices", 500)
    assert len([i for p in po.erp.invoices(None) for i in p.items]) == 1
    assert statuses(cassette, "/OutgoingInvoices") == [500, 200]


def test_a_401_is_a_clear_configuration_error(cassette: Cassette) -> None:
    po = client(client_key="po-client-key-not-granted")
    with pytest.raises(ConfigError) as refused:
        po.erp.company()
    message = str(refused.value)
    assert "token request was refused" in message and "invalid_client" in message
    assert "keys in the configuration" in message
    po = client()
    po.emulator.inject("customers", 401, times=2)
    with pytest.raises(ConfigError) as again:
        list(po.erp.customers(None))
    assert "401" in str(again.value) and "credentials were refused" in str(again.value)
    assert statuses(cassette, "/Customers") == [401, 401]  # renewed once, never retried


def test_a_403_names_the_missing_privileges(po: Client, cassette: Cassette) -> None:
    invoice_no = po.world.erp.add_invoice("10", "1000.00").invoice_no
    po.emulator.denied.add("vouchers")
    with pytest.raises(ConfigError) as refused:
        po.erp.post_voucher(payout_voucher(po, "payout:1", VoucherKind.POSTED, invoice_no))
    message = str(refused.value)
    assert "403" in message and "BankJournalVoucher" in message
    (info,) = [r for r in cassette.responses if b"InvalidPrivileges" in r["body"]["string"]]
    assert json.loads(info["body"]["string"])["InvalidPrivileges"] == ["BankJournalVoucher"]
    assert statuses(cassette, "/Vouchers/BankJournals") == [403]


@pytest.fixture
def frozen() -> Iterator[Client]:
    """The adapter on a clock that stands still: the windows of its retry checks are the
    same when the cassette replays (the world's clock moves only while recording)."""
    made = client(clock=ManualClock(START + timedelta(hours=1)))
    yield made
    made.erp.close()


def test_a_posted_voucher_retried_after_a_crash_is_one_voucher(frozen: Client,
                                                               cassette: Cassette) -> None:
    po = frozen
    invoice_no = po.world.erp.add_invoice("10", "1000.00").invoice_no
    voucher = payout_voucher(po, "payout:7", VoucherKind.POSTED, invoice_no)
    po.emulator.inject("post_voucher", 500, after=True)  # booked, then the answer is lost
    with pytest.raises(TransientError):
        po.erp.post_voucher(voucher)
    found = po.erp.find_voucher(voucher.reference)  # the retry looks first
    assert found is not None and found.kind is VoucherKind.POSTED
    with pytest.raises(AdapterError, match="400"):
        po.erp.post_voucher(voucher)  # and PowerOffice refuses a second one anyway
    assert statuses(cassette, "/Vouchers/BankJournals") == [500, 400]
    (post, _) = sent(cassette, "POST", "/Vouchers/BankJournals")
    sent_body = body(post)
    assert sent_body["ExternalImportReference"] == "payout:7"
    assert [(ln["AccountId"], ln["CurrencyAmount"], ln["InvoiceNo"])
            for ln in sent_body["VoucherLines"]] == [
        (11920, 400.0, None), (500_000_000 + int(po.world.erp.customer("10").id), -400.0,
                               invoice_no)]
    (lookup,) = [dict(r.query) for r in sent(cassette, "GET", "/AccountTransactions")]
    assert lookup["createdDateTimeOffsetGreaterThan"] < START.isoformat()


def test_a_proposal_posted_by_the_accountant_before_the_retry_is_not_proposed_again(
        frozen: Client, cassette: Cassette) -> None:
    po = frozen
    invoice_no = po.world.erp.add_invoice("10", "1000.00").invoice_no
    voucher = payout_voucher(po, "payout:8", VoucherKind.PROPOSAL, invoice_no)
    po.emulator.inject("propose", 500, after=True)
    with pytest.raises(TransientError):
        po.erp.post_voucher(voucher)
    for proposal in po.world.erp.proposals():  # none when the cassette replays
        po.world.erp.approve_proposal(proposal.id)  # the accountant posts it meanwhile
    found = po.erp.find_voucher(voucher.reference)
    assert found is not None and found.kind is VoucherKind.POSTED
    with pytest.raises(AdapterError, match="not proposed again"):
        po.erp.post_voucher(voucher)
    assert len(sent(cassette, "POST", "/JournalEntryVouchers/BankJournals")) == 1
    lists = [dict(r.query) for r in sent(cassette, "GET", "/JournalEntryVouchers")]
    assert lists and all("isPosted" not in q for q in lists)  # posted ones are seen too
    (pair,) = body(sent(cassette, "POST", "/JournalEntryVouchers/BankJournals")[0])[
        "BankJournalLines"]
    assert (pair["DebitAccountId"], pair["CurrencyAmount"], pair["InvoiceNo"]) == (
        11920, 400.0, invoice_no)
    assert "[ref payout:8]" in body(
        sent(cassette, "POST", "/JournalEntryVouchers/BankJournals")[0])["Description"]


def test_no_credential_in_any_cassette_or_log_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs failing and secret-bearing calls with logs captured, then searches them and
    every cassette on disk for the test credentials."""
    with structlog.testing.capture_logs() as logs:
        po = client(new_world(), client_key="po-client-key-not-granted")
        with pytest.raises(ConfigError) as refused:
            po.erp.company()
        po = client(status_writeback={"application_key": "x" * 8, "client_key": "y" * 8,
                                      "root_url": "https://goapi.poweroffice.test/v1"})
        po.emulator.inject("customers", 500, times=5)
        with pytest.raises(TransientError) as failed:
            list(po.erp.customers(None))
    captured = [json.dumps(line, default=str) for line in logs]
    captured += [str(refused.value), str(failed.value), repr(po.erp.settings),
                 redact(f"key={CREDENTIALS[0]}"), *capsys.readouterr()]
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassette recorded"
    texts = captured + [f.read_text(encoding="utf-8") for f in files]
    for secret in CREDENTIALS:
        leaks = [t[:80] for t in texts if secret in t]
        assert leaks == [], f"a credential leaked into {len(leaks)} text(s)"
    assert any("access_token" in t and SCRUBBED in t for t in texts)  # tokens scrubbed too
