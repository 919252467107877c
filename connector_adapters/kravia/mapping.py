"""Between the domain and Kravia's wire: the one module that knows both.

Requests are built from ``wire`` bodies (facts); answers are read from ``guesses`` shapes.
"""

from __future__ import annotations

import hashlib
from typing import Any

from connector.domain import (
    AgencyCase,
    CaseOutcome,
    CaseRequest,
    ClaimReduction,
    LedgerKind,
)
from connector_adapters.kravia import guesses, wire

ADDRESS_SEPARATOR = ", "
"""Only ``addressAddressLine1`` is documented: a second address line is appended to it after
this separator, so nothing the debtor's post needs is dropped."""


def address_line(line1: str | None, line2: str | None) -> str:
    parts = [p.strip() for p in (line1, line2) if p and p.strip()]
    return ADDRESS_SEPARATOR.join(parts)


def register_body(request: CaseRequest, creditor_id: int) -> wire.RegisterCase:
    """POST /invoice/register for a claim: the ERP invoice id as ``accountingInvoiceId``, the
    ERP customer number as ``debtorNumber``, the open balance as the overdue amount."""
    debtor, address = request.debtor, request.debtor.address
    organization = (debtor.organization_number or "").replace(" ", "") or None
    return wire.RegisterCase(
        claimType="CollectionCase",
        creditorId=creditor_id,
        accountingInvoiceId=request.reference,
        debtorName=debtor.name.strip(),
        debtorNumber=debtor.number,
        email=debtor.email or None,
        organizationNumber=None if debtor.is_person else organization,
        isPrivateIndividual="true" if debtor.is_person else "false",
        postalAddress=wire.PostalAddress(
            addressAddressLine1=address_line(address.line1, address.line2),
            addressPostalCode=(address.postal_code or "").strip(),
            addressCity=(address.city or "").strip(),
            addressCountryCode=(address.country or "").strip().upper(),
        ),
        invoiceNo=request.invoice_no,
        invoiceDate=request.invoice_date.isoformat(),
        dueDate=request.due_date.isoformat(),
        originalAmount=request.balance,
        currencyCode=request.currency,
        description=request.description or f"Invoice {request.invoice_no}",
    )


def agency_case(case_id: int, reference: str, status: str | None) -> AgencyCase:
    return AgencyCase(id=str(case_id), reference=reference,
                      status=status or "Registered at Kravia")


def _events(details: guesses.Details) -> list[dict[str, Any]]:
    """Timeline and activities as history lines, each with an id that is the same on every
    read (the store keeps one line per id): Kravia's own id where it gives one, else a digest
    of the line. A line shown in both lists is kept once."""
    seen: set[tuple[str, str, str]] = set()
    events: list[dict[str, Any]] = []
    for source, entries in (("t", details.timeline), ("a", details.activities)):
        for entry in entries:
            content = (entry.time, entry.type, entry.description)
            if content in seen:
                continue
            seen.add(content)
            if entry.id is not None:
                key = f"{details.id}-{source}{entry.id}"
            else:
                digest = hashlib.sha256("\x1f".join(content).encode()).hexdigest()[:16]
                key = f"{details.id}-{digest}"
            events.append({"id": key, "at": guesses.parse_wire_time(entry.time),
                           "kind": entry.type, "text": entry.description})
    events.sort(key=lambda e: e["at"])
    return events


def case_update(raw: dict[str, Any]) -> dict[str, Any]:
    """A details body as the fields of a ``CaseUpdate`` (validated by the caller's page)."""
    details = guesses.Details.model_validate(raw)
    outcome: CaseOutcome | None = None
    if details.isClosed and details.closedReason is not None:
        outcome = guesses.CLOSED_REASONS.get(details.closedReason)
    return {
        "case_id": str(details.id),
        "reference": details.accountingInvoiceId or "",  # not ours: the engine says so
        "status": details.status,
        "paused": details.isPaused,
        "closed": details.isClosed,
        "outcome": outcome,
        "original_amount": details.originalAmount,
        "remaining_principal": details.remainingCapital,
        "balance_at_agency": details.outstandingAmount,
        "events": _events(details),
        "changed_at": guesses.parse_wire_time(details.lastUpdatedTime),
    }


def payout(raw: dict[str, Any]) -> dict[str, Any]:
    """A settlement as the fields of a ``Payout``."""
    settlement = guesses.Settlement.model_validate(raw)
    lines = []
    for line in settlement.lines:
        kind = guesses.LINE_KINDS.get(line.type)
        if kind is None:
            raise ValueError(f"settlement {settlement.id}: unknown line type {line.type!r}")
        lines.append({"kind": kind, "amount": line.amount,
                      "case_id": None if line.invoiceId is None else str(line.invoiceId),
                      "reference": line.accountingInvoiceId, "description": line.description})
    return {"id": str(settlement.id), "paid_on": settlement.paymentDate,
            "currency": settlement.currencyCode, "lines": lines,
            "changed_at": guesses.parse_wire_time(settlement.lastUpdatedTime)}


def reduction_body(reduction: ClaimReduction) -> wire.DirectPayment | wire.CreditNote:
    """A direct payment (camelCase, positive) or a credit note (PascalCase, negative); our
    reference travels as ``AccountingPaymentId``."""
    invoice_id = int(reduction.case_id)
    if reduction.kind is LedgerKind.PAYMENT:
        return wire.DirectPayment(
            date=reduction.on.isoformat(), description=reduction.description,
            AccountingPaymentId=reduction.reference, amount=reduction.amount,
            invoices=[wire.PaymentLine(invoiceId=invoice_id, amount=reduction.amount)])
    if reduction.kind is LedgerKind.CREDIT_NOTE:
        return wire.CreditNote(
            Date=f"{reduction.on.isoformat()}T00:00:00", Amount=-reduction.amount,
            AccountingPaymentId=reduction.reference, Description=reduction.description,
            Invoices=[wire.CreditLine(InvoiceId=invoice_id, Amount=-reduction.amount)])
    raise ValueError(f"a {reduction.kind.value} is not reported to Kravia")
