"""Between the domain and PowerOffice Go's wire: the one module that knows both.

Reads turn DTOs (``wire``) into the fields of domain models, which the caller's page
validates (a bad record is set aside, never fatal). Writes turn a ``Voucher`` into a posted
bank voucher (signed lines) or a bookkeeping proposal (debit/credit pairs), with account
and VAT *ids* resolved by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connector.domain import (
    InvoiceKind,
    LedgerKind,
    Voucher,
    VoucherLine,
)
from connector_adapters.poweroffice import guesses, wire


def customer(dto: wire.Customer) -> dict[str, Any]:
    address = dto.MailAddress or wire.ContactAddress()
    return {
        "id": str(dto.Id),
        "number": "" if dto.Number is None else str(dto.Number),
        "name": (dto.Name or "").strip(),
        "is_person": bool(dto.IsPerson),
        "organization_number": dto.OrganizationNumber or None,
        "email": dto.EmailAddress or None,
        "phone": dto.PhoneNumber or None,
        "address": {"line1": address.AddressLine1 or None, "line2": address.AddressLine2 or None,
                    "postal_code": address.ZipCode or None, "city": address.City or None,
                    "country": address.CountryCode or None},
        "transfer_to_agency": dto.TransferToDebtCollectionAgency is not False,
        "send_reminders": dto.SendPaymentReminders is not False,
        "changed_at": dto.LastChangedDateTimeOffset,
    }


def invoice(dto: wire.OutgoingInvoice) -> dict[str, Any]:
    """``TotalPostedAmount`` with ``Balance``: both in NOK, so they compare; the currency is
    the invoice's own. Changes are read by the balance's change time (the only filter)."""
    credit = dto.VoucherType == wire.OUTGOING_CREDIT_NOTE
    return {
        "id": dto.Id,
        "invoice_no": "" if dto.InvoiceNo is None else str(dto.InvoiceNo),
        "customer_id": "" if dto.CustomerId is None else str(dto.CustomerId),
        "customer_no": "" if dto.CustomerNo is None else str(dto.CustomerNo),
        "invoice_date": dto.VoucherDate,
        "due_date": dto.DueDate,
        "amount": dto.TotalPostedAmount,
        "balance": Decimal(0) if dto.Balance is None else dto.Balance,
        "currency": dto.CurrencyCode or "NOK",
        "kid": dto.Cid or None,
        "kind": InvoiceKind.CREDIT_NOTE if credit else InvoiceKind.INVOICE,
        "deleted": dto.IsReversed,
        "changed_at": dto.BalanceLastChangedDateTimeOffset or dto.LastChangedDateTimeOffset,
    }


def letter(entry: wire.CustomerLedgerEntry, invoice_id: str) -> dict[str, Any]:
    kind = guesses.LETTER_KINDS.get(entry.VoucherType)
    if kind is None:
        raise ValueError(f"voucher type {entry.VoucherType} is not a reminder-flow letter")
    return {"id": str(entry.Id), "invoice_id": invoice_id, "kind": kind,
            "sent_on": entry.VoucherDate, "due_date": entry.DueDate,
            "changed_at": entry.LastChangedDateTimeOffset}


def ledger_kind(entry: wire.CustomerLedgerEntry) -> LedgerKind | None:
    """What an entry did to the invoice it is matched with; None for the invoice itself
    and for reminder-flow vouchers (fees are not the invoice's balance)."""
    if entry.IsWriteOff:
        return LedgerKind.WRITE_OFF
    if entry.VoucherType == wire.OUTGOING_CREDIT_NOTE:
        return LedgerKind.CREDIT_NOTE
    if entry.VoucherType == wire.OUTGOING_INVOICE or entry.VoucherType in guesses.LETTER_KINDS:
        return None
    return LedgerKind.PAYMENT


def ledger_entry(entry: wire.CustomerLedgerEntry, kind: LedgerKind, invoice_id: str,
                 reference: str | None) -> dict[str, Any]:
    """A credit on the customer ledger lowers the invoice's balance: a positive amount."""
    return {"id": str(entry.Id), "invoice_id": invoice_id, "kind": kind,
            "amount": -entry.Amount, "on": entry.PostingDate, "external_reference": reference,
            "changed_at": entry.LastChangedDateTimeOffset}


# -- vouchers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """How the caller resolves a line's account and VAT to PowerOffice ids."""

    account: Callable[[VoucherLine], int]
    """The line's AccountId: the customer's SubledgerAccountId for a line with a customer,
    else the general ledger account of that number."""
    vat: Callable[[str | None], int]


def posted_voucher(voucher: Voucher, ids: Ids, currency: str = "NOK") -> wire.BankVoucherPost:
    """A posted bank voucher: one signed line per line, the reference as
    ``ExternalImportReference`` (unique per client: the idempotency key)."""
    return wire.BankVoucherPost(
        CurrencyCode=currency, VoucherDate=voucher.date, Description=voucher.description,
        ExternalImportReference=voucher.reference,
        VoucherLines=[wire.BankVoucherLinePost(
            AccountId=ids.account(line), VatId=ids.vat(line.vat_code), PostingDate=voucher.date,
            CurrencyAmount=line.amount, CurrencyCode=currency,
            Description=guesses.flagged(line.description or voucher.description, line.flag),
            InvoiceNo=line.invoice_no) for line in voucher.lines if line.amount != 0])


def proposal(voucher: Voucher, ids: Ids, currency: str = "NOK") -> wire.JournalEntryVoucherPost:
    """A bookkeeping proposal. Its lines are debit/credit pairs: every line is paired with
    the voucher's first line (the bank, for a payout), whose amount is the opposite of all
    others together, so each pair keeps its own line's account, invoice and text."""
    counter, *others = voucher.lines
    pairs = []
    for line in others:
        if line.amount == 0:
            continue
        debit, credit = (line, counter) if line.amount > 0 else (counter, line)
        pairs.append(wire.JournalEntryLinePost(
            DebitAccountId=ids.account(debit), CreditAccountId=ids.account(credit),
            DebitVatId=ids.vat(debit.vat_code), CreditVatId=ids.vat(credit.vat_code),
            CurrencyAmount=abs(line.amount), CurrencyCode=currency,
            Description=guesses.flagged(line.description or voucher.description, line.flag),
            InvoiceNo=line.invoice_no, PostingDate=voucher.date))
    return wire.JournalEntryVoucherPost(
        CurrencyCode=currency, VoucherDate=voucher.date,
        Description=guesses.describe(voucher.description, voucher.reference),
        BankJournalLines=pairs)


def date_param(day: date) -> str:
    return day.isoformat()
