"""One side of the mock world (the ERP's or the agency's) as records in a SQLite file.

A side keeps its records in memory, as pydantic models, and in its own SQLite file, which
any number of processes may share. Every public action of a side runs in a transaction
that first takes the file's write lock, catches up with what other processes committed,
then acts and commits only the records it changed, so the write is durable when the call
returns, as at a real remote system. A reader checks ``PRAGMA data_version`` (one cheap
query) and loads only what changed since it last looked.

A side without a file (``path`` None) lives in memory only: tests and world building.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time as time_
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Annotated, Any, ClassVar, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from connector.clock import local_date
from connector.domain import Money
from connector.errors import TransientError, UserError
from connector.files import private_dir

M = TypeVar("M", bound=BaseModel)
S = TypeVar("S", bound="Side")
R = TypeVar("R")
P = ParamSpec("P")
TICK = timedelta(microseconds=1)
"""Every write takes this much of a side's time: a change is strictly later than any read."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS records_version ON records (version);
"""
BUSY_TIMEOUT = 60.0
"""Seconds a process waits for another's write lock before the call fails."""


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Head(Record):
    """A side's scalars: its clock, id counter and injected faults."""

    now: AwareDatetime
    last_id: int = 0
    faults: dict[str, int] = Field(default_factory=dict)


def _date_text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


DateText = Annotated[str, BeforeValidator(_date_text)]
"""A date kept as the ERP gave it, so a scenario can hold a malformed one."""


def parse_date(text: str) -> date | None:
    """The date in ``text``, or None when it is malformed (it stays as bad ERP data)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def build(model: type[M], data: dict[str, Any]) -> M:
    """Validate an action's input; a bad field is the user's error, not a crash."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise UserError(f"invalid {model.__name__}: {detail}") from None


class _Amount(BaseModel):
    value: Money


def money(amount: Decimal | int | str, what: str = "amount") -> Decimal:
    """An amount given by a user or a scenario, as Money; a float or junk is a UserError."""
    try:
        return _Amount.model_validate({"value": amount}).value
    except PydanticValidationError as exc:
        raise UserError(f"{what}: {exc.errors()[0]['msg']}") from None


def positive(amount: Decimal | int | str, limit: Decimal, what: str) -> Decimal:
    value = money(amount, what)
    if value <= 0 or value > limit:
        raise UserError(f"{what}: {value} must be above 0 and at most the balance {limit}")
    return value


