"""The Kravia agency adapter: the ``AgencyAdapter`` port over Kravia API v2.

Reads: the changed cases come from ``GET /invoice/search`` by last updated time, each case's
truth from ``GET /invoice/{id}/details``; cases a webhook marked are fetched first, each
once per pass. Writes: registration, direct payments and credit notes are POSTs that the
HTTP kit never repeats blindly; the engine's look-before-create asks ``find_case`` (a
bounded scan of the search, as Kravia has no lookup by ``accountingInvoiceId``) and
``reduction_reported`` (the case's payments) before any second try.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from connector.clock import Clock, SystemClock
from connector.domain import AgencyCase, CaseRequest, CaseUpdate, ClaimReduction, Payout
from connector.errors import AdapterError, CaseRejected, ConfigError, Unsupported
from connector.http import (
    HttpClient,
    HttpError,
    RateLimiter,
    credential_key,
    shared_limiter,
)
from connector.ports import Capability, Page, Rejected, parse_page
from connector.rules import AgencyRequirements
from connector_adapters.kravia import guesses, mapping, wire
from connector_adapters.kravia.settings import KraviaSettings
from connector_adapters.kravia.webhook import FetchMarks

T = TypeVar("T", bound=BaseModel)
SERVICE = "kravia"
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)
"""The search from "the beginning": Kravia v2 is younger than this."""
_TICK = timedelta(microseconds=1)


class KraviaAgency:
    """One creditor at Kravia, through one API token."""

    capabilities = frozenset({Capability.WEBHOOKS, Capability.DIRECT_PAYMENTS,
                              Capability.CREDIT_NOTES})
    requirements = AgencyRequirements(currencies=guesses.CURRENCIES,
                                      max_lengths=guesses.DEBTOR_LIMITS)
    portal = wire.PORTAL

    def __init__(self, settings: KraviaSettings, *, clock: Clock | None = None,
                 marks: FetchMarks | None = None,
                 transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.marks = marks
        token = settings.api_token.get_secret_value()
        secrets = [token]
        if settings.webhook_secret is not None:
            secrets.append(settings.webhook_secret.get_secret_value())
        self.http = HttpClient(
            SERVICE, settings.base_url, headers={wire.AUTH_HEADER: token},
            limiter=limiter or shared_limiter(credential_key(SERVICE, token),
                                              settings.requests_per_second),
            transport=transport, secrets=secrets, sleep=sleep)

    # -- cases -----------------------------------------------------------------------------

    def find_case(self, reference: str, *, since: datetime | None = None,
                  request: CaseRequest | None = None) -> AgencyCase | None:
        """Scan the search from just before ``since`` (the first attempt; unknown: the
        lookback window) for the case, matched as ``guesses.matches`` says."""
        start = (since - guesses.FIND_MARGIN if since is not None
                 else self.clock.now() - self.settings.find_lookback)
        for items in self._search(start):
            for item in items:
                if guesses.matches(item, reference, request):
                    return mapping.agency_case(item.id, reference, item.status)
        return None

    def register_case(self, request: CaseRequest) -> AgencyCase:
        """POST /invoice/register; a 400 is the creditor's to fix (R7), a lost answer the
        engine's to look for."""
        body = mapping.register_body(request, self.settings.creditor_id)
        problem = too_long(body)
        if problem is not None:
            raise CaseRejected(*problem)
        try:
            raw = self.http.send_json("POST", wire.REGISTER, body.model_dump())
        except HttpError as exc:
            if exc.status in (400, 422):
                raise CaseRejected(*guesses.refusal(exc.problem)) from None
            raise
        reply = guesses.RegisterReply.model_validate(raw)
        return mapping.agency_case(reply.id, request.reference, reply.status)

    def changes(self, changed_since: datetime | None) -> Iterator[Page[CaseUpdate]]:
        """Cases a webhook marked, then every case updated after the cursor, with details."""
        marked = self.marks.take() if self.marks is not None else []
        size = self.settings.page_size
        for start in range(0, len(marked), size):
            yield self._details(marked[start:start + size])
        done = set(marked)
        for items in self._search(changed_since or BEGINNING):
            yield self._details([str(i.id) for i in items if str(i.id) not in done])

    def _details(self, case_ids: Sequence[str]) -> Page[CaseUpdate]:
        raws = [self.http.get_json(wire.DETAILS.format(id=case_id)) for case_id in case_ids]
        return translate_page(CaseUpdate, "case", raws, mapping.case_update, "case_id")

    def _search(self, start: datetime) -> Iterator[list[guesses.SearchItem]]:
        """Pages of invoices updated after ``start``, oldest change first.

        Each next page asks again from the last time seen (the guide's way), one tick
        early so that an inclusive or exclusive filter loses nothing; results seen already
        are dropped. Only when a whole page shares one time does ``skip`` move on."""
        since, skip = start, 0
        seen: set[tuple[int, str]] = set()
        top = self.settings.page_size
        while True:
            body = self.http.get_json(wire.SEARCH, params={
                wire.LAST_UPDATED_TIME: guesses.wire_time(since),
                wire.ORDER_BY: wire.ORDER_BY_LAST_UPDATED, wire.BY_ASCENDING: "True",
                wire.SKIP: skip, wire.TOP: top})
            items = guesses.search_items(body or [])
            fresh = [i for i in items if (i.id, i.lastUpdatedTime) not in seen]
            if fresh:
                yield fresh
            if len(items) < top:
                return
            last = guesses.parse_wire_time(items[-1].lastUpdatedTime)
            if last - _TICK <= since:
                skip += len(items)
            else:
                since, skip = last - _TICK, 0
                seen = {k for k in seen if guesses.parse_wire_time(k[1]) >= last}
            seen.update((i.id, i.lastUpdatedTime) for i in items)

    # -- payouts -----------------------------------------------------------------------------

    def payouts(self) -> Iterator[Page[Payout]]:
        """Settlements not yet bookkept (``ExcludeClosed=true``)."""
        body = self.http.get_json(wire.SETTLEMENTS, params={wire.EXCLUDE_CLOSED: "true"})
        raws = list(body or [])
        size = self.settings.page_size
        for start in range(0, len(raws), size):
            yield translate_page(Payout, "payout", raws[start:start + size], mapping.payout)

    def mark_booked(self, payout_id: str, accounting_id: str) -> None:
        """PATCH …/bookkeep: setting the same accounting id again changes nothing."""
        self.http.request("PATCH", wire.BOOKKEEP.format(id=payout_id),
                          params={wire.INTERNAL_ACCOUNTING_ID: accounting_id},
                          idempotent=True)

    # -- reductions ----------------------------------------------------------------------------

    def reduction_reported(self, reference: str, *, case_id: str | None = None) -> bool:
        """Whether the case's details list a payment or credit under our reference."""
        if case_id is None:
            raise AdapterError(f"Kravia finds a reported payment only on its case: no case "
                               f"given for {reference}")
        raw = self.http.get_json(wire.DETAILS.format(id=case_id))
        details = guesses.Details.model_validate(raw)
        return any(p.accountingPaymentId == reference for p in details.payments)

    def report_reduction(self, reduction: ClaimReduction) -> None:
        path = (wire.PAYMENT if isinstance(body := mapping.reduction_body(reduction),
                                           wire.DirectPayment) else wire.CREDIT_NOTE)
        self.http.send_json("POST", path, body.model_dump())

    # -- webhook ------------------------------------------------------------------------------

    def register_webhook(self, url: str, *, enabled: bool = True) -> None:
        """PUT /creditor/{id}/webhook with the link's secret: one per creditor, all events."""
        if self.settings.webhook_secret is None:
            raise ConfigError("kravia settings: webhook_secret is needed to register a webhook")
        body = wire.WebhookConfig(secret=self.settings.webhook_secret.get_secret_value(),
                                  enabled=enabled, url=url)
        self.http.send_json("PUT", wire.WEBHOOK.format(id=self.settings.creditor_id),
                            body.model_dump())

    # -- what only Kravia Kundeweb does (R6) ---------------------------------------------------

    def pause(self, case_id: str) -> CaseUpdate:
        raise Unsupported(f"Kravia's API cannot pause a case: pause case {case_id} in "
                          f"{self.portal}")

    def resume(self, case_id: str) -> CaseUpdate:
        raise Unsupported(f"Kravia's API cannot resume a case: resume case {case_id} in "
                          f"{self.portal}")

    def withdraw(self, case_id: str) -> CaseUpdate:
        raise Unsupported(f"Kravia's API cannot withdraw a case: withdraw case {case_id} in "
                          f"{self.portal}")

    def close(self) -> None:
        self.http.close()


def too_long(body: wire.RegisterCase) -> tuple[str, str] | None:
    """The first field longer than Kravia stores, as (reason, field), or None."""
    values = {**body.model_dump(), **body.postalAddress.model_dump()}
    for name, limit in guesses.FIELD_LIMITS.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            field = guesses.limited_field(name) or name
            return (f"{name} is {len(value)} characters; Kravia takes at most {limit}", field)
    return None


def translate_page(model: type[T], resource: str, raws: Sequence[Any],
               translate: Callable[[dict[str, Any]], dict[str, Any]],
               key_field: str = "id") -> Page[T]:
    """Wire records to a page of domain models; one that cannot be read is set aside."""
    translated: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for raw in raws:
        try:
            translated.append(translate(raw))
        except (ValidationError, ValueError, TypeError) as exc:
            key = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
            rejected.append(Rejected(resource, key, f"unreadable Kravia record: {exc}",
                                     raw if isinstance(raw, dict) else {"value": raw}))
    page = parse_page(model, resource, translated, key_field)
    page.rejected.extend(rejected)
    return page
