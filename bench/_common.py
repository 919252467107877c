"""Shared pieces of the benchmarks: stores, statement counting, step timing, peak memory.

Nothing here is imported by the connector; the benchmarks only read its public modules.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import io
import os
import pstats
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.logs import configure_logging
from connector.store.db import Store, reachable, scratch_store

configure_logging(0)  # warnings only, on stderr, as the CLI does without -v

PG_URL = os.environ.get("CONNECTOR_BENCH_PG_URL",
                        os.environ.get("CONNECTOR_TEST_PG_URL",
                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
"""Monday 08:00 in Oslo: a fixed start, so every run builds the same world."""


def code_under_test() -> str:
    """Which connector these numbers are for: its folder and git commit."""
    import subprocess

    import connector

    folder = Path(connector.__file__).resolve().parent.parent
    stamp = folder / "COMMIT"  # a `git archive` snapshot (see bench/README.md)
    if stamp.exists():
        commit = stamp.read_text().strip()[:12] + " (snapshot)"
    else:
        try:
            commit = subprocess.run(
                ["git", "-C", str(folder), "describe", "--always", "--dirty"],
                capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = "unknown commit"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"code under test: {folder} at {commit}; {os.cpu_count()} CPUs, "
            f"load average {load:.2f}; {time.strftime('%Y-%m-%d %H:%M')}")


# -- stores -----------------------------------------------------------------------------------

@contextlib.contextmanager
def sqlite_store(folder: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{folder / 'bench.db'}")
    try:
        yield store
    finally:
        store.dispose()


def pg_store(url: str = PG_URL) -> contextlib.AbstractContextManager[Store]:
    """A fresh schema of its own, dropped afterwards."""
    return scratch_store(url, "bench")


def pg_reachable(url: str = PG_URL) -> bool:
    return reachable(url)


# -- statements ---------------------------------------------------------------------------------

class StatementCounter:
    """Counts round trips to the database (``before_cursor_execute``; an executemany that
    SQLAlchemy splits into several multi-row INSERT batches counts once per batch), plus the
    transactions begun."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = 0
        self.transactions = 0
        self.by_kind: Counter[str] = Counter()
        sa.event.listen(engine, "before_cursor_execute", self._execute)
        sa.event.listen(engine, "begin", self._begin)

    def _execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements += 1
        self.by_kind[statement.lstrip().split(None, 1)[0].upper()] += 1

    def _begin(self, _conn: Any) -> None:
        self.transactions += 1


# -- peak memory ------------------------------------------------------------------------------

def rss_mb() -> float:
    return _status("VmRSS")


def reset_peak_rss() -> bool:
    """Linux: reset this process's peak RSS ("5" to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    return _status("VmHWM")


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- phases -----------------------------------------------------------------------------------

@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    statements: int = 0
    transactions: int = 0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    heap_peak_mb: float | None = None
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    """step -> [seconds, statements, calls]"""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_extra_mb(self) -> float:
        return self.peak_rss_mb - self.rss_before_mb


class Meter:
    """Times phases, counts their statements and memory, and breaks them down by step."""

    def __init__(self, counter: StatementCounter, heap: bool = False,
                 profile: str | None = None) -> None:
        self.counter = counter
        self.heap = heap
        self.profile = profile
        self.current: Phase | None = None
        self.phases: list[Phase] = []
        self.profiles: dict[str, str] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        phase = Phase(name)
        self.current = phase
        phase.rss_before_mb = rss_mb()
        reset_peak_rss()
        if self.heap:
            tracemalloc.start()
        profiler = cProfile.Profile() if self.profile == name else None
        s0, t0 = self.counter.statements, self.counter.transactions
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        try:
            yield phase
        finally:
            if profiler:
                profiler.disable()
            phase.seconds = time.perf_counter() - start
            phase.statements = self.counter.statements - s0
            phase.transactions = self.counter.transactions - t0
            phase.peak_rss_mb = peak_rss_mb()
            if self.heap:
                phase.heap_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            if profiler:
                self.profiles[name] = profile_text(profiler)
            self.current = None
            self.phases.append(phase)

    def wrap(self, module: Any, name: str, label: str | None = None) -> None:
        """Replace ``module.name`` by a wrapper that adds its time and statements to the
        current phase's steps (the engine calls its steps as module attributes)."""
        fn = getattr(module, name)
        label = label or f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
        meter = self

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            phase = meter.current
            if phase is None:
                return fn(*args, **kwargs)
            s0, t0 = meter.counter.statements, time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                step = phase.steps[label]
                step[0] += time.perf_counter() - t0
                step[1] += meter.counter.statements - s0
                step[2] += 1

        setattr(module, name, timed)


    def wrap_iter(self, owner: Any, name: str, label: str) -> None:
        """Like ``wrap`` for a method returning an iterator (an adapter's pages): the time
        spent producing each item is added to the step, whoever consumes it."""
        fn = getattr(owner, name)
        meter = self

        class Timed:
            def __init__(self, inner: Any) -> None:
                self.inner = iter(inner)

            def __iter__(self) -> Timed:
                return self

            def __next__(self) -> Any:
                phase = meter.current
                t0 = time.perf_counter()
                try:
                    return next(self.inner)
                finally:
                    if phase is not None:
                        step = phase.steps[label]
                        step[0] += time.perf_counter() - t0
                        step[2] += 1

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            return Timed(fn(*args, **kwargs))

        setattr(owner, name, timed)


def profile_text(profiler: cProfile.Profile, limit: int = 30) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-"
