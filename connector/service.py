"""Running the store as a service needs it: ``connector db upgrade``, and the daemon's
start-up checks (a schema of its own version; on SQLite, one daemon at a time)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from connector.errors import ConfigError
from connector.store.db import Store, head_revision, schema_problem, schema_revision, upgrade


def upgrade_store(url: str) -> tuple[str | None, str]:
    """Run the migrations the store lacks (``connector db upgrade``); returns the revision
    before and after. Safe beside other processes: migrations take a lock."""
    store = Store(url, migrate=False)
    try:
        before = schema_revision(store.engine)
        upgrade(store.engine)
        return before, head_revision()
    finally:
        store.dispose()


def store_for_daemon(url: str) -> Store:
    """The store, refused when its schema is older or newer than this connector's (the
    message names the command that fixes it). A brand-new, empty store is set up."""
    store = Store(url, migrate=False)
    if schema_revision(store.engine) is None:
        upgrade(store.engine)
    problem = schema_problem(store.engine)
    if problem is not None:
        store.dispose()
        raise ConfigError(f"the daemon does not start: {problem}")
    return store


_held: list[IO[str]] = []
"""Lock files this process holds until it exits."""


def one_daemon_per_sqlite_store(store: Store) -> None:
    """On SQLite, take the store's daemon lock or refuse: one daemon at a time (its file
    takes one writer; several daemons need PostgreSQL). The lock goes with the process."""
    if store.dialect != "sqlite":
        return
    database = make_url(store.url).database
    if not database or database == ":memory:":
        return
    path = Path(f"{database}.daemon.lock")
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise ConfigError(
            f"another daemon (process {holder}) already runs on the SQLite store {database}; "
            "SQLite takes one daemon at a time: stop that one first, or move the store to "
            "PostgreSQL (store_url) to run several") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _held.append(handle)
