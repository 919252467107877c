"""An emulator of the Kravia API v2 endpoints the adapter uses, over the mock world's agency.

It answers on the published paths with the published request bodies (``wire``, unknown
fields refused) and the guessed answers (``guesses``), and it enforces what the real
service would: the token in ``Authorization`` (no ``Bearer``), the token's creditor,
``top`` within its limit, a rate limit per token (429 with ``Retry-After``), refusals as
ValidationProblemDetails naming the field. Faults can be injected per operation: any status
(401, 429, 5xx), before the operation or after it (the answer lost after the work was done).
It signs and sends webhook deliveries to the URL a creditor registered, with switches for
duplicate, replayed and out-of-order deliveries. Tests run it in-process (``transport``);
``connector demo --http`` serves it with uvicorn on 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connector.domain import Address, CaseRequest, ClaimReduction, Debtor, LedgerKind
from connector.errors import ConnectorError
from connector.http import jsonio
from connector.http.emulation import EmulatorControls, Fault
from connector_adapters.kravia import guesses, wire
from connector_adapters.mock.agency import NEW_CASE_STATUS, MockAgency
from connector_adapters.mock.agency_world import MockCase, MockPayout
from connector_adapters.mock.world import World

PREFIX = "/api/v2"
_WIRE_FIELD = {v: k for k, v in guesses.ERROR_FIELDS.items()}
_REASON = {v: k for k, v in guesses.CLOSED_REASONS.items()}
_LINE_TYPE = {v: k for k, v in guesses.LINE_KINDS.items()}
_CONTACT_KINDS = ("phone", "sms", "call")
"""Events also shown among the case's activities (so a reader must not count them twice)."""


