"""What the mock adapters offer a service test: a request budget per credential, like a
real vendor's (``requests_per_second``, ``api_key``), and a record of passes and requests in
the world's folder (``record_activity``, see ``activity``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connector.errors import ConfigError
from connector.http.limiter import RateLimiter, credential_key, shared_limiter
from connector.secrets import Secret
from connector_adapters.mock.activity import Activity

SERVICE_SETTINGS = {"requests_per_second", "api_key", "record_activity"}


@dataclass
class Served:
    """A mock adapter's pacing and recording; every public call goes through ``call``."""

    limiter: RateLimiter | None = None
    activity: Activity | None = None

    def call(self, operation: str) -> None:
        if self.limiter is not None:
            self.limiter.acquire()
        if self.activity is not None:
            self.activity.call(operation)


def served(settings: Mapping[str, Any], folder: Path, side: str) -> Served:
    """The pacing and recording the settings ask for. Processes that share ``api_key``
    share one budget (through the store, where the connector shares budgets)."""
    rate = settings.get("requests_per_second")
    limiter = None
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise ConfigError(f"mock {side} settings: requests_per_second must be a number "
                              f"above 0, not {rate!r}")
        key = settings.get("api_key")
        if key is not None and not isinstance(key, str):
            raise ConfigError(f"mock {side} settings: api_key must be text")
        credential = Secret(key).get_secret_value() if key else str(folder)
        limiter = shared_limiter(credential_key(f"mock-{side}", credential), float(rate))
    record = settings.get("record_activity", False)
    if not isinstance(record, bool):
        raise ConfigError(f"mock {side} settings: record_activity must be true or false")
    return Served(limiter, Activity(folder) if record else None)
