"""How a payout is booked (R13) and a write-off reversed (R12): pure functions, no I/O.

The voucher itemises the payout: bank in, principal against the customer ledger matched to
each invoice, interest and fees the creditor keeps, the agency's commission as a cost with
its VAT. Where an invoice was written off while at the agency, the collected principal is
put back on the ledger and the loss reduced, on lines flagged for the accountant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from connector.domain import Payout, PayoutLineKind, Voucher, VoucherKind, VoucherLine, to_money

REVERSAL_FLAG = "write_off_reversal"


class Accounts(BaseModel):
    """Account numbers per link; defaults from the Norwegian standard chart (NS 4102)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    bank: str = "1920"
    customers: str = "1500"
    interest: str = "8050"
    fees: str = "8050"
    collection_cost: str = "7770"
    input_vat: str = "2710"
    write_off: str = "7830"
    """Loss on receivables: where R12 write-offs are booked, so where reversals go back."""


@dataclass(frozen=True)
class ClaimRef:
    """What the voucher needs to know of the claim a payout line belongs to."""

    claim_id: int
    customer_no: str
    invoice_no: str
    write_off_open: Decimal
    """Written off in the ERP and not reversed yet (R12)."""


@dataclass(frozen=True)
class Booking:
    voucher: Voucher
    principal: Mapping[int, Decimal]
    """Principal booked per claim id."""
    reversed: Mapping[int, Decimal]
    """Write-off reversed per claim id."""


def voucher_reference(payout_id: str) -> str:
    """The idempotency key sent as PowerOffice ``ExternalImportReference`` (docs/guarantees.md)."""
    return f"payout:{payout_id}"


def payout_booking(payout: Payout, claims: Mapping[str, ClaimRef], accounts: Accounts,
                   kind: VoucherKind) -> Booking:
    """The voucher for one payout; ``claims`` maps a line's reference to its claim."""
    lines = [VoucherLine(account=accounts.bank, amount=payout.net,
                         description=f"Payout {payout.id} from the agency")]
    principal: dict[int, Decimal] = {}
    for line in payout.lines:
        claim = claims.get(line.reference or "")
        if line.kind is PayoutLineKind.PRINCIPAL:
            lines.append(VoucherLine(
                account=accounts.customers, amount=-line.amount,
                customer_no=claim.customer_no if claim else None,
                invoice_no=claim.invoice_no if claim else None,
                description=line.description or "Principal collected"))
            if claim:  # else booked to the customer ledger without a customer or invoice
                principal[claim.claim_id] = principal.get(claim.claim_id, Decimal(0)) + line.amount
        elif line.kind in (PayoutLineKind.INTEREST, PayoutLineKind.FEE):
            income = accounts.interest if line.kind is PayoutLineKind.INTEREST else accounts.fees
            account = income if line.amount >= 0 else accounts.collection_cost
            lines.append(VoucherLine(account=account, amount=-line.amount,
                                     invoice_no=claim.invoice_no if claim else None,
                                     description=line.description or line.kind.value.title()))
        elif line.kind is PayoutLineKind.COMMISSION:
            lines.append(VoucherLine(account=accounts.collection_cost, amount=line.amount,
                                     description=line.description or "Agency commission"))
        else:
            lines.append(VoucherLine(account=accounts.input_vat, amount=line.amount,
                                     description=line.description or "VAT on agency costs"))
    reversed_: dict[int, Decimal] = {}
    for claim in {c.claim_id: c for c in claims.values()}.values():
        amount = to_money(min(principal.get(claim.claim_id, Decimal(0)), claim.write_off_open))
        if amount <= 0:
            continue
        reversed_[claim.claim_id] = amount
        note = (f"Reversal of the write-off of invoice {claim.invoice_no}: the agency collected "
                f"{amount} after it was written off (R12); check before approving")
        lines.append(VoucherLine(account=accounts.customers, amount=amount,
                                 customer_no=claim.customer_no, invoice_no=claim.invoice_no,
                                 description=note, flag=REVERSAL_FLAG))
        lines.append(VoucherLine(account=accounts.write_off, amount=-amount,
                                 invoice_no=claim.invoice_no, description=note,
                                 flag=REVERSAL_FLAG))
    voucher = Voucher(reference=voucher_reference(payout.id), kind=kind, date=payout.paid_on,
                      description=f"Collection payout {payout.id}", lines=lines,
                      flagged=bool(reversed_))
    if voucher.balance != 0:
        raise ValueError(f"payout {payout.id} does not balance: off by {voucher.balance}")
    return Booking(voucher, principal, reversed_)
