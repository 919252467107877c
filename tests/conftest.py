"""Shared fixtures: a fresh store on SQLite and on PostgreSQL (a schema of its own per test).

PostgreSQL is at ``$CONNECTOR_TEST_PG_URL`` (default: the local server, trust auth). Away
from CI a missing server skips those tests; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from connector.http import limiter
from connector.store.db import Store, reachable, scratch_store
from tests.claim_writes import GUARD


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true",
                     help="Also run the long forms marked slow (soak and crash trials).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="a long form: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


PG_URL = os.environ.get("CONNECTOR_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_available() -> bool:
    ok = reachable(PG_URL)
    if not ok and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but {PG_URL} cannot be reached")
    return ok


@pytest.fixture
def pg_url(pg_available: bool) -> str:
    """The server's URL, for a test that gives it to the CLI (importing this module from a
    test would run it twice, and the claim-write guard would listen twice)."""
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    return PG_URL


@pytest.fixture
def pg_store(pg_available: bool) -> Iterator[Store]:
    if not pg_available:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    with scratch_store(PG_URL, "t") as store:
        yield store


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    yield store
    store.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same test on both databases the connector supports."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)


if not event.contains(Engine, "before_cursor_execute", GUARD):  # once, however imported
    event.listen(Engine, "before_cursor_execute", GUARD)


@pytest.fixture(autouse=True)
def only_the_lifecycle_writes_claims() -> Iterator[None]:
    """Every test also checks that no module but ``connector.lifecycle`` wrote a claim."""
    GUARD.found.clear()
    yield
    assert not GUARD.found, "claims written outside connector.lifecycle:\n" + "\n".join(
        GUARD.found)




@pytest.fixture(autouse=True)
def in_process_request_budgets() -> Iterator[None]:
    """A command run in a test on PostgreSQL shares request budgets through that store
    (``budget.share_through``), which a later test's store may not have: each test starts
    and ends with the process's own buckets, as a new process does."""
    limiter.set_default_backend(limiter.InProcessBackend())
    yield
    limiter.set_default_backend(limiter.InProcessBackend())
