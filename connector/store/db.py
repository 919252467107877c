"""Opening a store: engine, migrations to head, sessions, and the one-statement page upsert."""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    Table,
    create_engine,
    event,
    make_url,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from connector.errors import ConfigError
from connector.files import private_dir
from connector.store.schema import CLAIM_TABLES, Base

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _private_file(path: Path) -> None:
    """Create the SQLite file owner-only (0600) before SQLite does, with the umask's mode;
    its -wal and -shm files take the same mode. A file that exists is left unopened:
    closing a descriptor of it would drop every lock this process's own connections to it
    hold (POSIX locks belong to the process and the file, not to the descriptor)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot create the store {path}: {exc.strerror}") from None


def make_engine(url: str) -> Engine:
    """The store's engine. A failed statement's error never carries its parameters (debtors'
    names and addresses): such errors reach logs and run records."""
    try:
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1].split("?", 1)[0]
            if path and path != ":memory:":
                private_dir(Path(path).parent)
                _private_file(Path(path))
            engine = create_engine(url, hide_parameters=True)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        given = make_url(url).query
        engine = create_engine(url, hide_parameters=True, connect_args={
            name: value for name, value in SERVER_TIMEOUTS.items() if name not in given})
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", functools.partial(_ping_if_idle, engine.dialect))
        return engine
    except ImportError as exc:
        raise ConfigError(f"the database driver {exc.name or ''} for the store URL is not "
                          "installed (for PostgreSQL: pip install "
                          "'collection-connector[postgres]')") from None
    except ArgumentError as exc:
        raise ConfigError(f"the store URL is not usable: {str(exc).splitlines()[0]}"
                          ) from None


SERVER_TIMEOUTS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                   "keepalives_interval": 10, "keepalives_count": 3}
"""libpq's defaults wait forever for a server that accepts a connection and never answers:
a daemon would neither sync nor stop on SIGTERM. These give up within about a minute (a
setting of the same name in the store URL wins)."""

PING_IDLE = 5.0
"""Seconds a pooled connection may rest before it is checked on its next use."""


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Check a connection that rested (the server may have closed it meanwhile) before it is
    used; one that was in use a moment ago is not checked: a ping on every transaction
    would add a round trip to each. A dead connection is replaced by the pool."""
    if time.monotonic() - record.info.get("idle_since", time.monotonic()) < PING_IDLE:
        return
    try:
        dialect.do_ping(dbapi_conn)
    except Exception as exc:
        raise DisconnectionError("pooled connection is gone; reconnecting") from exc


def alembic_config(engine: Engine | None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def lock_for_migration(connection: Connection) -> None:
    """Serialise migrations between processes: two first runs on a new store used to race
    to create ``alembic_version``. The lock lasts until the migration's transaction ends;
    the second process then finds the schema at head and does nothing."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, taken up front
    elif connection.dialect.name == "postgresql":
        # Keyed by the schema migrated: stores in other schemas do not wait for this one.
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('connector migration ' "
                                "|| current_schema()))"))


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration; a no-op when it is there already.

    A store whose schema is newer than this connector knows is refused in one line."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except CommandError as exc:
        if "Can't locate revision" not in str(exc):
            raise
        raise ConfigError(
            "the store was written by a newer version of the connector (its schema is "
            "unknown to this one); upgrade the connector, or point store_url at another "
            "store") from None


def head_revision() -> str:
    """The schema revision this connector writes: its newest migration."""
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    assert head is not None
    return head


def schema_revision(engine: Engine) -> str | None:
    """The store's schema revision; None for a store no migration has run on yet."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_problem(engine: Engine) -> str | None:
    """Why this connector must not work on the store's schema, naming the fix; None when
    the schema is the connector's own."""
    current, head = schema_revision(engine), head_revision()
    if current == head:
        return None
    known = {rev.revision for rev in
             ScriptDirectory.from_config(alembic_config(None)).walk_revisions()}
    if current is not None and current not in known:
        return (f"the store's schema (revision {current}) is newer than this connector's "
                f"({head}): upgrade the connector on this machine to the version the other "
                "processes run")
    return (f"the store's schema (revision {current or 'none'}) is older than this "
            f"connector's ({head}): run `connector db upgrade`, then start again")


class Store:
    """A database and a session factory for it, migrated to the newest schema on opening
    unless ``migrate`` is False (the daemon checks instead: ``schema_problem``)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._single = sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                                    expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def statement(self) -> Iterator[Session]:
        """A session whose statements each stand on their own (autocommit): reads, and
        writes atomic by themselves. Each is one round trip instead of three (begin,
        statement, commit)."""
        with self._single() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def upsert(
    session: Session,
    table: type[Base],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
    where: ColumnElement[bool] | None = None,
) -> None:
    """Write a page of rows as one batched statement; on a key clash update ``update`` columns
    of the existing row (only where ``where`` holds), or keep it. The statement is compiled
    once and cached; the driver sends the page in one batch (SQLite: executemany;
    PostgreSQL: psycopg's pipelined executemany, the fastest of the ways bench/ compares)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(cast(Table, table.__table__))
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={col: stmt.excluded[col] for col in update},
            where=where,
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(stmt, list(rows))


@contextmanager
def scratch_store(url: str, prefix: str = "scratch") -> Iterator[Store]:
    """A PostgreSQL store in a fresh schema of its own, dropped afterwards: tests and
    benchmarks share one server without seeing each other's rows."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    store = Store(f"{url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def reachable(url: str) -> bool:
    """Whether a database answers at ``url``."""
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def forget_link(session: Session, link: str) -> None:
    """Delete what the store knows about one link (used when a demo starts afresh), except
    its claims: ``connector.lifecycle.forget`` deletes those, first."""
    for table in reversed(Base.metadata.sorted_tables):
        if "link" in table.c and table.name not in CLAIM_TABLES:
            session.execute(table.delete().where(table.c.link == link))


__all__ = ["Base", "Store", "forget_link", "head_revision", "reachable", "schema_problem",
           "schema_revision", "scratch_store", "upgrade", "upsert"]
