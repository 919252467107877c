"""The PowerOffice Go ERP adapter: the ``ErpAdapter`` port over PowerOffice Go API v2.

Reads are cursor reads ordered by the cursor field: each next page asks again from the last
change time seen (one microsecond early, dropping rows seen already), so a row that changes
while the read pages on moves behind the cursor instead of shifting a row out of sight; the
page number moves on only when a whole page shares one time. The next page is asked for
while the caller handles this one (within the rate limit), so a first sync runs at the
rate limit rather than at the latency.

Writes: a posted voucher carries our reference as ``ExternalImportReference`` (PowerOffice
refuses a second one); a bookkeeping proposal cannot, so it carries the reference in its
description and ``post_voucher`` looks before it proposes. ``find_voucher`` is the retry
check of both (docs/guarantees.md).
"""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from connector.clock import Clock, SystemClock
from connector.domain import (
    CaseStatus,
    Company,
    Customer,
    Invoice,
    LedgerEntry,
    ReminderLetter,
    Voucher,
    VoucherKind,
    VoucherLine,
    VoucherReceipt,
)
from connector.errors import AdapterError
from connector.http import (
    AuthError,
    BearerTokenAuth,
    HttpClient,
    RateLimiter,
    credential_key,
    items_of,
    more_pages,
    shared_limiter,
)
from connector.http.client import Params
from connector.ports import Capability, Page, Rejected, parse_page
from connector_adapters.poweroffice import guesses, mapping, wire
from connector_adapters.poweroffice.settings import PowerOfficeSettings

T = TypeVar("T", bound=BaseModel)
D = TypeVar("D", bound=BaseModel)
SERVICE = "poweroffice"
V1_SERVICE = "poweroffice v1"
LEDGER_FROM = date(2000, 1, 1)
"""``fromDate`` of a cursor read of the customer ledger: the cursor narrows, not the dates."""
_TICK = timedelta(microseconds=1)
_ACCOUNTS_CHUNK = 100


