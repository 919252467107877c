"""What the connector did to a mock world, as its operators' tests want to see it: each
pass of a link (from its first read of the company to the adapter's close) and each request
the mock ERP took, in a file of its own in the world's folder (``activity.sqlite``).

A pass that begins while another pass of a live process is still open on the same world
is counted as an overlap: two passes of one link at a time, which link leases forbid. A
pass left open by a process that died is closed by the next one, not counted.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from connector_adapters.mock.state import wal_connection

FILE = "activity.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS passes (id INTEGER PRIMARY KEY, holder TEXT NOT NULL,
                                   started REAL NOT NULL, ended REAL);
CREATE TABLE IF NOT EXISTS calls (at REAL NOT NULL, operation TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(holder: str) -> bool:
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True  # never judged from another host
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class Activity:
    """The activity file of one world folder."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.db = wal_connection(folder / FILE, "OFF")  # a test's record, not the world's
        self.db.executescript(_SCHEMA)

    def begin(self) -> int:
        """Record a pass starting now; count an overlap if a live one is open."""
        holder = this_process()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for pass_id, other in self.db.execute(
                    "SELECT id, holder FROM passes WHERE ended IS NULL").fetchall():
                if _alive(other):
                    self.db.execute("INSERT INTO counts VALUES ('overlaps', 1) ON CONFLICT "
                                    "(name) DO UPDATE SET value = value + 1")
                else:
                    self.db.execute("UPDATE passes SET ended = ? WHERE id = ?",
                                    (time.time(), pass_id))
            cursor = self.db.execute("INSERT INTO passes (holder, started) VALUES (?, ?)",
                                     (holder, time.time()))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return int(cursor.lastrowid or 0)

    def end(self, pass_id: int) -> None:
        self.db.execute("UPDATE passes SET ended = ? WHERE id = ?", (time.time(), pass_id))

    def call(self, operation: str) -> None:
        self.db.execute("INSERT INTO calls VALUES (?, ?)", (time.time(), operation))

    def overlaps(self) -> int:
        row = self.db.execute("SELECT value FROM counts WHERE name = 'overlaps'").fetchone()
        return int(row[0]) if row else 0

    def passes(self) -> list[tuple[str, float, float | None]]:
        return [(h, s, e) for h, s, e in self.db.execute(
            "SELECT holder, started, ended FROM passes ORDER BY id")]

    def calls(self) -> list[tuple[float, str]]:
        """Every request taken: when (Unix time) and which operation."""
        return [(at, op) for at, op in self.db.execute(
            "SELECT at, operation FROM calls ORDER BY at")]

    def close(self) -> None:
        self.db.close()
