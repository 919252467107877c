"""One owner for every claim: only ``connector.lifecycle`` writes the claim tables, only the
moves of its table happen, and plugins hear of moves after they commit, in commit order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text, update

from connector import actions, hookimpl, lifecycle
from connector.domain import ClaimState
from connector.events import ClaimEntered, ClaimMoved
from connector.lifecycle import MOVES, IllegalMove
from connector.store.db import Store
from connector.store.schema import ClaimOutboxRow, ClaimRow
from tests.claim_writes import GUARD, ROOT, findings, project_findings
from tests.support import Harness, new_world

# ---------------------------------------------------------------- nobody else writes claims


def test_no_module_but_the_lifecycle_writes_claims() -> None:
    assert project_findings() == []


@pytest.mark.parametrize("source", [
    "from connector.store.schema import ClaimRow as C\n",
    "from connector.store import schema\nTable = schema.ClaimRow\n",
    "from connector.store.schema import ClaimRow\nsession.execute(update(ClaimRow))\n",
    "from connector.store.schema import ClaimRow\nupsert(session, ClaimRow, rows, keys=())\n",
    "from connector.store.schema import ClaimRow\nsession.add(ClaimRow(link='a'))\n",
    "from connector.store.schema import ClaimRow\nt = ClaimRow.__table__\n",
    "from connector.store.schema import ClaimEventRow\ninsert(ClaimEventRow)\n",
    "session.execute(text('UPDATE claims SET list_name = 1'))\n",
    "session.execute(text('delete from \"claim_events\"'))\n",
    "Base.metadata.tables['claims'].delete()\n",
    "claim = session.get(ClaimRow, 1)\nclaim.list_name = 'open'\n",
    "claim = session.get(ClaimRow, 1)\nclaim.written_off += 1\n",
    "setattr(claim, 'status', 'x')\n",
    "def f(rows: list[ClaimRow]) -> None:\n    rows[0].obstacles = []\n",
    "session.execute(text('UPDATE main.claims SET balance = 0'))\n",
    "session.execute(text('UPDATE/**/claims SET balance = 0'))\n",
    "session.execute(text('update only public.\"claims\" set balance = 0'))\n",
    "session.execute(text('REPLACE INTO claims VALUES (1)'))\n",
    "session.execute(text('TRUNCATE claim_events'))\n",
    "session.execute(text(f'UPDATE {schema}.claims SET balance = 0'))\n",
    "object.__setattr__(claim, 'balance', 0)\n",
    "session.bulk_update_mappings(kind, [{'id': 1, 'balance': 0}])\n",
])
def test_the_static_check_finds_every_way_to_write(source: str) -> None:
    assert findings(source, "rogue.py"), source


@pytest.mark.parametrize("source", [
    "from connector.store.schema import ClaimRow\n"
    "rows = session.scalars(select(ClaimRow).where(ClaimRow.link == 'a'))\n",
    "from connector.store.schema import ClaimRow\nrow = session.get(ClaimRow, 1)\n",
    "def f(row: ClaimRow) -> list[ClaimRow]:\n    return [row]\n",
    "q = select(InvoiceRow).outerjoin(ClaimRow, ClaimRow.invoice_id == InvoiceRow.erp_id)\n",
])
def test_the_static_check_lets_reads_be(source: str) -> None:
    assert findings(source, "reader.py") == []


def test_the_guard_names_a_write_the_static_check_could_not_see(sqlite_store: Store) -> None:
    """Code under ``connector/`` that writes claims is caught by the SQL it sends, however
    it names the table; the same statement from the lifecycle passes."""
    rogue = "def run(session, table):\n    session.execute(update(table).values(status='x'))\n"
    for file, expect in ((ROOT / "connector" / "rogue.py", 1),
                         (ROOT / "connector" / "lifecycle.py", 0)):
        namespace: dict[str, Any] = {"update": update}
        exec(compile(rogue, str(file), "exec"), namespace)
        with sqlite_store.session() as session:
            namespace["run"](session, ClaimRow)
        assert len(GUARD.found) == expect, GUARD.found
        assert all("connector/rogue.py wrote claims" in f for f in GUARD.found)
        GUARD.found.clear()  # seen: the suite's own guard must not fail this test


@pytest.mark.parametrize("statement", [
    "UPDATE main.claims SET status = 'x'", "UPDATE/**/claims SET status = 'x'",
    "update \"claims\" -- a comment\n set status = 'x'"])
def test_the_guard_sees_a_write_however_the_table_is_spelled(sqlite_store: Store,
                                                             statement: str) -> None:
    rogue = f"def run(session):\n    session.execute(text({statement!r}))\n"
    namespace: dict[str, Any] = {"text": text}
    exec(compile(rogue, str(ROOT / "connector" / "rogue.py"), "exec"), namespace)
    with sqlite_store.session() as session:
        namespace["run"](session)
    assert len(GUARD.found) == 1 and "connector/rogue.py wrote claims" in GUARD.found[0]
    GUARD.found.clear()


# ---------------------------------------------------------------- the table of moves


def test_every_state_can_be_reached_and_left_except_the_ends() -> None:
    entered = {new for _old, new in MOVES}
    left = {old for old, _new in MOVES if old is not None}
    assert entered == set(ClaimState)
    assert set(ClaimState) - left == {ClaimState.ARCHIVED}


def test_a_move_the_table_does_not_list_is_refused(sqlite_store: Store) -> None:
    h = Harness(sqlite_store, new_world())
    h.customer("10")
    no = h.invoice(due_in_days=-5)
    h.sync()
    ctx = h.ctx()
    with ctx.tx() as session, pytest.raises(IllegalMove, match="draft to archived"):
        claim = session.get(ClaimRow, h.claim(no)["id"])
        assert claim is not None
        ctx.claims.move(session, [claim], ClaimState.ARCHIVED, ctx.now(), "skipping the agency")
    assert h.claim(no)["state"] == "draft"


def test_an_update_cannot_change_the_state(sqlite_store: Store) -> None:
    h = Harness(sqlite_store, new_world())
    ctx = h.ctx()
    with ctx.tx() as session, pytest.raises(IllegalMove):
        ctx.claims.update(session, [{"id": 1, "list_name": "open"}], ctx.now())


# ---------------------------------------------------------------- events after commit


class Listener:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.heard: list[ClaimMoved] = []

    @hookimpl
    def connector_claim_event(self, event: ClaimMoved) -> None:
        self.heard.append(event)
        if self.fail:
            raise RuntimeError("the listener is broken")


def _drafts(h: Harness, count: int) -> list[int]:
    h.customer("10")
    numbers = [h.invoice(due_in_days=-5) for _ in range(count)]
    h.sync()
    return [h.claim(no)["id"] for no in numbers]


def test_a_plugin_that_raises_does_not_undo_the_move(store: Store) -> None:
    h = Harness(store, new_world())
    broken, working = Listener(fail=True), Listener()
    h.pm.register(broken)
    h.pm.register(working)
    h.customer("10")
    no = h.invoice(due_in_days=-5)
    report = h.sync()
    assert h.claim(no)["state"] == "draft"  # the move stands
    assert [type(e) for e in broken.heard] == [type(e) for e in working.heard] == [ClaimEntered]
    assert [f.resource for f in report.failures] == ["events"]
    assert "the listener is broken" in report.failures[0].reason
    outcome = actions.approve(h.ctx(), None)  # and the next moves go on
    assert outcome.ok and h.claim(no)["state"] == "approved"
    assert [e.new for e in working.heard] == ["draft", "approved"]
    with store.session() as session:
        assert session.scalars(select(ClaimOutboxRow)).all() == []


def test_a_move_that_rolls_back_tells_nobody(store: Store) -> None:
    h = Harness(store, new_world())
    listener = Listener()
    h.pm.register(listener)
    [claim_id] = _drafts(h, 1)
    listener.heard.clear()
    ctx = h.ctx()
    with pytest.raises(RuntimeError, match="after the move"), ctx.tx() as session:
        claim = session.get(ClaimRow, claim_id)
        assert claim is not None
        assert ctx.claims.move(session, [claim], ClaimState.APPROVED, ctx.now(), "approved")
        raise RuntimeError("something failed after the move")
    assert h.claim_by_id(claim_id)["state"] == "draft"
    assert listener.heard == []
    with store.session() as session:
        assert session.scalars(select(ClaimOutboxRow)).all() == []
    h.sync()
    assert listener.heard == []


def test_events_arrive_in_the_order_their_moves_committed(pg_store: Store) -> None:
    """Two transactions: the one that began first commits last, and is heard last."""
    h = Harness(pg_store, new_world())
    listener = Listener()
    h.pm.register(listener)
    first, second = _drafts(h, 2)
    listener.heard.clear()
    outer, inner = h.ctx(), h.ctx()
    with outer.tx() as s1:
        one = s1.get(ClaimRow, first)
        assert one is not None
        outer.claims.move(s1, [one], ClaimState.APPROVED, outer.now(), "approved first")
        with inner.tx() as s2:
            two = s2.get(ClaimRow, second)
            assert two is not None
            inner.claims.move(s2, [two], ClaimState.HELD, inner.now(), "held second")
        assert [(e.claim_id, e.new) for e in listener.heard] == [(second, "held")]
    assert [(e.claim_id, e.new) for e in listener.heard] == [
        (second, "held"), (first, "approved")]


def test_events_of_one_process_keep_their_order_over_many_moves(store: Store) -> None:
    h = Harness(store, new_world())
    listener = Listener()
    h.pm.register(listener)
    ids = _drafts(h, 3)
    for claim_id in ids:
        assert actions.hold(h.ctx(), [claim_id]).ok
        assert actions.restore(h.ctx(), [claim_id]).ok
    moves = [(e.claim_id, e.old, e.new) for e in listener.heard[3:]]
    assert moves == [m for i in ids for m in ((i, "draft", "held"), (i, "held", "draft"))]


def test_events_left_by_a_crash_are_delivered_by_the_next_pass(store: Store) -> None:
    """The process died after the commit, before telling the plugins."""
    h = Harness(store, new_world())
    listener = Listener()
    h.pm.register(listener)
    [claim_id] = _drafts(h, 1)
    listener.heard.clear()
    ctx = h.ctx()
    ctx.deliver_events = lambda: None  # type: ignore[method-assign]  # dies before telling
    actions.hold(ctx, [claim_id])
    assert listener.heard == []
    h.sync()
    assert [(e.claim_id, e.new) for e in listener.heard] == [(claim_id, "held")]


def test_without_a_listener_no_outbox_row_is_written(sqlite_store: Store) -> None:
    h = Harness(sqlite_store, new_world())
    _drafts(h, 2)
    with sqlite_store.session() as session:
        assert session.scalars(select(ClaimOutboxRow)).all() == []



def test_a_move_of_more_claims_than_one_lock_statement_takes_moves_them_all(
        sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "LOCK_CHUNK", 2)
    h = Harness(sqlite_store, new_world())
    ids = _drafts(h, 5)
    assert sorted(actions.approve(h.ctx(), None).done) == sorted(ids)
    assert {c["state"] for c in h.claims()} == {"approved"}
