"""The tables. Every row carries its ``link`` (the company pair), so no query crosses links
by accident. ERP records are mirrored as their domain model's JSON plus the few columns the
engine filters on; claims, their history, cursors, jobs and per-item errors are ours.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from connector.domain import EVENT_KIND_LENGTH, KEY_LENGTH, REFERENCE_LENGTH
from connector.store.types import MoneyType, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime, Decimal: MoneyType, dict[str, Any]: JSON}


class CompanyRow(Base):
    """The ERP company settings last read for a link (R1, R2)."""

    __tablename__ = "companies"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime]


class CustomerRow(Base):
    """A customer card, keyed by the ERP's own id; the number is for display and search."""

    __tablename__ = "customers"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    number: Mapped[str] = mapped_column(String(KEY_LENGTH))
    transfer_to_agency: Mapped[bool]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime]

    __table_args__ = (Index("ix_customers_number", "link", "number"),)


class InvoiceRow(Base):
    __tablename__ = "invoices"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    invoice_no: Mapped[str] = mapped_column(String(KEY_LENGTH))
    customer_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    customer_no: Mapped[str] = mapped_column(String(KEY_LENGTH))
    due_date: Mapped[date] = mapped_column(Date)
    balance: Mapped[Decimal]
    is_open: Mapped[bool]
    """A live invoice with money owed: the only kind the classifier reads."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_at: Mapped[datetime]
    collect_requested_at: Mapped[datetime | None]
    """Set by the connector's own ``collect`` command (R10); never overwritten by a pull."""

    __table_args__ = (
        Index("ix_invoices_link_no", "link", "invoice_no"),
        Index("ix_invoices_open", "link", "is_open", "due_date"),
        Index("ix_invoices_customer_id", "link", "customer_id"),
    )


class LetterRow(Base):
    __tablename__ = "letters"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (Index("ix_letters_invoice", "link", "invoice_id"),)


CLAIM_TABLES = ("claims", "claim_events", "claim_outbox")
"""Written by ``connector.lifecycle`` alone: a claim, its history and its events move together."""


class ClaimRow(Base):
    """One invoice the connector treats as a claim, its state and the list it is in."""

    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    invoice_no: Mapped[str] = mapped_column(String(KEY_LENGTH))
    customer_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    customer_no: Mapped[str] = mapped_column(String(KEY_LENGTH))
    amount: Mapped[Decimal]
    balance: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date] = mapped_column(Date)
    list_name: Mapped[str] = mapped_column(String(20))
    """The list of ``state`` (``ClaimState.list``), kept as a column for the list queries."""
    state: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(Text, default="")
    obstacles: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    entered_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    transfer_started_at: Mapped[datetime | None]
    """Set when a transfer job begins: from then on the ERP side cannot cancel (R5, R6)."""
    transferred_at: Mapped[datetime | None]
    agency_case_id: Mapped[str | None] = mapped_column(Text)
    """The agency's id, unbounded: it comes back from a registration that already happened."""
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    balance_at_agency: Mapped[Decimal | None]
    remaining_principal: Mapped[Decimal | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    """How the agency closed the case (R9)."""
    closed_at: Mapped[datetime | None]
    written_off: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default="0")
    """Written off in the ERP while at the agency (R12)."""
    write_off_reversed: Mapped[Decimal] = mapped_column(default=Decimal(0),
                                                        server_default="0")
    """How much of ``written_off`` a payout's voucher has reversed so far."""
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("link", "invoice_id", name="uq_claims_link_invoice"),
        Index("ix_claims_link_list", "link", "list_name"),
        Index("ix_claims_link_state", "link", "state"),
        Index("ix_claims_agency_case", "link", "agency_case_id"),
        Index("ix_claims_customer_id", "link", "customer_id"),
    )


class ClaimEventRow(Base):
    """The history of a claim, in order; ``external_id`` de-duplicates agency events."""

    __tablename__ = "claim_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    link: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(EVENT_KIND_LENGTH))
    text: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))

    __table_args__ = (
        UniqueConstraint("claim_id", "external_id", name="uq_claim_events_external"),
        Index("ix_claim_events_claim", "claim_id", "at"),
    )


