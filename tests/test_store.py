"""The store: migrations match the models, money stays exact, times stay aware (both DBs)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from connector.store import db
from connector.store.db import Store, upsert
from connector.store.schema import Base, ClaimRow, CursorRow


def test_migrations_produce_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_money_and_time_round_trip_exactly(store: Store) -> None:
    oslo = timezone(timedelta(hours=1))
    when = datetime(2026, 1, 5, 9, 30, tzinfo=oslo)
    with store.session() as s:
        s.add(ClaimRow(link="a", invoice_id="i", invoice_no="1", customer_id="c1", customer_no="c",
                       amount=Decimal("123456789.99"), balance=Decimal("0.01"), currency="NOK",
                       due_date=date(2026, 1, 1), list_name="draft", state="draft",
                       status="", obstacles=[],
                       entered_at=when, updated_at=when))
    with store.session() as s:
        row = s.scalars(select(ClaimRow)).one()
    assert row.amount == Decimal("123456789.99") and row.balance == Decimal("0.01")
    assert row.entered_at == when and row.entered_at.tzinfo is not None
    assert row.entered_at.utcoffset() == timedelta(0)


def test_upsert_writes_a_page_and_updates_on_conflict(store: Store) -> None:
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"link": "a", "resource": f"r{i}", "value": t1, "updated_at": t1} for i in range(3)]
    with store.session() as s:
        upsert(s, CursorRow, rows, keys=("link", "resource"), update=("value",))
    t2 = t1 + timedelta(days=1)
    with store.session() as s:
        upsert(s, CursorRow, [{**rows[0], "value": t2}], keys=("link", "resource"),
               update=("value",))
        upsert(s, CursorRow, [{**rows[1], "value": t2}], keys=("link", "resource"))
    with store.session() as s:
        values = {r.resource: r.value for r in s.scalars(select(CursorRow))}
    assert values == {"r0": t2, "r1": t1, "r2": t1}


def test_a_store_made_by_the_first_schema_upgrades_with_its_claims(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from connector.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO claims (link, invoice_id, invoice_no, customer_no, amount, balance, "
            "currency, due_date, list_name, status, obstacles, entered_at, updated_at) VALUES "
            "('a', 'i', '1', 'c', 10000, 10000, 'NOK', '2026-01-01', 'open', '', '[]', "
            "'2026-01-02 00:00:00', '2026-01-02 00:00:00')"))
    engine.dispose()
    store = Store(url)  # opening a store migrates it to the newest schema
    with store.session() as s:
        claim = s.scalars(select(ClaimRow)).one()
    assert claim.amount == Decimal("100.00") and claim.paused is False
    assert claim.written_off == Decimal("0.00") and claim.outcome is None
    assert claim.state == "open"  # the state column is filled from the list
    store.dispose()


def test_planner_statistics_are_refreshed_on_postgresql(pg_store: Store) -> None:
    from sqlalchemy import text

    from connector.engine import analyze

    analyze(pg_store)
    with pg_store.session() as s:
        analyzed = set(s.scalars(text(
            "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL "
            "AND schemaname = current_schema()")))
    assert {"customers", "invoices", "letters", "claims"} <= analyzed


def test_a_connection_in_use_is_not_pinged_and_one_that_rested_is(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store = pg_store
    pings: list[object] = []
    ping = store.engine.dialect.do_ping

    def counted(conn: Any) -> bool:
        pings.append(conn)
        return ping(conn)

    monkeypatch.setattr(store.engine.dialect, "do_ping", counted)
    for _ in range(3):
        with store.session() as s:
            s.execute(text("SELECT 1"))
    assert pings == []  # busy: a ping per transaction would be a round trip each
    monkeypatch.setattr(db, "PING_IDLE", 0.0)
    with store.session() as s:
        s.execute(text("SELECT 1"))
    assert len(pings) == 1


def test_a_pooled_connection_the_server_closed_is_replaced(
        pg_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    with pg_store.session() as s:
        pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(pg_store.url)
    with admin.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    monkeypatch.setattr(db, "PING_IDLE", 0.0)
    with pg_store.session() as s:
        assert s.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_customers_come_to_be_keyed_by_their_erp_id(store: Store) -> None:
    """Migration 0007: a store whose customers were keyed by number. Its invoices and claims
    learn their customer's ERP id, and a number two cards once shared no longer matters."""
    from alembic import command

    from connector.store.db import alembic_config
    from connector.store.schema import CustomerRow, InvoiceRow

    config = alembic_config(store.engine)
    command.downgrade(config, "0006")
    when = "2026-01-02 00:00:00+00:00"
    with store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO customers (link, number, erp_id, transfer_to_agency, data, changed_at) "
            "VALUES ('a', '10', 'c-77', true, :card, :when)"),
            {"card": '{"id": "c-77", "number": "10", "name": "Kunde AS", "changed_at": '
                     '"2026-01-02T00:00:00Z"}', "when": when})
        conn.execute(text(
            "INSERT INTO invoices (link, erp_id, invoice_no, customer_no, due_date, balance, "
            "is_open, data, changed_at) VALUES ('a', 'i-1', '501', '10', '2026-01-01', 10000, "
            "true, :data, :when)"),
            {"data": '{"id": "i-1", "invoice_no": "501", "customer_no": "10", "invoice_date": '
                     '"2025-12-01", "due_date": "2026-01-01", "amount": "100.00", "balance": '
                     '"100.00", "currency": "NOK", "changed_at": "2026-01-02T00:00:00Z"}',
             "when": when})
        conn.execute(text(
            "INSERT INTO claims (link, invoice_id, invoice_no, customer_no, amount, balance, "
            "currency, due_date, list_name, state, status, obstacles, entered_at, updated_at) "
            "VALUES ('a', 'i-1', '501', '10', 10000, 10000, 'NOK', '2026-01-01', 'open', "
            "'open', '', '[]', :when, :when)"), {"when": when})
        conn.execute(text(
            "INSERT INTO claim_events (claim_id, link, at, source, kind, text) "
            "SELECT id, link, :when, 'connector', 'moved:open', 'Sent to the agency' "
            "FROM claims"),
            {"when": when})
    command.upgrade(config, "head")

    from connector.classify import as_invoice
    from connector.store.schema import ClaimEventRow

    with store.session() as s:  # SQLite's copy-and-move of a table must not cascade
        assert [e.text for e in s.scalars(select(ClaimEventRow))] == ["Sent to the agency"]
        if store.engine.dialect.name == "sqlite":  # and the keys are enforced again after
            assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1

    with store.session() as s:
        invoice_row = s.scalars(select(InvoiceRow)).one()
        claim = s.scalars(select(ClaimRow)).one()
        card = s.get(CustomerRow, ("a", "c-77"))
    assert invoice_row.customer_id == "c-77" and claim.customer_id == "c-77"
    assert as_invoice(invoice_row).customer_id == "c-77"  # the stored record reads again
    assert card is not None and card.number == "10"
    with store.session() as s:  # another card may now take the same number
        upsert(s, CustomerRow, [{"link": "a", "erp_id": "c-78", "number": "10",
                                 "transfer_to_agency": True, "data": {},
                                 "changed_at": datetime(2026, 1, 3, tzinfo=UTC)}],
               keys=("link", "erp_id"))
    with store.session() as s:
        assert len(s.scalars(select(CustomerRow)).all()) == 2


