"""The service tests run ``connector`` through its console entry point, every byte captured."""

from __future__ import annotations

from tests.support import cli_environment

clean_env = cli_environment(columns=200)
