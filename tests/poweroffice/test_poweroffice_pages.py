"""A page is validated in one call into pydantic, and row by row only when it holds a bad
record: the bad one is set aside with its reason, the others are read as before."""

from __future__ import annotations

import json
from typing import Any

import httpx

from connector.domain import Invoice
from connector_adapters.poweroffice import wire
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from tests.poweroffice.conftest import settings, unlimited


def invoice_row(number: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "Id": f"00000000-0000-0000-0000-{number:012d}", "InvoiceNo": number,
        "VoucherDate": "2026-02-01", "DueDate": "2026-02-15", "CustomerNo": 10,
        "CustomerId": 1, "Cid": None, "TotalAmount": 1250.5, "TotalPostedAmount": 1250.5,
        "Balance": 1250.5, "CurrencyCode": "NOK", "VoucherType": wire.OUTGOING_INVOICE,
        "MatchId": number, "IsReversed": False,
        "LastChangedDateTimeOffset": f"2026-02-01T08:00:{number % 60:02d}+01:00",
        "BalanceLastChangedDateTimeOffset": f"2026-02-01T08:00:{number % 60:02d}+01:00"}
    row.update(changes)
    return row


def erp_serving(rows: list[dict[str, Any]]) -> PowerOfficeErp:
    """The adapter over a PowerOffice that answers one page of invoices: ``rows``."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(wire.TOKEN_PATH):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1200})
        assert request.url.path.endswith(wire.OUTGOING_INVOICES)
        # Written by hand, so the amounts stay numbers with a fraction, as PowerOffice sends.
        return httpx.Response(200, content=json.dumps(rows).encode(),
                              headers={"Content-Type": "application/json"})

    return PowerOfficeErp(settings(), transport=httpx.MockTransport(answer), limiter=unlimited(),
                          sleep=lambda _: None)


def read(rows: list[dict[str, Any]]) -> tuple[list[Invoice], dict[str, str]]:
    erp = erp_serving(rows)
    try:
        pages = list(erp.invoices(None))
    finally:
        erp.close()
    items = [item for page in pages for item in page.items]
    rejected = {r.key: r.reason for page in pages for r in page.rejected}
    return items, rejected


def test_a_clean_page_is_read_whole_with_exact_money() -> None:
    items, rejected = read([invoice_row(n) for n in (1, 2, 3)])
    assert [i.invoice_no for i in items] == ["1", "2", "3"]
    assert not rejected
    assert all(str(i.amount) == "1250.50" for i in items)
    assert all(i.changed_at.utcoffset() is not None for i in items)


def test_a_bad_wire_record_and_a_bad_domain_record_are_set_aside_the_rest_is_read() -> None:
    rows = [invoice_row(1), invoice_row(2, VoucherDate="not a date"),
            invoice_row(3, TotalPostedAmount=10.125), invoice_row(4)]
    items, rejected = read(rows)
    assert [i.invoice_no for i in items] == ["1", "4"]
    assert set(rejected) == {rows[1]["Id"], rows[2]["Id"]}
    assert "VoucherDate" in rejected[rows[1]["Id"]]
    assert "more than two decimals" in rejected[rows[2]["Id"]]