def test_stored_records_with_ids_past_the_key_length_are_read_again(store: Store) -> None:
    """Migration 0010: a record stored before ids were bounded (whole on SQLite, its key
    column cut short on PostgreSQL) would fail every pass that reads it back. It is deleted
    with its link's cursor of that resource, so the next pass reads the resource again and
    sets such records aside through the one path that does (an item error with the data);
    the records beside it and the other links' cursors stay."""
    from alembic import command

    from connector.pull import load_customers
    from connector.store.db import alembic_config
    from connector.store.schema import CursorRow, CustomerRow

    config = alembic_config(store.engine)
    command.downgrade(config, "0009")
    long_id = "c" * 150
    when = "2026-01-02 00:00:00+00:00"
    with store.engine.begin() as conn:
        for erp_id, number in {"c-1": "10", long_id: "11"}.items():
            conn.execute(text(
                "INSERT INTO customers (link, erp_id, number, transfer_to_agency, data, "
                "changed_at) VALUES ('a', :key, :number, true, :card, :when)"),
                {"key": erp_id[:100], "number": number, "when": when,
                 "card": json.dumps({"id": erp_id, "number": number, "name": "Kunde AS",
                                     "changed_at": "2026-01-02T00:00:00Z"})})
        for link, resource in (("a", "customers"), ("a", "invoices"), ("b", "customers")):
            conn.execute(text("INSERT INTO cursors (link, resource, value, updated_at) "
                              "VALUES (:link, :resource, :when, :when)"),
                         {"link": link, "resource": resource, "when": when})
    command.upgrade(config, "head")
    with store.session() as s:
        assert list(s.scalars(select(CustomerRow.erp_id))) == ["c-1"]
        assert list(load_customers(s, "a", ["c-1"])) == ["c-1"]  # reads as before
        assert sorted(tuple(r) for r in s.execute(select(CursorRow.link, CursorRow.resource))) == [
            ("a", "invoices"), ("b", "customers")]


