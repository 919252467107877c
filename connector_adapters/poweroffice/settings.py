"""What a link's ``[links.erp]`` table says for ``adapter = "poweroffice"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.adapter_base import parse_settings
from connector.domain import DEFAULT_TIMEZONE
from connector.secrets import Secret
from connector_adapters.poweroffice import wire


class StatusWriteback(BaseModel):
    """The v1 debt-collection partner API, where the agency's status is shown in
    PowerOffice (R8). Off unless configured: a creditor's own keys may not reach it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_key: Secret
    client_key: Secret
    root_url: str | None = None
    """Default: PowerOffice's v1 host of the link's environment."""


class PowerOfficeSettings(BaseModel):
    """A PowerOffice Go client's API keys, and how the connector uses them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_key: Secret
    """The integration's application key (from PowerOffice's partner programme)."""
    client_key: Secret
    """The client key the company's administrator created for the integration."""
    subscription_key: Secret
    """``Ocp-Apim-Subscription-Key``; the rate limit counts per subscription key."""
    environment: Literal["production", "demo"] = "production"
    """``demo`` uses PowerOffice's demo environment (its keys never work in production)."""
    root_url: str = wire.ROOT_URL
    timezone: str = DEFAULT_TIMEZONE
    """The company's zone: no v2 endpoint says it."""
    page_size: int = Field(default=wire.DEFAULT_PAGE_SIZE, ge=1, le=wire.MAX_PAGE_SIZE)
    requests_per_second: float = Field(default=9.0, gt=0, le=wire.RATE_LIMIT_PER_SECOND)
    """Kept under PowerOffice's 10 per second per subscription key, shared by every link of
    this process that uses the same subscription key."""
    status_writeback: StatusWriteback | None = None
    """Off by default; see ``docs/adapters/poweroffice.md``."""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def api_url(self) -> str:
        return self._root() + wire.API_PREFIX

    @property
    def token_url(self) -> str:
        return self._root() + wire.TOKEN_PATH

    def _root(self) -> str:
        root = self.root_url.rstrip("/")
        return root + wire.DEMO_PREFIX if self.environment == "demo" else root

    @property
    def v1_url(self) -> str:
        given = self.status_writeback.root_url if self.status_writeback else None
        if given:
            return given.rstrip("/")
        return wire.V1_DEMO_ROOT_URL if self.environment == "demo" else wire.V1_ROOT_URL

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> PowerOfficeSettings:
        """The settings, or a ConfigError naming every bad key (never echoing a secret)."""
        return parse_settings(cls, options, "poweroffice")
