"""An emulator of the PowerOffice Go endpoints the adapter uses, over the mock world's ERP.

It answers on the published paths with the published fields (``wire``; request bodies with
an unknown field are refused) and enforces what the real service does: the token flow
(client credentials, Basic application key : client key, a token living 20 minutes), the
subscription key on every call, 10 requests per second per subscription key (then 429,
without ``Retry-After``), bare JSON arrays paged by ``PageNumber``/``PageSize`` (at most
20000) and ordered by ``OrderBy``, 204 for an empty list, exclusive ``…GreaterThan``
filters, required parameters, a refused repeated ``ExternalImportReference``, account and
VAT *ids* on voucher lines, ProblemDetails errors whose key casing varies, and 401/403
without a body (``/ClientIntegrationInformation`` names the missing privileges). The v1
debt-collection routes for status write-back are served under ``/v1``.

Faults (any status, before the work or after it: the answer lost) and latency can be
injected. Tests run it in-process (``transport``); ``connector demo --http`` serves it on
127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.domain import (
    CaseStatus,
    InvoiceKind,
    LedgerKind,
    LetterKind,
    Voucher,
    VoucherKind,
    VoucherLine,
)
from connector.errors import UserError
from connector.http import jsonio
from connector.http.emulation import EmulatorControls, Fault
from connector_adapters.mock.erp_world import CUSTOMER_LEDGER, MockInvoice, MockVoucher
from connector_adapters.mock.state import parse_date
from connector_adapters.mock.world import World
from connector_adapters.poweroffice import guesses, wire

API = wire.API_PREFIX
V1 = "/v1"
_NAMESPACE = uuid.UUID("0b6f3c1e-5d2a-4e8b-9c47-2a1d6e9f4b30")
CHART = (1500, 1920, 2400, 2710, 3000, 4000, 6800, 7770, 7790, 7830, 8050)
"""The client's chart of accounts (NS 4102) the emulator knows."""
VAT_CODES = (("0", Decimal(0)), ("1", Decimal(25)), ("3", Decimal(25)), ("5", Decimal(0)))
_ACCOUNT_ID = 10_000
_SUBLEDGER_ID = 500_000_000
_INVOICE_ENTRY_ID = 7_000_000_000
_LETTER_TYPES = {kind: name for name, kind in guesses.LETTER_KINDS.items()}
PRIVILEGES = {
    "customers": "Customer", "invoices": "OutgoingInvoice", "ledger": "CustomerLedger",
    "accounts": "GeneralLedgerAccount", "vat": "VatCode", "transactions": "AccountTransaction",
    "vouchers": "BankJournalVoucher", "proposals": "JournalEntryVoucher",
}
"""The privilege each group of endpoints needs (named as the emulator names them)."""


