"""A lost store never sends a case twice (docs/guarantees.md, "A lost store").

Reported: after `connector demo`, `: > .connector/state.db`, `sync`, `approve --all`,
`mock advance 3h` and `sync` the agency had 21 duplicate cases. Each story here runs the
connector as a user does, loses the store one way (emptied, restored from a copy taken
mid-run, moved to the other database), then goes on as the report did: every agency case is
adopted with its list and history, and the agency gets no second case.
"""

from __future__ import annotations

import gc
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from connector_adapters.mock.world import World
from tests.mock.cli import BASE, User


class Backend:
    """Where the user's store lives, and what an unlucky user does to it."""

    def __init__(self, name: str, tmp_path: Path, server: str = "") -> None:
        self.name = name
        self.server = server
        """PostgreSQL's URL, for a store there."""
        self.db = tmp_path / "state" / "state.db"
        self.schema = f"loss_{uuid.uuid4().hex[:10]}"
        self.copies: list[str] = []

    @property
    def url(self) -> str | None:
        """The config's ``store_url`` (None: the state folder's SQLite file)."""
        if self.name == "sqlite":
            return None
        return f"{self.server}?options=-csearch_path%3D{self.schema}"

    def create(self) -> None:
        if self.name == "postgresql":
            self._sql(f"CREATE SCHEMA {self.schema}")

    def empty(self) -> None:
        """`: > state.db`, or a database whose tables are all gone."""
        if self.name == "sqlite":
            gc.collect()  # as when the last command's process ended: its connections close
            self.db.write_bytes(b"")
        else:
            self._sql(f"DROP SCHEMA {self.schema} CASCADE", f"CREATE SCHEMA {self.schema}")

    def copy(self) -> Callable[[], None]:
        """A backup taken now; calling what is returned restores it over the live store."""
        if self.name == "sqlite":
            gc.collect()
            backup = self.db.with_suffix(".backup")
            with sqlite3.connect(self.db) as live, sqlite3.connect(backup) as kept:
                live.backup(kept)
            return lambda: _sqlite_copy(backup, self.db)
        copy = f"{self.schema}_copy"
        self.copies.append(copy)
        tables = self._tables(self.schema)
        self._sql(f"CREATE SCHEMA {copy}", *(
            f"CREATE TABLE {copy}.{t} AS SELECT * FROM {self.schema}.{t}" for t in tables))

        def restore() -> None:
            # as pg_restore does: foreign keys are not checked while the rows go back, and
            # generated columns are computed again rather than copied
            stored = {t: ", ".join(f'"{c}"' for c in self._stored_columns(t)) for t in tables}
            self._sql("SET LOCAL session_replication_role = replica",
                      f"TRUNCATE {', '.join(f'{self.schema}.{t}' for t in tables)}", *(
                f"INSERT INTO {self.schema}.{t} ({stored[t]}) SELECT {stored[t]} FROM {copy}.{t}"
                for t in tables))
        return restore

    def drop(self) -> None:
        if self.name == "postgresql":
            self._sql(*(f"DROP SCHEMA IF EXISTS {s} CASCADE"
                        for s in (self.schema, *self.copies)))

    def _tables(self, schema: str) -> list[str]:
        engine = create_engine(self.server)
        with engine.connect() as conn:
            names = list(conn.scalars(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema}))
        engine.dispose()
        return names

    def _stored_columns(self, table: str) -> list[str]:
        engine = create_engine(self.server)
        with engine.connect() as conn:
            names = list(conn.scalars(text(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                "AND table_name = :t AND is_generated = 'NEVER' ORDER BY ordinal_position"),
                {"s": self.schema, "t": table}))
        engine.dispose()
        return names

    def _sql(self, *statements: str) -> None:
        engine = create_engine(self.server)
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()


def _sqlite_copy(source: Path, target: Path) -> None:
    gc.collect()
    with sqlite3.connect(source) as kept, sqlite3.connect(target) as live:
        kept.backup(live)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    server = request.getfixturevalue("pg_url") if request.param == "postgresql" else ""
    chosen = Backend(request.param, tmp_path, server)
    chosen.create()
    yield chosen
    chosen.drop()


def user_on(tmp_path: Path, url: str | None) -> User:
    """The mock scenario of ``tests/mock/cli.py``; its store at ``url`` if one is given."""
    user = User(tmp_path, scenario="")
    use_store(user, url)
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(BASE, encoding="utf-8")
    user.run(f"mock load {scenario}")
    return user


