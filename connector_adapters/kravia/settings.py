"""What a link's ``[links.agency]`` table says for ``adapter = "kravia"``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connector.adapter_base import parse_settings
from connector_adapters.kravia import guesses, wire
from connector_adapters.kravia.webhook import DEFAULT_TOLERANCE


class KraviaSettings(BaseModel):
    """A creditor's access to Kravia, and how the connector uses it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_token: SecretStr
    """The API token Kravia issued (sent as ``Authorization: <token>``)."""
    creditor_id: int = Field(gt=0)
    """The creditor the link collects for (``creditorId``)."""
    base_url: str = wire.BASE_URL
    page_size: int = Field(default=guesses.MAX_TOP, ge=1, le=guesses.MAX_TOP)
    requests_per_second: float = Field(default=guesses.REQUESTS_PER_SECOND, gt=0)
    find_lookback: timedelta = timedelta(days=14)
    """How far back the search for a case looks when the time of the first attempt is
    unknown (the store cannot vouch for it): bounds the scan."""
    webhook_secret: SecretStr | None = None
    """The shared secret Kravia signs webhook deliveries with; none: no webhook, poll only."""
    webhook_url: str | None = None
    """The public URL Kravia is told to call (``connector kravia webhook register``)."""
    webhook_tolerance: timedelta = DEFAULT_TOLERANCE
    """Deliveries whose timestamp is further from now than this are refused as stale."""

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> KraviaSettings:
        """The settings, or a ConfigError naming every bad key (never echoing a secret)."""
        return parse_settings(cls, options, "kravia")