class Problem(Exception):
    """An error answer: status plus a ProblemDetails body."""

    def __init__(self, status: int, title: str, errors: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.errors, self.headers = status, title, errors, headers


@dataclass
class Deliveries:
    """How webhook deliveries misbehave, as a real network and sender may."""

    duplicate: bool = False
    """Send every event twice."""
    replay: bool = False
    """Send an earlier delivery again, unchanged, after the new ones."""
    out_of_order: bool = False
    """Send a batch newest first."""


@dataclass
class KraviaEmulator(EmulatorControls):
    """Kravia for one creditor: ``tokens`` maps each accepted API token to its creditor id."""

    world: World
    tokens: dict[str, int]
    creditor_id: int
    rate: float | None = None
    """Requests per second per token before 429 (None: no limit)."""
    clock: Callable[[], float] = time.monotonic
    """The seconds the rate limit counts in (the demo's virtual time)."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    """Held around every use of the world: hold it too when moving the world's time."""
    deliveries: Deliveries = field(default_factory=Deliveries)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    webhooks: dict[int, wire.WebhookConfig] = field(default_factory=dict)
    rate_limited: int = 0
    """Requests answered 429 by the rate limit."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    """(operation, path) of every request answered, for tests to count."""
    _delivered_at: datetime | None = None
    _sent: list[tuple[str, bytes]] = field(default_factory=list)
    _tat: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._agency = MockAgency(self.world)
        routes = [
            Route(f"{PREFIX}{wire.REGISTER}", self._op("register", self._register),
                  methods=["POST"]),
            Route(f"{PREFIX}{wire.SEARCH}", self._op("search", self._search), methods=["GET"]),
            Route(f"{PREFIX}/invoice/{{id:int}}/details", self._op("details", self._details),
                  methods=["GET"]),
            Route(f"{PREFIX}{wire.PAYMENT}", self._op("payment", self._payment),
                  methods=["POST"]),
            Route(f"{PREFIX}{wire.CREDIT_NOTE}", self._op("creditnote", self._credit),
                  methods=["POST"]),
            Route(f"{PREFIX}{wire.SETTLEMENTS}", self._op("settlements", self._settlements),
                  methods=["GET"]),
            Route(f"{PREFIX}/settlements/{{id:int}}/bookkeep",
                  self._op("bookkeep", self._bookkeep), methods=["PATCH"]),
            Route(f"{PREFIX}/creditor/{{id:int}}/webhook", self._op("webhook", self._webhook),
                  methods=["PUT"]),
        ]
        self.app = Starlette(routes=routes)

    # -- test controls ------------------------------------------------------------------------

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.requests if op == operation)

    # -- the frame of every operation ------------------------------------------------------

    def _op(self, name: str, handle: Callable[[Request, int], Awaitable[Any]]
            ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                creditor = self._authorise(request)
                self._pace(request.headers.get(wire.AUTH_HEADER, ""))
                fault = self._fault(name)
                if fault is not None and not fault.after:
                    raise _fault_problem(fault)
                with self.lock:
                    self.requests.append((name, request.url.path))
                    body = await handle(request, creditor)
                if fault is not None:
                    raise _fault_problem(fault)
            except Problem as problem:
                content: dict[str, Any] = {"title": problem.title, "status": problem.status}
                if problem.errors:
                    content["errors"] = problem.errors
                # 401 and 429 carry no body at Kravia either way: a body here is harmless.
                return Response(jsonio.dumps(content), problem.status,
                                headers=problem.headers,
                                media_type="application/problem+json")
            if body is None:
                return Response(status_code=204)
            return Response(jsonio.dumps(body), 200, media_type="application/json")

        return endpoint

    def _authorise(self, request: Request) -> int:
        token = request.headers.get(wire.AUTH_HEADER)
        if not token or token not in self.tokens:
            raise Problem(401, "Unauthorized")
        return self.tokens[token]

    def _pace(self, token: str) -> None:
        if self.rate is None:
            return
        now, interval = self.clock(), 1.0 / self.rate
        with self.lock:
            tat = max(self._tat.get(token, now), now)
            if tat - now > interval:  # a burst of 2 at most
                self.rate_limited += 1
                raise Problem(429, "Too Many Requests",
                              headers={"Retry-After": str(max(1, round(tat - now)))})
            self._tat[token] = tat + interval

    # -- operations ------------------------------------------------------------------------

    async def _register(self, request: Request, creditor: int) -> Any:
        body = await _body(request, wire.RegisterCase)
        if body.creditorId != creditor:
            raise Problem(403, f"creditor {body.creditorId} is not this token's")
        claim = _case_request(body)
        problems = self._agency.problems(claim)
        long = _too_long(body)
        if problems or long:
            errors: dict[str, list[str]] = {}
            for domain_field, reason in problems:
                key = _WIRE_FIELD.get(domain_field, domain_field)
                errors.setdefault(key, []).append(reason)
            errors.update(long)
            raise Problem(400, "One or more validation errors occurred.", errors)
        case = self.world.agency.open_case(claim, NEW_CASE_STATUS)
        return guesses.RegisterReply(id=int(case.id), status=case.status).model_dump()

    async def _search(self, request: Request, creditor: int) -> Any:
        query = request.query_params
        try:
            since = (guesses.parse_wire_time(query[wire.LAST_UPDATED_TIME])
                     if wire.LAST_UPDATED_TIME in query else None)
            skip, top = int(query.get(wire.SKIP, 0)), int(query.get(wire.TOP, 20))
        except ValueError as exc:
            raise Problem(400, f"bad query: {exc}") from None
        if query.get(wire.ORDER_BY, str(wire.ORDER_BY_LAST_UPDATED)) != str(
                wire.ORDER_BY_LAST_UPDATED):
            raise Problem(400, "the emulator orders by last updated time (11) only")
        if not 1 <= top <= guesses.MAX_TOP or skip < 0:
            raise Problem(400, f"top must be 1 to {guesses.MAX_TOP}, skip at least 0")
        ascending = query.get(wire.BY_ASCENDING, "true").lower() == "true"
        chosen = sorted((c for c in self.world.agency.cases.values()
                         if since is None or c.changed_at > since),
                        key=lambda c: (c.changed_at, int(c.id)), reverse=not ascending)
        items = [guesses.SearchItem(
            id=int(c.id), invoiceNo=c.request.invoice_no, accountingInvoiceId=c.reference,
            debtorNumber=c.request.debtor.number, status=c.status,
            lastUpdatedTime=guesses.wire_time(c.changed_at)).model_dump()
            for c in chosen[skip:skip + top]]
        return {"items": items, "totalCount": len(chosen)}

    async def _details(self, request: Request, creditor: int) -> Any:
        return self.details(self._case(request.path_params["id"])).model_dump()

    def details(self, case: MockCase) -> guesses.Details:
        entries = [guesses.Entry(id=e.id, time=guesses.wire_time(e.at), type=e.kind,
                                 description=e.text) for e in case.events]
        activities = [entry for entry in entries if entry.type.startswith(_CONTACT_KINDS)]
        payments = [guesses.PaymentEntry(
            accountingPaymentId=r.reduction.reference,
            type="DirectPayment" if r.reduction.kind is LedgerKind.PAYMENT else "CreditNote",
            amount=r.reduction.amount, date=r.reduction.on.isoformat())
            for r in self.world.agency.reductions.values() if r.reduction.case_id == case.id]
        return guesses.Details(
            id=int(case.id), invoiceNo=case.request.invoice_no,
            accountingInvoiceId=case.reference, debtorNumber=case.request.debtor.number,
            status=case.status, isPaused=case.paused, isClosed=case.closed,
            closedReason=_REASON.get(case.outcome) if case.outcome else None,
            originalAmount=case.original_amount, remainingCapital=case.principal,
            outstandingAmount=case.balance_at_agency, currencyCode=case.request.currency,
            lastUpdatedTime=guesses.wire_time(case.changed_at), timeline=entries,
            activities=activities, payments=payments,
            availableActions=[] if case.closed else ["RegisterPayment", "CreditNote"])

    async def _payment(self, request: Request, creditor: int) -> Any:
        body = await _body(request, wire.DirectPayment)
        on = _date(body.date)
        for n, line in enumerate(body.invoices):
            reference = body.AccountingPaymentId if n == 0 else f"{body.AccountingPaymentId}#{n}"
            self._reduce(LedgerKind.PAYMENT, reference, line.invoiceId, line.amount, on,
                         body.description)
        return {"accountingPaymentId": body.AccountingPaymentId}

    async def _credit(self, request: Request, creditor: int) -> Any:
        body = await _body(request, wire.CreditNote)
        on = _date(body.Date[:10])
        for n, line in enumerate(body.Invoices):
            if line.Amount >= 0:
                raise Problem(400, "a credit note's amounts are negative",
                              {"Invoices[0].Amount": ["must be negative"]})
            reference = body.AccountingPaymentId if n == 0 else f"{body.AccountingPaymentId}#{n}"
            self._reduce(LedgerKind.CREDIT_NOTE, reference, line.InvoiceId, -line.Amount, on,
                         body.Description)
        return {"accountingPaymentId": body.AccountingPaymentId}

    def _reduce(self, kind: LedgerKind, reference: str, invoice_id: int, amount: Decimal,
                on: date, description: str) -> None:
        case = self._case(invoice_id)
        try:
            self.world.agency.report_reduction(ClaimReduction(
                reference=reference, kind=kind, case_id=case.id,
                invoice_reference=case.reference, on=on, amount=amount,
                description=description))
        except (ConnectorError, ValidationError) as exc:
            raise Problem(400, str(exc)) from None

    async def _settlements(self, request: Request, creditor: int) -> Any:
        exclude = request.query_params.get(wire.EXCLUDE_CLOSED, "false").lower() == "true"
        chosen = sorted((p for p in self.world.agency.payouts.values()
                         if not exclude or p.accounting_id is None),
                        key=lambda p: p.changed_at)
        return [settlement(p).model_dump() for p in chosen]

    async def _bookkeep(self, request: Request, creditor: int) -> Any:
        accounting_id = request.query_params.get(wire.INTERNAL_ACCOUNTING_ID)
        if not accounting_id:
            raise Problem(400, f"{wire.INTERNAL_ACCOUNTING_ID} is required",
                          {wire.INTERNAL_ACCOUNTING_ID: ["required"]})
        payout_id = f"S{request.path_params['id']}"
        if payout_id not in self.world.agency.payouts:
            raise Problem(404, f"no settlement {request.path_params['id']}")
        try:
            self.world.agency.mark_booked(payout_id, accounting_id)
        except ConnectorError as exc:
            raise Problem(409, str(exc)) from None
        return None

    async def _webhook(self, request: Request, creditor: int) -> Any:
        if request.path_params["id"] != creditor:
            raise Problem(403, f"creditor {request.path_params['id']} is not this token's")
        body = await _body(request, wire.WebhookConfig)
        self.webhooks[creditor] = body
        return None

    def _case(self, invoice_id: int) -> MockCase:
        case = self.world.agency.cases.get(str(invoice_id))
        if case is None:
            raise Problem(404, f"no invoice {invoice_id}")
        return case

    # -- webhook deliveries ----------------------------------------------------------------

    def deliver(self, send: Callable[[str, bytes], int] | None = None) -> list[int]:
        """Sign and send one ``CaseUpdate`` event per case changed since the last delivery
        to the creditor's registered URL; returns the receiver's status per delivery.
        ``send(url, body)`` posts (default: httpx over the network)."""
        hook = self.webhooks.get(self.creditor_id)
        if hook is None or not hook.enabled:
            return []
        post = send or _post
        with self.lock:
            since = self._delivered_at
            changed = sorted((c for c in self.world.agency.cases.values()
                              if since is None or c.changed_at > since),
                             key=lambda c: c.changed_at)
            self._delivered_at = self.world.now
            stamp = int(self.world.now.timestamp())
        bodies = [signed_event(int(c.id), stamp, hook.secret) for c in changed]
        if self.deliveries.out_of_order:
            bodies.reverse()
        if self.deliveries.duplicate:
            bodies = [b for body in bodies for b in (body, body)]
        earlier = [body for _, body in self._sent[-3:]]
        self._sent.extend((hook.url, body) for body in bodies)
        if self.deliveries.replay:
            bodies += earlier
        return [post(hook.url, body) for body in bodies]


def signed_event(claim_id: int, timestamp: int, secret: str,
                 event_type: str = "CaseUpdate") -> bytes:
    """A webhook body as Kravia's guide shows it, signed as ``guesses.signature`` says."""
    data = {"timestamp": timestamp, "eventType": event_type, "claimId": claim_id}
    return jsonio.dumps({"header": {"algorithm": "MD5"}, "data": data,
                         "signature": guesses.signature(data, secret)})


def settlement(payout: MockPayout) -> guesses.Settlement:
    lines = [guesses.SettlementLine(
        type=_LINE_TYPE[line.kind], amount=line.amount,
        invoiceId=None if line.case_id is None else int(line.case_id),
        accountingInvoiceId=line.reference, description=line.description)
        for line in payout.lines]
    return guesses.Settlement(id=int(payout.id.lstrip("S")), paymentDate=payout.paid_on.isoformat(),
                              currencyCode=payout.currency, amount=payout.payout().net,
                              lastUpdatedTime=guesses.wire_time(payout.changed_at), lines=lines)


def _case_request(body: wire.RegisterCase) -> CaseRequest:
    """The registration as the mock agency's books keep it."""
    address = body.postalAddress
    try:
        return CaseRequest(
            reference=body.accountingInvoiceId or f"kravia:{body.invoiceNo}",
            invoice_id=body.accountingInvoiceId or body.invoiceNo, invoice_no=body.invoiceNo,
            invoice_date=_date(body.invoiceDate), due_date=_date(body.dueDate),
            amount=body.originalAmount, balance=body.originalAmount,
            currency=body.currencyCode, description=body.description,
            debtor=Debtor(number=body.debtorNumber, name=body.debtorName,
                          is_person=body.isPrivateIndividual == "true",
                          organization_number=body.organizationNumber, email=body.email,
                          phone=None,
                          address=Address(line1=address.addressAddressLine1 or None,
                                          postal_code=address.addressPostalCode or None,
                                          city=address.addressCity or None,
                                          country=address.addressCountryCode or None)))
    except ValidationError as exc:
        raise Problem(400, "One or more validation errors occurred.",
                      {".".join(map(str, e["loc"])): [e["msg"]] for e in exc.errors()}) from None


def _too_long(body: wire.RegisterCase) -> dict[str, list[str]]:
    values = {**body.model_dump(), **{f"postalAddress.{k}": v
                                      for k, v in body.postalAddress.model_dump().items()}}
    found: dict[str, list[str]] = {}
    for key, value in values.items():
        limit = guesses.FIELD_LIMITS.get(key.rsplit(".", 1)[-1])
        if limit is not None and isinstance(value, str) and len(value) > limit:
            found[key] = [f"at most {limit} characters"]
    return found


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Problem(400, f"not a date: {text[:40]!r}") from None


async def _body(request: Request, model: type[Any]) -> Any:
    raw = await request.body()
    try:
        data = jsonio.loads(raw)
        result: BaseModel = model.model_validate(data)
    except ValueError as exc:
        errors = (exc.errors() if isinstance(exc, ValidationError) else
                  [{"loc": ("body",), "msg": "not JSON"}])
        raise Problem(400, "One or more validation errors occurred.",
                      {".".join(map(str, e["loc"])) or "body": [str(e["msg"])]
                       for e in errors}) from None
    return result


def _fault_problem(fault: Fault) -> Problem:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    return Problem(fault.status, f"injected {fault.status}", headers=headers)


def _post(url: str, body: bytes) -> int:
    response = httpx.post(url, content=body, headers={"Content-Type": "application/json"},
                          timeout=10)
    return response.status_code