def use_store(user: User, url: str | None) -> None:
    """Point the config at another store, as a user editing ``store_url`` does."""
    lines = [ln for ln in user.cfg.read_text(encoding="utf-8").splitlines()
             if not ln.startswith("store_url")]
    if url is not None:
        lines.insert(0, f'store_url = "{url}"')
    user.cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")


def go_on_as_reported(user: User) -> str:
    """The report's steps after the loss; returns what the first sync printed."""
    first = user.run("sync")
    user.run("approve --all")
    user.run("mock advance 3h")
    user.run("sync")
    return first


def assert_every_case_adopted_once(user: User) -> None:
    """No second case at the agency; each of its cases is a claim in its list."""
    assert user.show()["duplicates"] == 0
    world = World.open(user.world_dir)
    try:
        cases = {c.reference: (c.id, c.closed) for c in world.agency.cases.values()}
    finally:
        world.close()
    claims = {c["invoice_id"]: c for c in [*user.json("cases --list open"),
                                             *user.json("cases --list archived")]}
    assert {ref: (c["agency_case_id"], c["list"] == "archived") for ref, c in claims.items()} \
        == cases


def a_run_with_cases(user: User) -> None:
    """501 and 502 sent; 501 closed by the agency since, so Archived."""
    user.to_open("501", "502")
    user.run("mock agency close 501 --outcome unresolved")
    user.run("sync")
    assert user.claims("archived")["501"]["agency_case_id"]


def test_1_an_emptied_store_adopts_every_agency_case(tmp_path: Path, backend: Backend) -> None:
    user = user_on(tmp_path, backend.url)
    a_run_with_cases(user)
    backend.empty()
    printed = go_on_as_reported(user)
    assert "warning: the store did not know 2 of the agency's cases" in " ".join(printed.split())
    assert_every_case_adopted_once(user)
    archived = user.history("501")
    assert "Adopted from the agency's case" in archived
    assert "Case closed" in archived or "closed" in archived.lower()  # its agency history
    assert user.claims("open")["502"]["status"]  # the agency's status, not a blank


def test_1_a_store_restored_from_a_copy_taken_mid_run_adopts_what_it_missed(
        tmp_path: Path, backend: Backend) -> None:
    user = user_on(tmp_path, backend.url)
    user.run("sync")
    drafts = user.claims("draft")
    user.run(f"approve {drafts['501']['id']}")
    restore = backend.copy()  # 501 Approved, 502 Draft, nothing at the agency yet
    user.run("mock advance 2h1m")
    user.run("sync")
    user.run(f"approve {drafts['502']['id']}")
    user.run("mock advance 2h1m")
    user.run("sync")
    user.run("mock agency close 501 --outcome unresolved")
    user.run("sync")
    assert set(user.claims("open")) == {"502"} and set(user.claims("archived")) == {"501"}
    restore()
    assert set(user.claims("approved")) == {"501"} and "502" in user.claims("draft")
    go_on_as_reported(user)
    assert_every_case_adopted_once(user)
    assert "restored from an older copy" in user.history("501")
    assert "had this claim in draft" in user.history("502")


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite→postgresql", "postgresql→sqlite"])
def test_1_a_switch_between_sqlite_and_postgresql_adopts_every_agency_case(
        tmp_path: Path, direction: str, pg_url: str) -> None:
    pg = Backend("postgresql", tmp_path, pg_url)
    pg.create()
    try:
        first, then = (None, pg.url) if direction.startswith("sqlite") else (pg.url, None)
        user = user_on(tmp_path, first)
        a_run_with_cases(user)
        use_store(user, then)
        printed = go_on_as_reported(user)
        assert "the store did not know 2 of the agency's cases" in " ".join(printed.split())
        assert_every_case_adopted_once(user)
    finally:
        pg.drop()


def test_1_nothing_is_sent_while_the_erp_cannot_be_read_for_adoption(tmp_path: Path) -> None:
    """Adoption finds a case's claim by its invoice: a pass that cannot read the ERP reads no
    agency case (its cursor stays) and so sends nothing, not even what the copy had due."""
    backend = Backend("sqlite", tmp_path)
    user = user_on(tmp_path, None)
    user.run("sync")
    user.run(f"approve {user.claims('draft')['501']['id']}")
    restore = backend.copy()
    user.run("mock advance 2h1m")
    user.run("sync")
    restore()  # 501 Approved past its grace window: due for a transfer the agency has
    user.run("mock fault erp.invoices")
    printed = " ".join(user.run("sync", code=1).split())
    assert "agency main: not read, and nothing sent" in printed
    assert user.show()["registrations"] == 1 and "501" in user.claims("approved")
    user.run("sync")
    assert_every_case_adopted_once(user)
    assert user.show()["registrations"] == 1