def test_the_ids_an_agency_or_erp_hands_back_are_kept_whole(store: Store) -> None:
    """A case's or a voucher's id comes back from a call that has acted already: never
    refused for its length, on either database."""
    from connector.store.schema import PayoutRow

    case_id, voucher_id = "k" * 300, "v" * 300
    when = datetime(2026, 1, 5, tzinfo=UTC)
    with store.session() as s:
        s.add(ClaimRow(link="a", invoice_id="i", invoice_no="1", customer_id="c1",
                       customer_no="c", amount=Decimal("1.00"), balance=Decimal("1.00"),
                       currency="NOK", due_date=date(2026, 1, 1), list_name="open",
                       state="open", status="", obstacles=[], entered_at=when,
                       updated_at=when, agency_case_id=case_id))
        s.add(PayoutRow(link="a", agency_id="p-1", paid_on=date(2026, 1, 5), currency="NOK",
                        net=Decimal("1.00"), lines=[], state="booked",
                        voucher_reference="payout:p-1", voucher_id=voucher_id,
                        flagged=False, received_at=when))
    with store.session() as s:
        assert s.scalar(select(ClaimRow.agency_case_id)) == case_id
        assert s.scalar(select(PayoutRow.voucher_id)) == voucher_id


def test_an_agency_event_id_kept_whole_before_is_fitted_as_it_is_now_read(
        sqlite_store: Store) -> None:
    """Migration 0010 on SQLite, which kept such an id whole: the event read again after the
    upgrade is known as the same one, so its history line is not written twice."""
    from alembic import command

    from connector.domain import REFERENCE_LENGTH, fitted
    from connector.store.db import alembic_config
    from connector.store.schema import ClaimEventRow

    config = alembic_config(sqlite_store.engine)
    command.downgrade(config, "0009")
    long_id = "e" * 257
    when = "2026-01-02 00:00:00"
    with sqlite_store.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO claims (link, invoice_id, invoice_no, customer_id, customer_no, "
            "amount, balance, currency, due_date, list_name, state, status, obstacles, "
            "entered_at, updated_at) VALUES ('a', 'i', '1', 'c', '10', 100, 100, 'NOK', "
            "'2026-01-01', 'open', 'open', '', '[]', :when, :when)"), {"when": when})
        conn.execute(text(
            "INSERT INTO claim_events (claim_id, link, at, source, kind, text, external_id) "
            "SELECT id, 'a', :when, 'agency', 'registered', 'Registered', :event FROM claims"),
            {"when": when, "event": long_id})
    command.upgrade(config, "head")
    with sqlite_store.session() as s:
        assert s.scalar(select(ClaimEventRow.external_id)) == fitted(long_id, REFERENCE_LENGTH)