def writes(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run a side's method as one transaction (nested calls join the outer one)."""

    @functools.wraps(method)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.transaction():
            return method(self, *args, **kwargs)

    return run


def reads(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Bring the side up to date before the method reads it."""

    @functools.wraps(method)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        self.refresh()
        return method(self, *args, **kwargs)

    return run


def wal_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    """A connection to a SQLite file in WAL mode, shared by several processes.

    Turning WAL on needs the file to itself, and SQLite answers "database is locked" at
    once, without waiting, when processes opening a new file at the same moment collide;
    so it is asked again until ``BUSY_TIMEOUT``. A file already in WAL mode stays so."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None,
                         check_same_thread=False)
    deadline = time_.monotonic() + BUSY_TIMEOUT
    while db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time_.monotonic() > deadline:
                raise
            time_.sleep(0.01)
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


class RecordFile:
    """The SQLite file of one side: ``records`` (one JSON row per record, a tombstone when
    deleted) and ``meta`` (the generation, replaced when the whole side is, and the version,
    raised by every commit)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)  # debtors' data
        if path.exists() and not path.is_file():
            raise UserError(f"{path} is not a mock world file")
        try:
            self.db = wal_connection(path, "NORMAL")
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{path} is not a mock world file ({exc}); delete it or load a "
                            "scenario") from None

    def data_version(self) -> int:
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def begin(self, write: bool) -> None:
        self.db.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def meta(self) -> tuple[str | None, int]:
        rows = dict(self.db.execute("SELECT name, value FROM meta").fetchall())
        return rows.get("generation"), int(rows.get("version", 0))

    def rows(self, after: int = -1) -> list[tuple[str, str, str | None]]:
        return self.db.execute(
            "SELECT kind, key, data FROM records WHERE version > ? ORDER BY seq",
            (after,)).fetchall()

    def write(self, version: int, rows: list[tuple[str, str, str | None]]) -> None:
        self.db.executemany(
            "INSERT INTO records (kind, key, version, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, "
            "data = excluded.data",
            [(kind, key, version, data) for kind, key, data in rows])
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (str(version),))

    def replace(self, generation: str) -> None:
        self.db.execute("DELETE FROM records")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))

    def close(self) -> None:
        self.db.close()


class Side:
    """What both sides share: records by kind in memory and in a file, transactions, the
    side's clock and ids, faults. Subclasses declare ``KINDS`` (kind → model, key field)
    and rebuild their lookups in ``_index``."""

    KINDS: ClassVar[dict[str, tuple[type[BaseModel], str]]]
    HEAD: ClassVar[type[Head]]
    FAULTS: ClassVar[frozenset[str]]
    NAME: ClassVar[str]

    def __init__(self, head: Head) -> None:
        self.head = head
        self.tables: dict[str, dict[str, Any]] = {kind: {} for kind in self.KINDS}
        self._dirty: dict[tuple[str, str], None] = {}
        """Changed records in the order they changed: new rows keep the order they were made."""
        self._file: RecordFile | None = None
        self._generation: str | None = None
        self._version = 0
        self._seen = -1
        self._depth = 0
        self._lock = threading.RLock()

    # -- persistence -----------------------------------------------------------------------

    @classmethod
    def open(cls: type[S], path: Path, head: Head) -> S:
        """The side stored in ``path``; a new file starts from ``head`` and no records."""
        side = cls(head)
        side._file = file = RecordFile(path)
        with side._lock:
            file.begin(write=False)  # opening a stored side only reads it
            try:
                stored = file.meta()[0] is not None
                if stored:
                    side._load_all()
            finally:
                file.rollback()
            if not stored:
                file.begin(write=True)
                try:
                    if file.meta()[0] is None:  # still new: no other process stored it
                        side._save_all()
                    else:
                        side._load_all()
                    file.commit()
                except BaseException as exc:
                    file.rollback()
                    if isinstance(exc, sqlite3.OperationalError):  # a full disk
                        raise UserError(f"the mock world could not be written ({exc})") \
                            from None
                    raise
            side._seen = file.data_version()
        return side

    def bind(self, path: Path) -> None:
        """Replace whatever ``path`` holds with this side, and keep it stored there."""
        with self._lock:
            if self._file is not None:
                self._file.close()
            self._file = RecordFile(path)
            self._file.begin(write=True)
            try:
                self._save_all()
                self._file.commit()
            except BaseException:
                self._file.rollback()
                raise
            self._seen = self._file.data_version()

    @property
    def path(self) -> Path | None:
        return self._file.path if self._file else None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _save_all(self) -> None:
        assert self._file is not None
        self._generation = uuid.uuid4().hex
        self._version = 1
        self._file.replace(self._generation)
        rows: list[tuple[str, str, str | None]] = [("head", "", self.head.model_dump_json())]
        rows += [(kind, key, record.model_dump_json())
                 for kind, table in self.tables.items() for key, record in table.items()]
        self._file.write(self._version, rows)
        self._dirty.clear()

    def _load_all(self) -> None:
        assert self._file is not None
        self._generation, self._version = self._file.meta()
        for table in self.tables.values():
            table.clear()
        self._apply(self._file.rows())

    def _apply(self, rows: list[tuple[str, str, str | None]]) -> None:
        for kind, key, data in rows:
            if kind == "head":
                assert data is not None
                self.head = self.HEAD.model_validate_json(data)
            elif data is None:
                self.tables[kind].pop(key, None)
            else:
                self.tables[kind][key] = self.KINDS[kind][0].model_validate_json(data)
        self._index()

    def _catch_up(self) -> None:
        """Bring the memory up to what the file holds (inside a transaction)."""
        assert self._file is not None
        generation, version = self._file.meta()
        if generation != self._generation:
            self._load_all()
        elif version != self._version:
            self._apply(self._file.rows(self._version))
            self._version = version

    def _index(self) -> None:
        """Rebuild the side's lookups from its records."""

    def refresh(self) -> None:
        """See what other processes committed; cheap when nothing changed."""
        with self._lock:
            if self._file is None or self._depth:
                return
            seen = self._file.data_version()
            if seen == self._seen:
                return
            self._file.begin(write=False)
            try:
                self._catch_up()
            finally:
                self._file.rollback()
            self._seen = seen

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside is one write: all of it is in the file when it ends, or none
        of it (and the memory is reloaded from the file)."""
        with self._lock:
            if self._depth or self._file is None:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    if self._file is None and not self._depth:
                        self._dirty.clear()
                return
            self._file.begin(write=True)
            self._depth = 1
            flushed = False
            try:
                self._catch_up()
                yield
                flushed = bool(self._dirty)
                self._flush()
                self._file.commit()
            except BaseException as exc:
                self._file.rollback()
                if self._dirty or flushed:  # the memory holds what the file did not keep
                    self._dirty.clear()
                    self._reload()
                if isinstance(exc, sqlite3.OperationalError):  # a full disk, a read-only file
                    raise UserError(f"the mock world could not be written ({exc}); nothing "
                                    "of this command was kept") from None
                raise
            finally:
                self._depth = 0
            self._seen = self._file.data_version()

    def _reload(self) -> None:
        assert self._file is not None
        self._file.begin(write=False)
        try:
            self._load_all()
        finally:
            self._file.rollback()

    def _flush(self) -> None:
        assert self._file is not None
        if not self._dirty:
            return
        rows: list[tuple[str, str, str | None]] = []
        for kind, key in self._dirty:
            if kind == "head":
                rows.append((kind, key, self.head.model_dump_json()))
            else:
                record = self.tables[kind].get(key)
                rows.append((kind, key, record.model_dump_json() if record is not None
                             else None))
        self._version += 1
        self._file.write(self._version, rows)
        self._dirty.clear()

    def touch(self, kind: str, record: BaseModel) -> None:
        """Mark ``record`` changed (and put it in its table): the transaction writes it."""
        key = str(attrgetter(self.KINDS[kind][1])(record))
        self.tables[kind][key] = record
        self._dirty[(kind, key)] = None

    def forget(self, kind: str, key: str) -> None:
        self.tables[kind].pop(key, None)
        self._dirty[(kind, key)] = None

    def snapshot(self) -> str:
        """Every record as text, in a stable order: equal snapshots, equal sides."""
        self.refresh()
        parts = [self.head.model_dump_json()]
        for kind in sorted(self.tables):
            parts += [self.tables[kind][key].model_dump_json()
                      for key in sorted(self.tables[kind])]
        return "\n".join(parts)

    # -- time, timed events and ids ---------------------------------------------------------

    @property
    def now(self) -> datetime:
        self.refresh()
        return self.head.now

    @property
    def timezone(self) -> str:
        """The zone of the side's calendar: its nightly run is at local midnight."""
        raise NotImplementedError

    @property
    def today(self) -> date:
        self.refresh()
        return self._today()

    def _today(self) -> date:
        return local_date(self.head.now, self.timezone)

    def midnight(self, day: date) -> datetime:
        """The instant ``day`` starts in the side's zone, in UTC."""
        return datetime.combine(day, time(), tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    def _night(self, day: date) -> None:
        """The side's nightly run for ``day``."""
        raise NotImplementedError

    def apply(self, event: Any) -> str:
        """Make ``event`` happen now; returns what changed, in one line."""
        raise NotImplementedError

    def advance_to(self, target: datetime) -> list[Any]:
        """Move the side's clock to ``target``, running each nightly run and each timed event
        on the way in the order of their times (a night before an event at its midnight).
        Each is a write of its own; an event that fails is kept as failed, with why.
        Returns the events that ran."""
        ran: list[Any] = []
        while True:
            with self.transaction():
                day = self._today() + timedelta(days=1)
                night = self.midnight(day)
                due = self._next_event()
                if due is not None and due.at <= target and due.at < night:
                    self.set_now(due.at)
                elif night <= target:
                    self.set_now(night)
                    self._night(day)
                    continue
                else:
                    self.set_now(target)
                    return ran
            ran.append(self._run(due.id))

    def _next_event(self) -> Any:
        pending = [s for s in self.tables["event"].values() if s.state == "pending"]
        return min(pending, key=lambda s: (s.at, int(s.id[1:])), default=None)

    def _run(self, event_id: str) -> Any:
        try:
            with self.transaction():
                scheduled = self.tables["event"][event_id]
                result = self.apply(scheduled.event)
                scheduled.state, scheduled.result = "done", result
                self.touch("event", scheduled)
        except UserError as exc:
            with self.transaction():
                scheduled = self.tables["event"][event_id]
                scheduled.state, scheduled.result = "failed", str(exc)
                self.touch("event", scheduled)
        return scheduled

    @writes
    def schedule(self, event: Any, at: datetime) -> Any:
        """Keep ``event`` to run when the clock reaches ``at`` (later than now)."""
        if at <= self.head.now:
            raise UserError(f"at: {at.isoformat()} is not later than the world's time "
                            f"{self.head.now.isoformat()}")
        scheduled = self.KINDS["event"][0].model_validate(
            {"id": f"E{self.next_id()}", "at": at, "event": event})
        self.touch("event", scheduled)
        self.tick()
        return scheduled

    def events(self) -> list[Any]:
        """Every timed event, pending or run, in the order of their times."""
        self.refresh()
        return sorted(self.tables["event"].values(), key=lambda s: (s.at, int(s.id[1:])))

    def tick(self) -> datetime:
        self.head.now += TICK
        self._dirty[("head", "")] = None
        return self.head.now

    def next_id(self) -> int:
        self.head.last_id += 1
        self._dirty[("head", "")] = None
        return self.head.last_id

    def head_changed(self) -> None:
        """Mark the head changed (a counter moved): the transaction writes it."""
        self._dirty[("head", "")] = None

    def set_now(self, moment: datetime) -> None:
        if moment > self.head.now:
            self.head.now = moment
            self._dirty[("head", "")] = None

    # -- faults ----------------------------------------------------------------------------

    @property
    def faults(self) -> dict[str, int]:
        self.refresh()
        return dict(self.head.faults)

    def inject(self, operation: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with a TransientError."""
        if operation not in self.FAULTS:
            known = ", ".join(sorted(self.FAULTS))
            raise UserError(f"no mock {self.NAME} operation {operation!r} (known: {known})")
        with self.transaction():
            if times <= 0:
                self.head.faults.pop(operation, None)
            else:
                self.head.faults[operation] = times
            self._dirty[("head", "")] = None

    def trip(self, operation: str) -> None:
        """Raise the injected fault for ``operation`` if one is left; adapters call this
        first in every call, which also brings the side up to date."""
        self.refresh()
        if self.head.faults.get(operation, 0) <= 0:
            return
        with self.transaction():
            left = self.head.faults.get(operation, 0)
            if left <= 0:
                return
            if left == 1:
                del self.head.faults[operation]
            else:
                self.head.faults[operation] = left - 1
            self._dirty[("head", "")] = None
        raise TransientError(f"mock fault injected into {operation} ({left - 1} more to come)")
