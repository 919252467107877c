"""Bad input from an adapter: each bad item gets a clear stored error; the rest goes on."""

from __future__ import annotations

from sqlalchemy import select

from connector import actions
from connector.item_errors import open_errors
from connector.store.db import Store
from connector.store.schema import InvoiceRow
from tests.support import Harness, new_world


def test_bad_items_are_stored_with_reasons_and_the_good_ones_go_through(store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    good = h.invoice(due_in_days=-5)
    negative = h.invoice(amount="-250.00", due_in_days=-5)
    zero = h.invoice(amount="0.00", due_in_days=-5)
    euro = h.invoice(currency="EUR", due_in_days=-5)
    stranger = h.invoice("777", due_in_days=-5)
    malformed = h.invoice(due_date="2026-13-45")

    report = h.sync()

    assert not report.ok
    reasons = {f.key: f.reason for f in report.failures}
    ids = {no: h.world.erp.invoice(no).id for no in (negative, zero, stranger, malformed)}
    assert "negative" in reasons[ids[negative]] or "non-positive" in reasons[ids[negative]]
    assert "non-positive amount" in reasons[ids[zero]]
    assert "customer 777" in reasons[ids[stranger]] and "not known" in reasons[ids[stranger]]
    assert "due_date" in reasons[ids[malformed]]

    with store.session() as s:
        stored = {e.key: e for e in open_errors(s, "test")}
        assert set(stored) == set(ids.values())
        assert stored[ids[malformed]].raw["due_date"] == "2026-13-45"  # kept whole
        # The malformed one is not in the mirror; the others are, nothing lost.
        mirrored = set(s.scalars(select(InvoiceRow.invoice_no)))
    assert mirrored == {good, negative, zero, euro, stranger}

    assert h.claim(good)["list"] == "draft"
    euro_claim = h.claim(euro)
    assert [o["code"] for o in euro_claim["obstacles"]] == ["currency"]
    assert "EUR is not taken by the agency" in euro_claim["obstacles"][0]["message"]

    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    h.sync()
    assert h.claim(good)["list"] == "open"
    assert h.claim(euro)["list"] == "approved"
    assert h.cases_for(euro) == 0


def test_a_fixed_record_resolves_its_error(store: Store) -> None:
    h = Harness(store, new_world())
    h.customer("10")
    stranger = h.invoice("555", due_in_days=-5)
    h.sync()
    with store.session() as s:
        assert len(open_errors(s, "test")) == 1
    h.customer("555")
    h.advance(hours=1)
    h.sync()
    assert h.claim(stranger)["list"] == "draft"
    with store.session() as s:
        assert open_errors(s, "test") == []