class ClaimOutboxRow(Base):
    """A claim's move waiting to be told to plugins: written with the move, delivered after
    its commit in id order, deleted once delivered."""

    __tablename__ = "claim_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    claim_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_claim_outbox_link", "link", "id"),
                      {"sqlite_autoincrement": True})  # ids never reused: they order events


class CursorRow(Base):
    """How far a link has read one resource of one side, by change time."""

    __tablename__ = "cursors"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    resource: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[datetime]
    updated_at: Mapped[datetime]


UNFINISHED = "state IN ('queued', 'running', 'dead')"
"""The jobs still to do or to look at: the rows of the index of unfinished jobs."""


class JobRow(Base):
    """A durable unit of work with an idempotency key unique per link (docs/guarantees.md)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    unfinished: Mapped[bool] = mapped_column(Boolean, Computed(UNFINISHED, persisted=True))
    """Computed from ``state``: a claim (queued → running) leaves it as it is, so it changes
    no indexed column and PostgreSQL updates the row in place (migration 0009)."""

    __table_args__ = (
        UniqueConstraint("link", "key", name="uq_jobs_link_key"),
        # Only the jobs still to do or to look at, in the order they are claimed: the
        # finished ones pile up over the years and must slow neither a claim nor a pass.
        Index("ix_jobs_unfinished", "link", "kind", "id",
              postgresql_where=text("unfinished"), sqlite_where=text("unfinished")),
    )


ERROR_KEY_LENGTH = 200


class ItemErrorRow(Base):
    """A record that could not be handled, kept whole with the reason (nothing is lost)."""

    __tablename__ = "item_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    resource: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(ERROR_KEY_LENGTH))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("link", "resource", "key", name="uq_item_errors"),)


class LedgerEntryRow(Base):
    """Money the ERP matched against an invoice: payments, credit notes, write-offs."""

    __tablename__ = "ledger_entries"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    erp_id: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal]
    on: Mapped[date] = mapped_column(Date)
    external_reference: Mapped[str | None] = mapped_column(String(REFERENCE_LENGTH))
    handled: Mapped[str] = mapped_column(String(20))
    """What the connector made of it: reported, own_payout, write_off, ignored."""
    changed_at: Mapped[datetime]

    __table_args__ = (Index("ix_ledger_invoice", "link", "invoice_id"),)


class PayoutRow(Base):
    """A settlement from the agency and how it was booked (R13)."""

    __tablename__ = "payouts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    agency_id: Mapped[str] = mapped_column(String(KEY_LENGTH))
    paid_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net: Mapped[Decimal]
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    """received → booked (voucher in the ERP) → marked (the agency told); or skipped."""
    voucher_reference: Mapped[str] = mapped_column(String(200))
    voucher_id: Mapped[str | None] = mapped_column(Text)
    """The ERP's id, unbounded: it comes back from a booking that already happened."""
    voucher_kind: Mapped[str | None] = mapped_column(String(20))
    voucher: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(default=False)
    """The voucher holds a write-off reversal the accountant must check (R12)."""
    received_at: Mapped[datetime]
    booked_at: Mapped[datetime | None]
    marked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("link", "agency_id", name="uq_payouts_link_agency"),
        Index("ix_payouts_paid_on", "link", "paid_on"),
    )


class LeaseRow(Base):
    """Which daemon process works on a link now; a lease that runs out is free to take."""

    __tablename__ = "link_leases"
    link: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime]


class SyncRunRow(Base):
    """One pass of one link: when, by which process, how it ended and what it did."""

    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(100))
    holder: Mapped[str] = mapped_column(String(100))
    """The process (``host:pid``) that ran the pass."""
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(20))
    """running, ok, failed (some items failed), interrupted (stopped by a signal) or crashed."""
    pulled: Mapped[dict[str, Any]] = mapped_column(JSON)
    moved: Mapped[dict[str, Any]] = mapped_column(JSON)
    transferred: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The first failures of the pass (resource, item, reason), for ``connector status``."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why a crashed or interrupted pass ended."""

    __table_args__ = (Index("ix_sync_runs_link", "link", "started_at"),
                      Index("ix_sync_runs_started", "started_at"))


class RequestBudgetRow(Base):
    """A request budget shared by every process using one credential: the GCRA theoretical
    arrival time of its next request, in seconds on the database's clock."""

    __tablename__ = "request_budgets"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float)
