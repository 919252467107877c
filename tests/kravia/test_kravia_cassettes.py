"""The Kravia adapter on recorded cassettes: what it sends and how it reads the answers.

A cassette is recorded from the emulator the first time (``record_mode="once"``) with the
token and every webhook secret scrubbed before it is written, and replayed afterwards, so
these tests pin the wire traffic. Each test checks the adapter's results and the traffic in
its cassette, which hold whether the answers came from the emulator or from the file.
To record again, delete ``tests/kravia/cassettes/`` and run these tests.
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

from connector.domain import ClaimReduction, LedgerKind, PayoutLineKind
from connector.errors import AdapterError, ConfigError, TransientError
from connector.http import redact
from tests.cassettes import SCRUBBED, body, recorder, sent
from tests.kravia.conftest import CREDENTIALS, TOKEN, WEBHOOK_SECRET, Creditor, creditor
from tests.support import FULL_ADDRESS, new_world

CASSETTES = Path(__file__).parent / "cassettes"
RECORDER = recorder(CASSETTES, lambda: CREDENTIALS, headers=("authorization",))


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    with RECORDER.use_cassette(f"{request.node.name}.yaml") as recorded:
        yield recorded


def test_registration(kravia: Creditor, cassette: Cassette) -> None:
    case = kravia.agency.register_case(kravia.request("4711", **{"address": FULL_ADDRESS.model_copy(
        update={"line2": "Bakgården"})}))
    assert case.reference == "inv-4711" and case.id.isdigit()
    (post,) = sent(cassette, "POST", "/api/v2/invoice/register")
    wire = body(post)
    assert wire["claimType"] == "CollectionCase" and wire["creditorId"] == 10759
    assert wire["accountingInvoiceId"] == "inv-4711" and wire["debtorNumber"] == "10"
    assert wire["isPrivateIndividual"] == "false" and wire["organizationNumber"] == "923609016"
    assert wire["postalAddress"] == {"addressAddressLine1": "Storgata 12, Bakgården",
                                     "addressPostalCode": "0155", "addressCity": "Oslo",
                                     "addressCountryCode": "NO"}
    assert (wire["invoiceDate"], wire["dueDate"]) == ("2026-01-27", "2026-02-10")
    assert wire["originalAmount"] == 1250.0 and wire["currencyCode"] == "NOK"
    assert post.headers["Authorization"] == SCRUBBED  # no Bearer, and not on disk


def test_a_crash_after_kravia_accepted_then_the_retry_is_one_case(
        kravia: Creditor, cassette: Cassette) -> None:
    request = kravia.request("4712")
    first_attempt = kravia.world.now
    kravia.emulator.inject("register", 500, after=True)  # accepted, then the answer is lost
    with pytest.raises(TransientError):
        kravia.agency.register_case(request)
    found = kravia.agency.find_case(request.reference, since=first_attempt, request=request)
    assert found is not None and found.reference == "inv-4712"
    assert len(sent(cassette, "POST", "/invoice/register")) == 1
    (search,) = sent(cassette, "GET", "/invoice/search")
    since = dict(search.query)["lastUpdatedTime"]
    assert since < first_attempt.replace(tzinfo=None).isoformat()  # from just before it


def test_incremental_changes_across_pages(cassette: Cassette) -> None:
    kravia = creditor(page_size=2)
    ids = [kravia.agency.register_case(kravia.request(str(4720 + n))).id for n in range(5)]
    pages = list(kravia.agency.changes(None))
    assert len(pages) >= 3 and all(len(p.items) <= 2 for p in pages)
    assert [u.case_id for p in pages for u in p.items] == ids  # each once, oldest first
    cursor = max(u.changed_at for p in pages for u in p.items)
    kravia.world.advance(timedelta(minutes=5))
    kravia.agency.report_reduction(ClaimReduction(
        reference="payment:77", kind=LedgerKind.PAYMENT, case_id=ids[3],
        invoice_reference="inv-4723", on=kravia.world.today, amount=Decimal("100.00"),
        description="Direct payment"))
    later = [u for p in kravia.agency.changes(cursor) for u in p.items]
    assert [u.case_id for u in later] == [ids[3]]
    assert later[0].remaining_principal == Decimal("1150.00")
    searches = [dict(s.query) for s in sent(cassette, "GET", "/invoice/search")]
    assert {(q["top"], q["orderBy"], q["byAscending"]) for q in searches} == {("2", "11", "True")}
    # each next page asks from the last time seen, as the guide describes
    times = [q["lastUpdatedTime"] for q in searches[:len(pages)]]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_details_become_history_events_without_duplicates(cassette: Cassette) -> None:
    world = new_world()
    world.add_customer("10", "Nordlys AS", organization_number="923609016",
                       address=FULL_ADDRESS, behaviour="never")
    kravia = creditor(world)
    case = kravia.agency.register_case(kravia.request("4730"))
    kravia.world.advance(timedelta(days=30))  # notice, phone call, payment demand
    (update,) = [u for p in kravia.agency.changes(None) for u in p.items]
    (again,) = [u for p in kravia.agency.changes(None) for u in p.items]
    ids = [e.id for e in update.events]
    assert len(ids) == len(set(ids)) >= 3
    assert [e.id for e in again.events] == ids  # the same ids on every read
    assert [e.at for e in update.events] == sorted(e.at for e in update.events)
    recorded = json.loads(next(r for r in cassette.responses
                               if b'"timeline"' in r["body"]["string"])["body"]["string"])
    assert recorded["activities"], "the emulator shows calls among activities too"
    shown = {(e["time"], e["type"]) for e in recorded["timeline"] + recorded["activities"]}
    assert len(update.events) == len(shown) == len(recorded["timeline"])
    assert update.case_id == case.id


def test_a_direct_payment_and_a_credit_note_are_each_reported_once(
        kravia: Creditor, cassette: Cassette) -> None:
    case = kravia.agency.register_case(kravia.request("4740", amount="2000.00"))
    payment = ClaimReduction(reference="payment:501", kind=LedgerKind.PAYMENT,
                             case_id=case.id, invoice_reference="inv-4740",
                             on=kravia.world.today, amount=Decimal("300.00"),
                             description="Direct payment on invoice 4740")
    credit = payment.model_copy(update={"reference": "credit_note:502",
                                        "kind": LedgerKind.CREDIT_NOTE,
                                        "amount": Decimal("200.00"),
                                        "description": "Credit note on invoice 4740"})
    for reduction in (payment, credit):
        assert not kravia.agency.reduction_reported(reduction.reference, case_id=case.id)
        kravia.agency.report_reduction(reduction)
        assert kravia.agency.reduction_reported(reduction.reference, case_id=case.id)
    (pay,) = sent(cassette, "POST", "/invoice/payment")
    assert body(pay) == {"date": "2026-03-02", "description": "Direct payment on invoice 4740",
                         "AccountingPaymentId": "payment:501", "amount": 300.0,
                         "invoices": [{"invoiceId": int(case.id), "amount": 300.0}]}
    (note,) = sent(cassette, "POST", "/invoice/creditnote")
    assert body(note) == {"Date": "2026-03-02T00:00:00", "Amount": -200.0,
                          "AccountingPaymentId": "credit_note:502",
                          "Description": "Credit note on invoice 4740",
                          "Invoices": [{"InvoiceId": int(case.id), "Amount": -200.0}]}
    (update,) = [u for p in kravia.agency.changes(None) for u in p.items]
    assert update.remaining_principal == Decimal("1500.00")


def test_settlements_become_payouts_and_are_bookkept(cassette: Cassette) -> None:
    world = new_world()
    world.add_customer("10", "Nordlys AS", organization_number="923609016",
                       address=FULL_ADDRESS, behaviour="full", pays_after_days=2)
    kravia = creditor(world)
    case = kravia.agency.register_case(kravia.request("4750"))
    kravia.world.advance(timedelta(days=4))
    kravia.world.agency.make_payout()
    (payout,) = [p for page in kravia.agency.payouts() for p in page.items]
    principal = [ln for ln in payout.lines if ln.kind is PayoutLineKind.PRINCIPAL]
    assert [(ln.case_id, ln.reference, ln.amount) for ln in principal] == [
        (case.id, "inv-4750", Decimal("1250.00"))]
    kravia.agency.mark_booked(payout.id, "voucher-9")
    kravia.agency.mark_booked(payout.id, "voucher-9")  # again: harmless
    assert [p for page in kravia.agency.payouts() for p in page.items] == []
    (listing, *_) = sent(cassette, "GET", "/settlements")
    assert dict(listing.query) == {"ExcludeClosed": "true"}
    marks = sent(cassette, "PATCH", f"/settlements/{payout.id}/bookkeep")
    assert [dict(m.query) for m in marks] == [{"internalAccountingId": "voucher-9"}] * 2


def test_a_401_is_a_clear_configuration_error(kravia: Creditor, cassette: Cassette) -> None:
    kravia.emulator.inject("search", 401)
    with pytest.raises(ConfigError) as refused:
        kravia.agency.find_case("inv-1")
    message = str(refused.value)
    assert "kravia" in message and "401" in message and "credentials" in message
    assert TOKEN not in message
    assert len(cassette.requests) == 1  # never retried


def test_429_and_5xx_are_retried(kravia: Creditor, cassette: Cassette) -> None:
    kravia.emulator.inject("search", 429, retry_after=1)
    kravia.emulator.inject("search", 503)
    kravia.emulator.inject("details", 502)
    kravia.agency.register_case(kravia.request("4760"))
    updates = [u for p in kravia.agency.changes(None) for u in p.items]
    assert [u.reference for u in updates] == ["inv-4760"]
    statuses = [r["status"]["code"] for r in cassette.responses]
    assert statuses == [200, 429, 503, 200, 502, 200]


def test_webhook_registration_keeps_the_secret_off_disk(kravia: Creditor,
                                                       cassette: Cassette) -> None:
    kravia.agency.register_webhook("https://connector.example/webhooks/kravia/acme")
    (put,) = sent(cassette, "PUT", "/api/v2/creditor/10759/webhook")
    assert body(put) == {"secret": SCRUBBED, "enabled": True,
                         "url": "https://connector.example/webhooks/kravia/acme"}
    assert kravia.emulator.webhooks == {} or (
        kravia.emulator.webhooks[10759].secret == WEBHOOK_SECRET)


def test_no_credential_in_any_cassette_or_log_line(kravia: Creditor,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Runs the failing and the secret-bearing calls with logs captured, then searches them
    and every cassette on disk for the test credentials."""
    with structlog.testing.capture_logs() as logs:
        kravia.emulator.inject("register", 401)
        with pytest.raises(ConfigError) as refused:
            kravia.agency.register_case(kravia.request("4770"))
        kravia.emulator.inject("webhook", 400)
        with pytest.raises(AdapterError) as failed:
            kravia.agency.register_webhook("https://example.invalid/hook")
    captured = [json.dumps(line, default=str) for line in logs]
    captured += [str(refused.value), str(failed.value), redact(f"token={TOKEN}"),
                 *capsys.readouterr()]
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "no cassette recorded"
    texts = captured + [f.read_text(encoding="utf-8") for f in files]
    for secret in CREDENTIALS:
        leaks = [t for t in texts if secret in t]
        assert leaks == [], f"a credential leaked into {len(leaks)} text(s)"