class Problem(Exception):
    """An error answer: a status and, except for 401, 403 and 429, a ProblemDetails body."""

    def __init__(self, status: int, title: str = "", detail: str = "", *,
                 casing: str = "pascal", body: dict[str, Any] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.detail, self.casing = status, title, detail, casing
        self.body = body

    def response(self) -> Response:
        if self.status in (401, 403, 429) and self.body is None:
            return Response(status_code=self.status)
        content = self.body
        if content is None:
            names = ("Type", "Title", "Status", "Detail")
            if self.casing == "camel":
                names = tuple(n.lower() for n in names)  # type: ignore[assignment]
            content = dict(zip(names, (f"https://httpstatuses.io/{self.status}", self.title,
                                       self.status, self.detail), strict=True))
        return Response(jsonio.dumps(content), self.status,
                        media_type="application/problem+json")


@dataclass
class Keys:
    """What PowerOffice issued: the integration's application key, the client keys of the
    clients that granted it access, and the subscription keys."""

    application_key: str
    client_keys: tuple[str, ...]
    subscription_keys: tuple[str, ...]


@dataclass
class PowerOfficeEmulator(EmulatorControls):
    """PowerOffice Go for one client (the world's company)."""

    world: World
    keys: Keys
    rate: int | None = wire.RATE_LIMIT_PER_SECOND
    """Requests per second per subscription key before 429 (None: no limit)."""
    clock: Callable[[], float] = time.monotonic
    """The seconds tokens and the rate limit count in."""
    latency: float = 0.0
    """Seconds every answer takes."""
    token_lifetime: int = wire.TOKEN_LIFETIME_SECONDS
    pagination_header: bool = True
    """Send ``X-Pagination`` (it is not in the spec: the adapter must do without it too)."""
    denied: set[str] = field(default_factory=set)
    """Privileges the integration lacks on this client (keys of ``PRIVILEGES``)."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    """Held around every use of the world: hold it too when moving the world's time."""
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    """(operation, path, query) of every request answered, for tests to count."""
    rate_limited: int = 0
    arrivals: list[float] = field(default_factory=list)
    """When each request with a known subscription key arrived (``clock``)."""
    tokens_issued: int = 0
    duplicate_proposals: int = 0
    """Proposals carrying a reference another proposal carries (PowerOffice takes them)."""
    debt_cases: dict[str, str] = field(default_factory=dict)
    """v1 cases by code: their ids."""
    duplicate_debt_cases: int = 0
    _case_invoice: dict[str, str] = field(default_factory=dict)
    _listed: dict[Any, tuple[list[dict[str, Any]], list[Any]]] = field(default_factory=dict)
    _listed_at: datetime | None = None
    _entries: list[dict[str, Any]] = field(default_factory=list)
    _entries_at: datetime | None = None
    _tokens: dict[str, float] = field(default_factory=dict)
    _window: dict[str, deque[float]] = field(default_factory=dict)
    _voucher_ids: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        get, post = ["GET"], ["POST"]
        ops: list[tuple[str, str, Callable[[Request], Awaitable[Any]], list[str], str | None]] = [
            ("info", wire.CLIENT_INTEGRATION_INFORMATION, self._info, get, None),
            ("customers", wire.CUSTOMERS, self._customers, get, "customers"),
            ("invoices", wire.OUTGOING_INVOICES, self._invoices, get, "invoices"),
            ("statement", wire.CUSTOMER_LEDGER_STATEMENT, self._statement, get, "ledger"),
            ("matches", wire.CUSTOMER_LEDGER_BY_MATCH_ID, self._matches, get, "ledger"),
            ("accounts", wire.GENERAL_LEDGER_ACCOUNTS, self._accounts, get, "accounts"),
            ("vat", wire.VAT_CODES, self._vat_codes, get, "vat"),
            ("transactions", wire.ACCOUNT_TRANSACTIONS, self._transactions, get,
             "transactions"),
            ("post_voucher", wire.POSTED_BANK_JOURNALS, self._post_voucher, post, "vouchers"),
            ("voucher", wire.POSTED_BANK_JOURNAL, self._voucher, get, "vouchers"),
            ("proposals", wire.JOURNAL_ENTRY_VOUCHERS, self._proposals, get, "proposals"),
            ("propose", wire.UNPOSTED_BANK_JOURNALS, self._propose, post, "proposals"),
            ("proposal", wire.UNPOSTED_BANK_JOURNAL, self._proposal, get, "proposals"),
        ]
        routes = [Route(wire.TOKEN_PATH, self._token_endpoint(v2=True), methods=post),
                  Route(V1 + guesses.V1_TOKEN_PATH, self._token_endpoint(v2=False),
                        methods=post)]
        routes += [Route(API + path, self._op(name, handle, privilege), methods=methods)
                   for name, path, handle, methods, privilege in ops]
        routes += [
            Route(V1 + wire.DEBT_COLLECTION, self._op("debt_cases", self._debt_cases, None,
                                                      v2=False), methods=["GET", "POST"]),
            Route(V1 + wire.UPDATE_STATUS, self._op("update_status", self._update_status, None,
                                                    v2=False), methods=post),
        ]
        self.app = Starlette(routes=routes)

    # -- test controls ------------------------------------------------------------------------

    def count(self, operation: str) -> int:
        return sum(1 for op, _, _ in self.requests if op == operation)

    def expire_tokens(self) -> None:
        """Every token issued so far runs out now."""
        self._tokens = dict.fromkeys(self._tokens, self.clock())

    # -- the frame of every call --------------------------------------------------------------

    def _token_endpoint(self, *, v2: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                if v2:
                    self._pace(request)
                fault = self._fault("token")
                if fault is not None:
                    raise _fault_problem(fault)
                await self._delay()
                form = parse_qs((await request.body()).decode("utf-8", "replace"))
                if form.get("grant_type") != [wire.GRANT_TYPE]:
                    raise Problem(400, body={"error": "unsupported_grant_type"})
                if not self._basic_ok(request.headers.get("Authorization", "")):
                    raise Problem(400, body={"error": "invalid_client", "error_description":
                                             "The application key or client key is not valid"})
                token = secrets.token_urlsafe(32)
                with self.lock:
                    self._tokens[token] = self.clock() + self.token_lifetime
                    self.tokens_issued += 1
                    self.requests.append(("token", request.url.path, {}))
            except Problem as problem:
                return problem.response()
            return Response(jsonio.dumps({"access_token": token, "token_type": "bearer",
                                          "expires_in": self.token_lifetime}), 200,
                            media_type="application/json")

        return endpoint

    def _basic_ok(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            application, _, client = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return application == self.keys.application_key and client in self.keys.client_keys

    def _op(self, name: str, handle: Callable[[Request], Awaitable[Any]],
            privilege: str | None, *, v2: bool = True
            ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            status = 200
            try:
                if v2:
                    self._pace(request)
                self._authorise(request)
                if privilege in self.denied:
                    raise Problem(403)
                fault = self._fault(name)
                if fault is not None and not fault.after:
                    raise _fault_problem(fault)
                await self._delay()
                with self.lock:
                    self.requests.append((name, request.url.path, dict(request.query_params)))
                    body = await handle(request)
                if fault is not None:
                    raise _fault_problem(fault)
            except Problem as problem:
                return problem.response()
            if isinstance(body, Created):
                body, status = body.body, 201
            if body is None or body == []:
                return Response(status_code=204)
            headers = None
            if isinstance(body, Paged):
                headers = body.header if self.pagination_header else None
                body = body.rows
            return Response(jsonio.dumps(body), status, headers=headers,
                            media_type="application/json")

        return endpoint

    def _pace(self, request: Request) -> None:
        """The subscription key on every call, and at most ``rate`` calls per second."""
        key = request.headers.get(wire.SUBSCRIPTION_KEY_HEADER)
        if key not in self.keys.subscription_keys:
            raise Problem(401)
        now = self.clock()
        with self.lock:
            self.arrivals.append(now)
        if self.rate is None:
            return
        with self.lock:
            window = self._window.setdefault(key, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate:
                self.rate_limited += 1
                raise Problem(429)
            window.append(now)

    def _authorise(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        expires = self._tokens.get(token)
        if expires is None or self.clock() >= expires:
            raise Problem(401)

    async def _delay(self) -> None:
        if self.latency > 0:
            await asyncio.sleep(self.latency)

    # -- reads --------------------------------------------------------------------------------

    async def _info(self, request: Request) -> Any:
        granted = [p for key, p in PRIVILEGES.items() if key not in self.denied]
        return wire.ClientIntegrationInformation(
            ClientId=str(uuid.uuid5(_NAMESPACE, "client")), ClientName=self.world.erp.company.name,
            ValidPrivileges=granted,
            InvalidPrivileges=[PRIVILEGES[key] for key in sorted(self.denied)]).model_dump()

    async def _customers(self, request: Request) -> Any:
        query = request.query_params
        numbers = _number_filter(query.get(wire.CUSTOMER_NOS))
        return self._listing("customers", query, lambda: [
            self.customer(c) for c in self.world.erp.customers.values()
            if numbers is None or (c.number.isdigit() and numbers(int(c.number)))],
            {wire.LAST_CHANGED_AFTER: "LastChangedDateTimeOffset"})

    def customer(self, card: Any) -> dict[str, Any]:
        address = card.address
        return {
            "Id": int(card.id), "Number": _int_or_text(card.number), "Name": card.name,
            "IsPerson": card.is_person, "OrganizationNumber": card.organization_number,
            "EmailAddress": card.email, "PhoneNumber": card.phone,
            "MailAddress": {"AddressLine1": address.line1, "AddressLine2": address.line2,
                            "ZipCode": address.postal_code, "City": address.city,
                            "CountryCode": address.country},
            "TransferToDebtCollectionAgency": card.transfer_to_agency,
            "SendPaymentReminders": card.send_reminders,
            "SubledgerAccountId": _SUBLEDGER_ID + int(card.id),
            "LastChangedDateTimeOffset": card.changed_at.isoformat(),
        }

    async def _invoices(self, request: Request) -> Any:
        query = request.query_params
        numbers = _number_filter(query.get(wire.INVOICE_NOS))
        today = self.world.erp.today

        def build() -> list[dict[str, Any]]:
            rows = []
            for invoice in self.world.erp.invoices.values():
                issued = parse_date(invoice.invoice_date)
                if issued is not None and issued > today:
                    continue  # not issued yet
                if numbers is not None and not (invoice.invoice_no.isdigit()
                                                and numbers(int(invoice.invoice_no))):
                    continue
                rows.append(self.invoice(invoice))
            return rows

        return self._listing("invoices", query, build, {
            wire.BALANCE_CHANGED_AFTER: "BalanceLastChangedDateTimeOffset"})

    def invoice(self, invoice: MockInvoice) -> dict[str, Any]:
        card = self.world.erp.customers.get(invoice.customer_no)
        credit = invoice.kind is InvoiceKind.CREDIT_NOTE
        changed = invoice.changed_at.isoformat()
        return {
            "Id": invoice.id, "InvoiceNo": _int_or_text(invoice.invoice_no),
            "VoucherDate": invoice.invoice_date, "DueDate": invoice.due_date,
            "CustomerNo": _int_or_text(invoice.customer_no),
            "CustomerId": int(card.id) if card else None, "Cid": invoice.kid,
            "TotalAmount": invoice.amount, "TotalPostedAmount": invoice.amount,
            "Balance": invoice.balance, "CurrencyCode": invoice.currency,
            "VoucherType": wire.OUTGOING_CREDIT_NOTE if credit else wire.OUTGOING_INVOICE,
            "MatchId": None if credit else match_id(invoice.id), "IsReversed": invoice.deleted,
            "LastChangedDateTimeOffset": changed, "BalanceLastChangedDateTimeOffset": changed,
        }

    async def _statement(self, request: Request) -> Any:
        query = request.query_params
        start, end = _required_dates(query)
        types = query.get(wire.VOUCHER_TYPES)
        wanted = {t.strip() for t in types.split(",")} if types else None
        return self._listing("statement", query, lambda: [
            e for e in self.ledger_entries()
            if start <= date.fromisoformat(e["PostingDate"]) <= end
            and (wanted is None or e["VoucherType"] in wanted)],
            {wire.LAST_CHANGED_AFTER: "LastChangedDateTimeOffset"})

    async def _matches(self, request: Request) -> Any:
        raw = request.query_params.get(wire.MATCH_ID)
        if raw is None or not raw.isdigit():
            raise Problem(400, "One or more validation errors occurred.",
                          f"{wire.MATCH_ID} is required", casing="camel")
        return self._listing("matches", request.query_params, lambda: [
            e for e in self.ledger_entries() if e["MatchId"] == int(raw)], {})

    def ledger_entries(self) -> list[dict[str, Any]]:
        """The customer ledger: each invoice, each reminder-flow voucher with a fee, and each
        payment, credit note and write-off, matched with its invoice by ``MatchId`` (built
        once per state of the world)."""
        stamp = self.world.erp.now
        if self._entries_at != stamp:
            self._entries, self._entries_at = self._ledger_rows(), stamp
        return self._entries

    def _ledger_rows(self) -> list[dict[str, Any]]:
        erp = self.world.erp
        by_id = {i.id: i for i in erp.invoices.values()}
        today = erp.today
        rows = []
        for invoice in erp.invoices.values():
            issued = parse_date(invoice.invoice_date)
            if invoice.kind is not InvoiceKind.INVOICE or issued is None or issued > today:
                continue
            rows.append(self._entry(
                _INVOICE_ENTRY_ID + match_id(invoice.id), invoice, wire.OUTGOING_INVOICE,
                invoice.id, issued, invoice.amount, invoice.changed_at,
                invoice_no=invoice.invoice_no, due=invoice.due_date))
        for letter in erp.letters:
            reminded = by_id.get(letter.invoice_id)
            if reminded is None or letter.kind is LetterKind.REMINDER:
                continue  # a plain reminder carries no fee: no voucher
            rows.append(self._entry(
                _number(letter.id), reminded, _LETTER_TYPES[letter.kind],
                str(uuid.uuid5(_NAMESPACE, letter.id)), letter.sent_on, Decimal("0.00"),
                letter.changed_at, invoice_no=reminded.invoice_no,
                due=letter.due_date.isoformat()))
        for entry in erp.ledger:
            matched = by_id.get(entry.invoice_id)
            if matched is None:
                continue
            voucher = erp.find_voucher(entry.external_reference) \
                if entry.external_reference else None
            ours = voucher is not None and voucher.origin == "import"
            if entry.kind is LedgerKind.CREDIT_NOTE:
                kind = wire.OUTGOING_CREDIT_NOTE
            elif ours:
                kind = wire.BANK_JOURNAL
            elif entry.kind is LedgerKind.WRITE_OFF:
                kind = wire.MANUAL_JOURNAL
            else:
                kind = wire.INCOMING_PAYMENTS
            reference = (entry.external_reference if voucher is not None
                         and voucher.kind is VoucherKind.POSTED else None)
            rows.append(self._entry(
                _number(entry.id), matched, kind,
                self.voucher_id(voucher) if voucher else str(uuid.uuid5(_NAMESPACE, entry.id)),
                entry.on, -entry.amount, entry.changed_at,
                write_off=entry.kind is LedgerKind.WRITE_OFF and entry.amount > 0,
                reference=reference, ours=ours))
        return rows

    def _entry(self, entry_id: int, invoice: MockInvoice, voucher_type: str, voucher_id: str,
               on: date, amount: Decimal, changed: datetime, *, invoice_no: str | None = None,
               due: str | None = None, write_off: bool = False, reference: str | None = None,
               ours: bool = False) -> dict[str, Any]:
        return {
            "Id": entry_id, "VoucherId": voucher_id, "VoucherType": voucher_type,
            "VoucherDate": on.isoformat(), "PostingDate": on.isoformat(), "DueDate": due,
            "InvoiceNo": invoice_no, "Cid": invoice.kid,
            "CustomerAccountNo": _int_or_text(invoice.customer_no), "Amount": amount,
            "MatchId": match_id(invoice.id), "IsWriteOff": write_off,
            "ExternalImportReference": reference, "IsCreatedByCurrentIntegration": ours,
            "LastChangedDateTimeOffset": changed.isoformat(),
        }

    async def _accounts(self, request: Request) -> Any:
        numbers = _number_filter(request.query_params.get(wire.ACCOUNT_NOS))
        return self._listing("accounts", request.query_params, lambda: [
            {"Id": _ACCOUNT_ID + number, "AccountNo": number, "Name": f"Account {number}",
             "IsActive": True} for number in CHART if numbers is None or numbers(number)], {})

    async def _vat_codes(self, request: Request) -> Any:
        return self._listing("vat", request.query_params, lambda: [
            {"Id": n + 1, "Code": code, "Rate": rate, "IsActive": True}
            for n, (code, rate) in enumerate(VAT_CODES)], {})

    async def _transactions(self, request: Request) -> Any:
        query = request.query_params
        start, end = _required_dates(query)
        return self._listing("transactions", query, lambda: self._transaction_rows(start, end),
                             {wire.CREATED_AFTER: "CreatedDateTimeOffset"})

    def _transaction_rows(self, start: date, end: date) -> list[dict[str, Any]]:
        rows = []
        for voucher in self.world.erp.vouchers.values():
            if not voucher.posted or not start <= voucher.on <= end:
                continue
            reference = voucher.reference if voucher.kind is VoucherKind.POSTED \
                and voucher.origin == "import" else None
            for n, line in enumerate(voucher.lines):
                rows.append({
                    "Id": _number(voucher.id) * 1000 + n, "VoucherId": self.voucher_id(voucher),
                    "AccountNo": _int_or_text(line.account), "Amount": line.amount,
                    "ExternalImportReference": reference,
                    "CreatedDateTimeOffset": voucher.created_at.isoformat(),
                    "PostingDate": voucher.on.isoformat()})
        return rows

    # -- vouchers -----------------------------------------------------------------------------

    def voucher_id(self, voucher: MockVoucher) -> str:
        wire_id = str(uuid.uuid5(_NAMESPACE, voucher.id))
        self._voucher_ids[wire_id] = voucher.id
        return wire_id

    def world_voucher(self, wire_id: str) -> MockVoucher | None:
        """The world's voucher behind a wire id (None if there is none)."""
        known = self._voucher_ids.get(wire_id)
        if known is None:
            for voucher in self.world.erp.vouchers.values():
                self.voucher_id(voucher)
            known = self._voucher_ids.get(wire_id)
        return self.world.erp.vouchers.get(known) if known else None

    async def _post_voucher(self, request: Request) -> Any:
        body: wire.BankVoucherPost = await _body(request, wire.BankVoucherPost)
        if not body.VoucherLines:
            raise Problem(400, "The voucher has no lines", casing="camel")
        lines = [self._line(line.AccountId, line.CurrencyAmount, line.Description,
                            line.InvoiceNo, line.VatId) for line in body.VoucherLines]
        reference = body.ExternalImportReference or f"po:{uuid.uuid4()}"
        record = self._import(Voucher(reference=reference, kind=VoucherKind.POSTED,
                                      date=body.VoucherDate, description=body.Description or "",
                                      lines=lines, flagged=any(ln.flag for ln in lines)))
        return Created(wire.BankVoucher(Id=self.voucher_id(record),
                                        Description=record.description,
                                        ExternalImportReference=body.ExternalImportReference,
                                        VoucherDate=record.on).model_dump())

    async def _propose(self, request: Request) -> Any:
        body: wire.JournalEntryVoucherPost = await _body(request, wire.JournalEntryVoucherPost)
        if not body.BankJournalLines:
            raise Problem(400, "The voucher has no lines", casing="camel")
        lines: list[VoucherLine] = []
        for pair in body.BankJournalLines:
            if pair.DebitAccountId is None or pair.CreditAccountId is None:
                raise Problem(400, "A line needs a debit and a credit account", casing="camel")
            debit_customer = pair.DebitAccountId >= _SUBLEDGER_ID
            lines.append(self._line(pair.DebitAccountId, pair.CurrencyAmount, pair.Description,
                                    pair.InvoiceNo if debit_customer else None, pair.DebitVatId))
            lines.append(self._line(pair.CreditAccountId, -pair.CurrencyAmount,
                                    pair.Description,
                                    None if debit_customer else pair.InvoiceNo,
                                    pair.CreditVatId))
        description = body.Description or ""
        reference = guesses.reference_in(description) or f"jev:{uuid.uuid4()}"
        if self.world.erp.find_voucher(reference) is not None:
            self.duplicate_proposals += 1  # PowerOffice takes it: there is no reference
            reference = f"{reference}#{uuid.uuid4().hex[:8]}"
        record = self._import(Voucher(reference=reference, kind=VoucherKind.PROPOSAL,
                                      date=body.VoucherDate, description=description,
                                      lines=lines, flagged=any(ln.flag for ln in lines)))
        return Created(wire.JournalEntryVoucher(
            Id=self.voucher_id(record), Description=description,
            VoucherDate=record.on).model_dump())

    def _line(self, account_id: int, amount: Decimal, description: str | None,
              invoice_no: str | None, vat_id: int | None) -> VoucherLine:
        if vat_id is None or not 1 <= vat_id <= len(VAT_CODES):
            raise Problem(400, f"VatId {vat_id} is not a VAT code of this client")
        flag, text = guesses.flag_of(description)
        if account_id >= _SUBLEDGER_ID:
            card = next((c for c in self.world.erp.customers.values()
                         if _SUBLEDGER_ID + int(c.id) == account_id), None)
            if card is None:
                raise Problem(400, f"AccountId {account_id} is not an account of this client")
            return VoucherLine(account=CUSTOMER_LEDGER, amount=amount, customer_no=card.number,
                               invoice_no=invoice_no, description=text, flag=flag,
                               vat_code=VAT_CODES[vat_id - 1][0])
        number = account_id - _ACCOUNT_ID
        if number not in CHART:
            raise Problem(400, f"AccountId {account_id} is not an account of this client")
        return VoucherLine(account=str(number), amount=amount, invoice_no=invoice_no,
                           description=text, flag=flag, vat_code=VAT_CODES[vat_id - 1][0])

    def _import(self, voucher: Voucher) -> MockVoucher:
        try:
            return self.world.erp.post_voucher(voucher)
        except UserError as exc:
            raise Problem(400, "The voucher was refused", str(exc)) from None

    async def _voucher(self, request: Request) -> Any:
        voucher = self.world_voucher(request.path_params["id"])
        if voucher is None or not voucher.posted:
            raise Problem(404, "Not Found", f"no posted voucher {request.path_params['id']}")
        return wire.BankVoucher(Id=self.voucher_id(voucher), Description=voucher.description,
                                ExternalImportReference=voucher.reference
                                if voucher.kind is VoucherKind.POSTED else None,
                                VoucherDate=voucher.on).model_dump()

    async def _proposal(self, request: Request) -> Any:
        voucher = self.world_voucher(request.path_params["id"])
        if voucher is None or voucher.posted or voucher.kind is not VoucherKind.PROPOSAL:
            raise Problem(404, "Not Found", f"no journal entry voucher "
                                            f"{request.path_params['id']}", casing="camel")
        return wire.JournalEntryVoucher(Id=self.voucher_id(voucher),
                                        Description=voucher.description,
                                        VoucherDate=voucher.on).model_dump()

    async def _proposals(self, request: Request) -> Any:
        posted = request.query_params.get("isPosted")
        return self._listing("proposals", request.query_params, lambda: [
            r for r in self._proposal_rows()
            if posted is None or r["IsPosted"] == (posted.lower() == "true")], {
            wire.CREATED_AFTER: "CreatedDateTimeOffset",
            wire.LAST_CHANGED_AFTER: "LastChangedDateTimeOffset"})

    def _proposal_rows(self) -> list[dict[str, Any]]:
        return [{"Id": self.voucher_id(v), "VoucherType": wire.BANK_JOURNAL,
                 "IsPosted": v.posted, "IsCreatedByCurrentIntegration": True,
                 "CreatedDateTimeOffset": v.created_at.isoformat(),
                 "LastChangedDateTimeOffset": (v.posted_at or v.created_at).isoformat()}
                for v in self.world.erp.vouchers.values()
                if v.kind is VoucherKind.PROPOSAL and v.origin == "import"]

    def _listing(self, name: str, query: Mapping[str, str],
                 build: Callable[[], list[dict[str, Any]]],
                 filters: Mapping[str, str]) -> Paged | None:
        """Filter (``…GreaterThan``: exclusive), order (``OrderBy``), page; None: 204. The
        ordered rows are kept until the world changes, so paging through a big company
        costs a slice per page, not a rebuild."""
        order = query.get(wire.ORDER_BY)
        asked = tuple(sorted((k, v) for k, v in query.items()
                             if k not in filters and k not in (wire.PAGE_NUMBER,
                                                                wire.PAGE_SIZE)))
        key = (name, asked)
        stamp = self.world.erp.now
        if self._listed_at != stamp:
            self._listed, self._listed_at = {}, stamp
        if key not in self._listed:
            rows = build()
            if order:
                if rows and order not in rows[0]:
                    raise Problem(400, "Invalid OrderBy", f"cannot order by {order}")
                rows.sort(key=lambda r: (_sortable(r.get(order)), str(r.get("Id"))))
            self._listed[key] = (rows, [_sortable(r.get(order)) for r in rows] if order else [])
        rows, keys = self._listed[key]
        for param, field_name in filters.items():
            raw = query.get(param)
            if raw is None:
                continue
            after = _after(param, raw)
            if field_name == order:
                rows = rows[bisect.bisect_right(keys, after.timestamp()):]
            else:
                rows = [r for r in rows if r.get(field_name)
                        and datetime.fromisoformat(r[field_name]) > after]
        return _page(query, rows)

    # -- v1 debt collection --------------------------------------------------------------------

    async def _debt_cases(self, request: Request) -> Any:
        if request.method == "GET":
            wanted = _code_filter(request.query_params.get(wire.ODATA_FILTER))
            rows = [{"id": case_id, "code": code} for code, case_id in self.debt_cases.items()
                    if wanted is None or code == wanted]
            return {"data": rows, "count": len(rows), "success": True}
        body: wire.DebtCollectionCasePost = await _body(request, wire.DebtCollectionCasePost)
        known = {invoice.id for invoice in self.world.erp.invoices.values()}
        unknown = [i.id for i in body.invoices if i.id not in known]
        if unknown:
            raise Problem(400, "Unknown invoice", ", ".join(unknown), casing="camel")
        if body.code in self.debt_cases:
            self.duplicate_debt_cases += 1
        case_id = str(uuid.uuid4())
        self.debt_cases[body.code] = case_id
        self._case_invoice[case_id] = body.invoices[0].id
        return {"data": {"id": case_id, "code": body.code,
                         "balanceAgency": body.balanceAgency}, "success": True}

    async def _update_status(self, request: Request) -> Any:
        body: wire.StatusUpdate = await _body(request, wire.StatusUpdate)
        invoice_id = self._case_invoice.get(body.caseId)
        if invoice_id is None:
            raise Problem(404, "Not Found", f"no debt collection case {body.caseId}")
        code = next(c for c, i in self.debt_cases.items() if i == body.caseId)
        try:
            self.world.erp.write_status([CaseStatus(
                invoice_id=invoice_id, case_id=code, status_text=body.statusText,
                closed=body.isCaseClosed,
                balance_at_agency=body.updatedBalanceAgency or Decimal(0))])
        except (UserError, ValidationError) as exc:
            raise Problem(400, "The status was refused", str(exc)) from None
        return {"data": {"id": body.caseId, "code": code}, "success": True}


@dataclass
class Created:
    body: Any


@dataclass
class Paged:
    rows: list[Any]
    header: dict[str, str]


def match_id(invoice_id: str) -> int:
    """The ``MatchId`` an invoice and every entry matched with it share."""
    return int(uuid.UUID(invoice_id).hex[:12], 16) if _is_uuid(invoice_id) else \
        int(uuid.uuid5(_NAMESPACE, invoice_id).hex[:12], 16)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _number(record_id: str) -> int:
    """The number in a world id (``LE12`` → 12): unique across the ERP's records."""
    return int("".join(ch for ch in record_id if ch.isdigit()) or 0)


def _int_or_text(value: str) -> int | str:
    """A number the API types as an integer; bad ERP data goes out as it is."""
    return int(value) if value.isdigit() else value


def _after(param: str, raw: str) -> datetime:
    try:
        after = datetime.fromisoformat(raw)
    except ValueError:
        raise Problem(400, "One or more validation errors occurred.",
                      f"{param}: not a date and time", casing="camel") from None
    if after.tzinfo is None:
        raise Problem(400, "One or more validation errors occurred.",
                      f"{param}: the offset is missing", casing="camel")
    return after


def _page(query: Mapping[str, str], rows: list[dict[str, Any]]) -> Paged | None:
    try:
        number = int(query.get(wire.PAGE_NUMBER, 1))
        size = int(query.get(wire.PAGE_SIZE, wire.DEFAULT_PAGE_SIZE))
    except ValueError:
        raise Problem(400, "One or more validation errors occurred.",
                      "PageNumber and PageSize are integers", casing="camel") from None
    if number < 1 or not 1 <= size <= wire.MAX_PAGE_SIZE:
        raise Problem(400, "One or more validation errors occurred.",
                      f"PageSize is 1 to {wire.MAX_PAGE_SIZE}, PageNumber at least 1",
                      casing="camel")
    pages = max(1, -(-len(rows) // size))
    chosen = rows[(number - 1) * size: number * size]
    if not chosen:
        return None
    header = {"X-Pagination": jsonio.dumps({
        "TotalCount": len(rows), "PageSize": size, "CurrentPage": number,
        "TotalPages": pages}).decode()}
    return Paged(chosen, header)


def _sortable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return value
    return value if value is not None else 0


def _number_filter(spec: str | None) -> Callable[[int], bool] | None:
    """``customerNos`` and the like: "10000-11000, 12000, 13000-"."""
    if not spec:
        return None
    ranges: list[tuple[int, int | None]] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        low, dash, high = part.partition("-")
        try:
            ranges.append((int(low), (int(high) if high else None) if dash else int(low)))
        except ValueError:
            raise Problem(400, "One or more validation errors occurred.",
                          f"not a number range: {part[:20]!r}", casing="camel") from None
    return lambda n: any(lo <= n and (hi is None or n <= hi) for lo, hi in ranges)


def _required_dates(query: Mapping[str, str]) -> tuple[date, date]:
    missing = [p for p in (wire.FROM_DATE, wire.TO_DATE) if not query.get(p)]
    if missing:
        raise Problem(400, "One or more validation errors occurred.",
                      f"{' and '.join(missing)} required", casing="camel")
    try:
        return date.fromisoformat(query[wire.FROM_DATE]), date.fromisoformat(query[wire.TO_DATE])
    except ValueError:
        raise Problem(400, "One or more validation errors occurred.",
                      "fromDate and toDate are dates (YYYY-MM-DD)", casing="camel") from None


def _code_filter(text: str | None) -> str | None:
    """``code eq 'X'``, the one OData filter the emulator reads."""
    if not text:
        return None
    prefix = "code eq '"
    if not (text.startswith(prefix) and text.endswith("'")):
        raise Problem(400, "Unsupported filter", "the emulator reads code eq '…' only")
    return text[len(prefix):-1]


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    try:
        return model.model_validate(jsonio.loads(raw))
    except ValueError as exc:
        detail = ("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                            for e in exc.errors()) if isinstance(exc, ValidationError)
                  else "the body is not JSON")
        raise Problem(400, "One or more validation errors occurred.", detail,
                      casing="camel") from None


def _fault_problem(fault: Fault) -> Problem:
    if fault.retry_after is not None:
        return _RetryAfter(fault.status, fault.retry_after)
    return Problem(fault.status, f"injected {fault.status}", "an injected fault")


class _RetryAfter(Problem):
    """A 429 or 5xx with ``Retry-After``: PowerOffice sends none, a proxy in front may."""

    def __init__(self, status: int, seconds: int) -> None:
        super().__init__(status)
        self.seconds = seconds

    def response(self) -> Response:
        return Response(status_code=self.status, headers={"Retry-After": str(self.seconds)})
