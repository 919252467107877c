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

from connector.store.db import Store, reachable, scratch_store
from tests.claim_writes import GUARD


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true",
                     help="Also run the long forms marked slow (soak and crash trials).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _mark_not_yet_moved(items)
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


event.listen(Engine, "before_cursor_execute", GUARD)


@pytest.fixture(autouse=True)
def only_the_lifecycle_writes_claims() -> Iterator[None]:
    """Every test also checks that no module but ``connector.lifecycle`` wrote a claim."""
    GUARD.found.clear()
    yield
    assert not GUARD.found, "claims written outside connector.lifecycle:\n" + "\n".join(
        GUARD.found)


# Tests written against the single-file mock world, not yet moved to its two-sided folder shape.
# Strict: each must fail until it is moved, so the list cannot hide a fixed test.
NOT_YET_ON_THE_TWO_SIDED_WORLD = {
    "tests/test_cli.py::test_a_dead_transfer_shows_in_cases_and_case_with_the_command_that_retries_it",
    "tests/test_hardening.py::test_3_hostile_names_in_the_demo",
    "tests/test_hardening.py::test_5_bad_stores_are_one_line_errors",
    "tests/test_hardening.py::test_5_a_full_disk_while_the_mock_world_is_saved_loses_nothing",
    "tests/test_hardening.py::test_7_the_state_folder_and_store_are_owner_only",
    "tests/test_hardening.py::test_7_check_finds_a_lost_agency_case_and_a_corrupt_store",
    "tests/test_pass_cost.py::test_an_idle_pass_still_sees_a_change_made_while_it_was_idle",
    "tests/test_runtime_clock.py::test_without_one_a_plugin_that_simulates_time_supplies_it",
}


def _mark_not_yet_moved(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("[")[0] in NOT_YET_ON_THE_TWO_SIDED_WORLD:
            item.add_marker(pytest.mark.xfail(
                strict=True, reason="written for the single-file mock world; to be moved"))
