"""The service tests run ``connector`` through its console entry point, every byte captured."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
import structlog

from connector import cli
from connector_adapters.mock import plugin


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("CONNECTOR_") and name != "CONNECTOR_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    yield
    structlog.reset_defaults()
    for world in plugin._open.values():
        world.close()
    plugin._open.clear()


def main(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
         *argv: str) -> tuple[int, str, str]:
    """``connector ARGV`` as a new process would run it: exit status, stdout, stderr."""
    for world in plugin._open.values():
        world.close()
    plugin._open.clear()
    monkeypatch.setattr(sys, "argv", ["connector", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capfd.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else (0 if exc.value.code is None
                                                                    else 1)
    return code, out, err