class ClientCredentials(BearerTokenAuth):
    """``POST …/OAuth/Token``: client credentials, Basic application key : client key, and
    (v2) the subscription key. A token is reused and renewed before its 20 minutes end."""

    def __init__(self, service: str, url: str, application_key: str, client_key: str,
                 subscription_key: str | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(service, clock=clock)
        self.url = url
        basic = base64.b64encode(f"{application_key}:{client_key}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}"}
        if subscription_key is not None:
            self._headers[wire.SUBSCRIPTION_KEY_HEADER] = subscription_key

    def token_request(self) -> httpx.Request:
        return httpx.Request("POST", self.url, headers=self._headers,
                             data={"grant_type": wire.GRANT_TYPE})


class PowerOfficeErp:
    """One PowerOffice Go client, through one client key."""

    def __init__(self, settings: PowerOfficeSettings, *, clock: Clock | None = None,
                 transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 token_clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        subscription = settings.subscription_key.get_secret_value()
        application = settings.application_key.get_secret_value()
        client = settings.client_key.get_secret_value()
        self.limiter = limiter or shared_limiter(credential_key(SERVICE, subscription),
                                                 settings.requests_per_second)
        self.http = HttpClient(
            SERVICE, settings.api_url, headers={wire.SUBSCRIPTION_KEY_HEADER: subscription},
            auth=ClientCredentials(SERVICE, settings.token_url, application, client,
                                   subscription, token_clock),
            limiter=self.limiter, transport=transport, sleep=sleep,
            secrets=[subscription, application, client])
        self.v1: HttpClient | None = None
        writeback = settings.status_writeback
        if writeback is not None:
            v1_application = writeback.application_key.get_secret_value()
            v1_client = writeback.client_key.get_secret_value()
            self.v1 = HttpClient(
                V1_SERVICE, settings.v1_url,
                auth=ClientCredentials(V1_SERVICE, settings.v1_url + guesses.V1_TOKEN_PATH,
                                       v1_application, v1_client, None, token_clock),
                limiter=shared_limiter(credential_key(V1_SERVICE, v1_client),
                                       settings.requests_per_second),
                transport=transport, sleep=sleep, secrets=[v1_application, v1_client])
        self.capabilities = frozenset(
            {Capability.VOUCHERS, Capability.PROPOSALS, Capability.WRITE_OFFS}
            | ({Capability.STATUS_WRITEBACK} if self.v1 is not None else set()))
        self._prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poweroffice")
        self._company: Company | None = None
        self._match_invoice: dict[int, str] = {}
        self._voucher_reference: dict[str, str | None] = {}
        self._accounts: dict[int, int] = {}
        self._subledger: dict[str, int] = {}
        self._vat: dict[str, int] = {}
        self._cases: dict[str, str] = {}

    # -- company and customers ----------------------------------------------------------------

    def company(self) -> Company:
        """The client's name; no v2 endpoint has the zone, the dunning setup or automatic
        transfer, so they come from the link's settings (docs/adapters/poweroffice.md)."""
        if self._company is None:
            info = wire.ClientIntegrationInformation.model_validate(
                self._get(wire.CLIENT_INTEGRATION_INFORMATION) or {})
            self._company = Company(name=info.ClientName or "PowerOffice Go client",
                                    timezone=self.settings.timezone)
        return self._company

    def customers(self, changed_since: datetime | None) -> Iterator[Page[Customer]]:
        for rows in self._cursor_read(wire.CUSTOMERS, wire.LAST_CHANGED_AFTER,
                                      "LastChangedDateTimeOffset", changed_since):
            yield self._translate(Customer, "customer", rows, wire.Customer, mapping.customer)

    def customers_by_number(self, numbers: Sequence[str]) -> list[Customer]:
        """Fresh cards by ``customerNos`` (an address edit does not move the change time)."""
        wanted = sorted({n for n in numbers if n.isdigit()}, key=int)
        found: list[Customer] = []
        for start in range(0, len(wanted), _ACCOUNTS_CHUNK):
            chunk = ",".join(wanted[start:start + _ACCOUNTS_CHUNK])
            for rows in self._numbered(wire.CUSTOMERS, {wire.CUSTOMER_NOS: chunk}):
                found += self._translate(Customer, "customer", rows, wire.Customer,
                                         mapping.customer).items
        return found

    # -- invoices, letters, ledger --------------------------------------------------------------

    def invoices(self, changed_since: datetime | None) -> Iterator[Page[Invoice]]:
        """By the balance's change time: the only change filter /OutgoingInvoices has."""
        for rows in self._cursor_read(wire.OUTGOING_INVOICES, wire.BALANCE_CHANGED_AFTER,
                                      "BalanceLastChangedDateTimeOffset", changed_since):
            self._learn_matches(rows)
            yield self._translate(Invoice, "invoice", rows, wire.OutgoingInvoice,
                                  mapping.invoice)

    def letters(self, changed_since: datetime | None) -> Iterator[Page[ReminderLetter]]:
        params = {wire.VOUCHER_TYPES: ",".join(guesses.LETTER_KINDS)}
        for rows in self._cursor_read(wire.CUSTOMER_LEDGER_STATEMENT, wire.LAST_CHANGED_AFTER,
                                      "LastChangedDateTimeOffset", changed_since,
                                      {**self._ledger_dates(), **params}):
            entries, rejected = self._entries(rows)
            invoices = self._invoices_of(entries)
            raws, missing = [], []
            for entry in entries:
                invoice_id = invoices.get(entry.MatchId or 0)
                if invoice_id is None:
                    missing.append(entry)
                else:
                    raws.append(mapping.letter(entry, invoice_id))
            page = _parsed(ReminderLetter, "letter", raws)
            page.rejected += rejected + [_unmatched("letter", e) for e in missing]
            yield page

    def ledger(self, changed_since: datetime | None) -> Iterator[Page[LedgerEntry]]:
        """Payments, credit notes and write-offs matched with an invoice, each tied to it by
        its ``MatchId``; a payment from one of our vouchers carries our reference."""
        for rows in self._cursor_read(wire.CUSTOMER_LEDGER_STATEMENT, wire.LAST_CHANGED_AFTER,
                                      "LastChangedDateTimeOffset", changed_since,
                                      self._ledger_dates()):
            entries, rejected = self._entries(rows)
            self._learn_invoices(entries)
            kinds = {e.Id: mapping.ledger_kind(e) for e in entries}
            moving = [e for e in entries if kinds[e.Id] is not None and e.MatchId is not None]
            invoices = self._invoices_of(moving)
            raws = []
            for entry in moving:
                invoice_id = invoices.get(entry.MatchId or 0)
                kind = kinds[entry.Id]
                if invoice_id is None or kind is None:
                    continue  # a payment not matched with an invoice is no claim's
                raws.append(mapping.ledger_entry(entry, kind, invoice_id,
                                                 self._reference_of(entry)))
            page = _parsed(LedgerEntry, "ledger entry", raws)
            page.rejected += rejected
            yield page

    def _ledger_dates(self) -> dict[str, str]:
        today = self.clock.now().date()
        return {wire.FROM_DATE: LEDGER_FROM.isoformat(),
                wire.TO_DATE: (today + timedelta(days=366)).isoformat()}

    def _entries(self, rows: list[Any]) -> tuple[list[wire.CustomerLedgerEntry], list[Rejected]]:
        entries, _, rejected = _dtos(wire.CustomerLedgerEntry, "ledger entry", rows)
        return entries, rejected

    def _learn_invoices(self, entries: Sequence[wire.CustomerLedgerEntry]) -> None:
        for entry in entries:
            if entry.VoucherType == wire.OUTGOING_INVOICE and entry.MatchId is not None:
                self._match_invoice[entry.MatchId] = entry.VoucherId

    def _learn_matches(self, rows: Sequence[Any]) -> None:
        """Invoices read carry their ``MatchId``: remember whose match group it is."""
        for raw in rows:
            if isinstance(raw, dict) and raw.get("MatchId") is not None and raw.get("Id") \
                    and raw.get("VoucherType") == wire.OUTGOING_INVOICE:
                self._match_invoice[int(raw["MatchId"])] = str(raw["Id"])

    def _invoices_of(self, entries: Sequence[wire.CustomerLedgerEntry]) -> dict[int, str]:
        """The invoice (its id) each entry's match group holds: known ones from memory (the
        invoices read), then one ``invoiceNos`` read per page for entries that name their
        invoice, and ``EntriesByMatchId`` once per match group for the rest."""
        unknown = [e for e in entries
                   if e.MatchId is not None and e.MatchId not in self._match_invoice]
        numbers = sorted({e.InvoiceNo for e in unknown if e.InvoiceNo and e.InvoiceNo.isdigit()
                          and e.VoucherType != wire.OUTGOING_CREDIT_NOTE})
        for start in range(0, len(numbers), _ACCOUNTS_CHUNK):
            chunk = ",".join(numbers[start:start + _ACCOUNTS_CHUNK])
            for rows in self._numbered(wire.OUTGOING_INVOICES, {wire.INVOICE_NOS: chunk}):
                self._learn_matches(rows)
        for match_id in {e.MatchId for e in unknown if e.MatchId is not None}:
            if match_id in self._match_invoice:
                continue
            rows = self._get(wire.CUSTOMER_LEDGER_BY_MATCH_ID, {wire.MATCH_ID: match_id}) or []
            self._learn_invoices([wire.CustomerLedgerEntry.model_validate(r) for r in rows])
        return self._match_invoice

    def _reference_of(self, entry: wire.CustomerLedgerEntry) -> str | None:
        """Our reference: ``ExternalImportReference`` of a posted voucher, or the one the
        description of an approved proposal carries (read once per voucher)."""
        if entry.ExternalImportReference:
            return entry.ExternalImportReference
        if not entry.IsCreatedByCurrentIntegration:
            return None
        if entry.VoucherId not in self._voucher_reference:
            voucher = wire.BankVoucher.model_validate(
                self._get(wire.POSTED_BANK_JOURNAL.format(id=entry.VoucherId)))
            self._voucher_reference[entry.VoucherId] = guesses.reference_in(voucher.Description)
        return self._voucher_reference[entry.VoucherId]

    # -- status write-back (v1) ---------------------------------------------------------------

    def write_status(self, statuses: Sequence[CaseStatus]) -> None:
        """Per case: find or create its PowerOffice-side case (by its code, so a crash never
        makes two), then ``UpdateStatus``."""
        if self.v1 is None:
            raise AdapterError("poweroffice: status write-back is not configured "
                               "(status_writeback in the link's erp settings)")
        for status in statuses:
            case_id = self._case(status)
            body = wire.StatusUpdate(caseId=case_id, statusText=status.status_text,
                                     isCaseClosed=status.closed,
                                     updatedBalanceAgency=status.balance_at_agency)
            self._v1_send(wire.UPDATE_STATUS, body)

    def _case(self, status: CaseStatus) -> str:
        code = guesses.CASE_CODE.format(case_id=status.case_id)
        if code not in self._cases:
            assert self.v1 is not None
            found = self.v1.get_json(wire.DEBT_COLLECTION,
                                     {wire.ODATA_FILTER: f"code eq '{code}'"}) or {}
            rows = found.get("data") or []
            if rows:
                self._cases[code] = wire.DebtCollectionCase.model_validate(rows[0]).id
            else:
                body = wire.DebtCollectionCasePost(
                    code=code, invoices=[wire.DebtCollectionInvoiceRef(id=status.invoice_id)],
                    balanceAgency=status.balance_at_agency)
                made = self._v1_send(wire.DEBT_COLLECTION, body)
                self._cases[code] = wire.DebtCollectionCase.model_validate(made["data"]).id
        return self._cases[code]

    def _v1_send(self, path: str, body: BaseModel) -> Any:
        assert self.v1 is not None
        answer = self.v1.send_json("POST", path, body.model_dump())
        envelope = wire.V1Envelope.model_validate(answer or {})
        if not envelope.success:
            raise AdapterError(f"poweroffice v1: {path} was not carried out")
        return answer

    # -- vouchers -------------------------------------------------------------------------------

    def find_voucher(self, reference: str) -> VoucherReceipt | None:
        """A posted voucher by its ``ExternalImportReference`` on the account transactions
        created lately; else a proposal (posted since or not) this integration created
        lately whose description carries the reference."""
        now = self.clock.now()
        created = now - guesses.FIND_CREATED_WINDOW
        params: dict[str, str] = {
            wire.FROM_DATE: (now.date() - guesses.FIND_VOUCHER_DATES).isoformat(),
            wire.TO_DATE: (now.date() + timedelta(days=366)).isoformat(),
            wire.CREATED_AFTER: _wire_time(created)}
        for rows in self._numbered(wire.ACCOUNT_TRANSACTIONS, params):
            for raw in rows:
                line = wire.AccountTransaction.model_validate(raw)
                if line.ExternalImportReference == reference:
                    return VoucherReceipt(id=line.VoucherId, reference=reference,
                                          kind=VoucherKind.POSTED)
        for rows in self._numbered(wire.JOURNAL_ENTRY_VOUCHERS,
                                   {wire.CREATED_AFTER: _wire_time(created)}):
            for raw in rows:
                item = wire.JournalEntryVoucherListItem.model_validate(raw)
                if item.IsCreatedByCurrentIntegration and self._proposal_reference(
                        item) == reference:
                    kind = VoucherKind.POSTED if item.IsPosted else VoucherKind.PROPOSAL
                    return VoucherReceipt(id=item.Id, reference=reference, kind=kind)
        return None

    def _proposal_reference(self, item: wire.JournalEntryVoucherListItem) -> str | None:
        path = (wire.POSTED_BANK_JOURNAL if item.IsPosted else wire.UNPOSTED_BANK_JOURNAL)
        body = self._get(path.format(id=item.Id)) or {}
        return guesses.reference_in(wire.JournalEntryVoucher.model_validate(body).Description)

    def post_voucher(self, voucher: Voucher) -> VoucherReceipt:
        """A posted bank voucher, or a proposal after making sure none carries the reference
        (PowerOffice would take a second one)."""
        ids = mapping.Ids(account=self._account_id, vat=self._vat_id)
        if voucher.kind is VoucherKind.POSTED:
            body: BaseModel = mapping.posted_voucher(voucher, ids)
            made = wire.BankVoucher.model_validate(
                self._send(wire.POSTED_BANK_JOURNALS, body))
            return VoucherReceipt(id=made.Id, reference=voucher.reference,
                                  kind=VoucherKind.POSTED)
        existing = self.find_voucher(voucher.reference)
        if existing is not None:
            raise AdapterError(f"poweroffice: a voucher with reference {voucher.reference!r} "
                               f"exists already ({existing.id}); not proposed again")
        proposal = wire.JournalEntryVoucher.model_validate(
            self._send(wire.UNPOSTED_BANK_JOURNALS, mapping.proposal(voucher, ids)))
        return VoucherReceipt(id=proposal.Id, reference=voucher.reference,
                              kind=VoucherKind.PROPOSAL)

    def _account_id(self, line: VoucherLine) -> int:
        """The customer's ledger for a line with a customer, else the account by number."""
        if line.customer_no:
            if line.customer_no not in self._subledger:
                cards = self._get(wire.CUSTOMERS, {wire.CUSTOMER_NOS: line.customer_no}) or []
                for raw in cards:
                    card = wire.Customer.model_validate(raw)
                    self._subledger[str(card.Number)] = card.SubledgerAccountId
            if line.customer_no not in self._subledger:
                raise AdapterError(f"poweroffice: no customer {line.customer_no} for a "
                                   "voucher line on its ledger")
            return self._subledger[line.customer_no]
        number = int(line.account) if line.account.isdigit() else -1
        if number not in self._accounts:
            rows = self._get(wire.GENERAL_LEDGER_ACCOUNTS, {wire.ACCOUNT_NOS: line.account}) or []
            for raw in rows:
                account = wire.GeneralLedgerAccount.model_validate(raw)
                self._accounts[account.AccountNo] = account.Id
        if number not in self._accounts:
            raise AdapterError(f"poweroffice: account {line.account} does not exist in the "
                               "client's chart of accounts; check the link's [accounts]")
        return self._accounts[number]

    def _vat_id(self, code: str | None) -> int:
        wanted = code or guesses.DEFAULT_VAT_CODE
        if not self._vat:
            for rows in self._numbered(wire.VAT_CODES, {wire.IS_ACTIVE: True}):
                for raw in rows:
                    vat = wire.VatCode.model_validate(raw)
                    if vat.Code is not None:
                        self._vat[vat.Code] = vat.Id
        if wanted not in self._vat:
            raise AdapterError(f"poweroffice: no active VAT code {wanted!r}")
        return self._vat[wanted]

    # -- the wire -------------------------------------------------------------------------------

    def _get(self, path: str, params: Params | None = None) -> Any:
        return self._explained(lambda: self.http.get_json(path, params))

    def _send(self, path: str, body: BaseModel) -> Any:
        return self._explained(
            lambda: self.http.send_json("POST", path, body.model_dump()))

    def _explained(self, call: Callable[[], Any]) -> Any:
        """A 403 names the privileges the client key lacks (/ClientIntegrationInformation)."""
        try:
            return call()
        except AuthError as exc:
            if exc.status != 403:
                raise
            missing = self._missing_privileges()
            raise AuthError(f"{exc}; the integration lacks the privileges {missing} on this "
                            "client: grant them in PowerOffice Go", status=403) from None

    def _missing_privileges(self) -> str:
        try:
            info = wire.ClientIntegrationInformation.model_validate(
                self.http.get_json(wire.CLIENT_INTEGRATION_INFORMATION) or {})
        except AdapterError:
            return "(unknown: /ClientIntegrationInformation did not answer)"
        return ", ".join(info.InvalidPrivileges or []) or "(none listed)"

    def _page(self, path: str, query: Params) -> httpx.Response:
        response: httpx.Response = self._explained(
            lambda: self.http.request("GET", path, params=query))
        return response

    def _numbered(self, path: str, params: Mapping[str, Any]) -> Iterator[list[Any]]:
        """Every page of a list by page number (a short page or 204 is the last)."""
        size = self.settings.page_size
        number = 1
        while True:
            query = {**params, wire.PAGE_NUMBER: number, wire.PAGE_SIZE: size}
            response = self._page(path, query)
            rows = items_of(response)
            if rows:
                yield rows
            more = more_pages(response)
            if not rows or more is False or (more is None and len(rows) < size):
                return
            number += 1

    def _cursor_read(self, path: str, after: str, field: str, since: datetime | None,
                     params: Mapping[str, Any] | None = None) -> Iterator[list[Any]]:
        """Rows changed strictly after ``since``, ordered by ``field``, page by page (see the
        module docstring); the next page is asked for before this one is yielded."""
        size = self.settings.page_size

        def ask(after_time: datetime | None, number: int) -> httpx.Response:
            query: dict[str, Any] = {**(params or {}), wire.ORDER_BY: field,
                                     wire.PAGE_NUMBER: number, wire.PAGE_SIZE: size}
            if after_time is not None:
                query[after] = _wire_time(after_time)
            return self._page(path, query)

        at, number = since, 1
        seen: set[tuple[Any, str]] = set()
        pending: Future[httpx.Response] = self._prefetch.submit(ask, at, number)
        while True:
            response = pending.result()
            rows = items_of(response)
            more = more_pages(response)
            last = len(rows) == 0 or more is False or (more is None and len(rows) < size)
            fresh = [r for r in rows if (r.get("Id"), str(r.get(field))) not in seen]
            if not last:
                newest = _parse_time(rows[-1].get(field))
                if at is not None and newest - _TICK <= at:
                    number += 1
                else:
                    at, number = newest - _TICK, 1
                    seen = {k for k in seen if _parse_time(k[1]) >= newest}
                seen.update((r.get("Id"), str(r.get(field))) for r in rows)
                pending = self._prefetch.submit(ask, at, number)
            if fresh:
                yield fresh
            if last:
                return

    def _translate(self, model: type[T], resource: str, rows: Sequence[Any],
                   dto: type[D], translate: Callable[[D], dict[str, Any]]) -> Page[T]:
        dtos, sources, rejected = _dtos(dto, resource, rows)
        raws: list[dict[str, Any]] = []
        for item, raw in zip(dtos, sources, strict=True):
            try:
                raws.append(translate(item))
            except ValueError as exc:
                rejected.append(_rejected(resource, raw, exc))
        page = _parsed(model, resource, raws)
        page.rejected += rejected
        return page

    def close(self) -> None:
        self._prefetch.shutdown(wait=True, cancel_futures=True)
        self.http.close()
        if self.v1 is not None:
            self.v1.close()


@functools.cache
def _list_of(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _dtos(dto: type[D], resource: str, rows: Sequence[Any]
          ) -> tuple[list[D], list[Any], list[Rejected]]:
    """A page's rows as DTOs, beside the rows they came from, and the rows set aside: the
    whole page in one call into pydantic (a call per row costs as much as the validation
    itself on a page of thousands), row by row only when the page holds a bad one."""
    try:
        return _list_of(dto).validate_python(rows), list(rows), []
    except ValidationError:
        pass
    items: list[D] = []
    sources: list[Any] = []
    rejected: list[Rejected] = []
    for raw in rows:
        try:
            items.append(dto.model_validate(raw))
            sources.append(raw)
        except ValidationError as exc:
            rejected.append(_rejected(resource, raw, exc))
    return items, sources, rejected


def _parsed(model: type[T], resource: str, raws: Sequence[dict[str, Any]]) -> Page[T]:
    """Translated records as domain models, all in one call; ``parse_page`` row by row only
    when one is bad, to set it aside."""
    try:
        items: list[T] = _list_of(model).validate_python(raws)
    except ValidationError:
        return parse_page(model, resource, raws)
    return Page(items=items)


def _wire_time(moment: datetime) -> str:
    """A DateTimeOffset as the API writes them: ISO 8601 with the offset."""
    return moment.isoformat()


def _parse_time(text: Any) -> datetime:
    return datetime.fromisoformat(str(text))


def _rejected(resource: str, raw: Any, exc: Exception) -> Rejected:
    key = str(raw.get("Id", "?")) if isinstance(raw, dict) else "?"
    return Rejected(resource, key, f"unreadable PowerOffice record: {exc}",
                    raw if isinstance(raw, dict) else {"value": raw})


def _unmatched(resource: str, entry: wire.CustomerLedgerEntry) -> Rejected:
    return Rejected(resource, str(entry.Id), "no invoice shares its MatchId",
                    entry.model_dump(mode="json"))
