"""Configuration: a TOML file, else the built-in default of one mock ``demo`` link.

Where it comes from, first found wins: ``--config FILE``, ``$CONNECTOR_CONFIG``,
``./connector.toml``, the built-in default. ``$CONNECTOR_STORE_URL`` and
``$CONNECTOR_STATE_DIR`` override the file's values (pydantic-settings); nothing else is
read from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.bookkeeping import Accounts
from connector.domain import Company, DunningSetup
from connector.errors import ConfigError
from connector.rules import DEFAULT_GRACE

CONFIG_ENV = "CONNECTOR_CONFIG"
DEFAULT_FILE = Path("connector.toml")
SECRET_WORDS = ("secret", "token", "key", "password", "credential")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """``"2h"``, ``"14d"``, ``"1h30m"``, ``"90s"`` or seconds as a number."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(seconds=text)
    spec = text.strip().replace(" ", "")
    parts = _DURATION.findall(spec)
    if not spec or "".join(n + u for n, u in parts) != spec:
        raise ValueError(f"{text!r} is not a duration like 2h, 14d, 1h30m or 90s")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def is_secret(key: str) -> bool:
    return any(word in key.lower() for word in SECRET_WORDS)


def redact(value: Any) -> Any:
    """A copy safe to print or log: values of secret-looking keys are masked, at any depth."""
    if isinstance(value, dict):
        return {k: "***" if is_secret(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class AdapterSettings(BaseModel):
    """Which adapter a side uses, plus its own settings (passed to the adapter untouched)."""

    model_config = ConfigDict(extra="allow")
    adapter: str

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def __repr_args__(self) -> Any:
        """Secrets stay out of reprs, and so out of tracebacks and logs."""
        return [("adapter", self.adapter), *redact(self.options).items()]


class CollectionSettings(BaseModel):
    """R1 and R2 for a link whose ERP's API does not have them (PowerOffice Go's has
    neither), with today's defaults. Where the ERP adapter supplies a value, the ERP's wins:
    that is where the user keeps it."""

    model_config = ConfigDict(extra="forbid")
    dunning: DunningSetup = DunningSetup()
    """The company's dunning setup (purreoppsett): reminder, dunning_letter,
    collection_notice. A customer's own setup in the ERP still wins for that customer."""
    auto_transfer: bool = False
    """R2, "approve automatic transfer": ready claims enter Approved instead of Draft."""

    def applied_to(self, company: Company) -> Company:
        """The company as the rules see it: what the ERP says, these settings for the rest."""
        return company.model_copy(update={
            name: getattr(self, name) for name in type(self).model_fields
            if getattr(company, name) is None})


class LinkSettings(BaseModel):
    """One company pair: an ERP client and its agency creditor."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    erp: AdapterSettings
    agency: AdapterSettings
    collection: CollectionSettings = CollectionSettings()
    """R1, R2: dunning setup and automatic transfer, where the ERP's API does not say."""
    grace: timedelta = DEFAULT_GRACE
    """R5: how long an approved claim waits before transfer."""
    booking: Literal["proposal", "posted", "none"] = "proposal"
    """R13: how payouts are booked in the ERP."""
    accounts: Accounts = Accounts()
    """R13: the accounts a payout's voucher uses (NS 4102 defaults)."""
    cursor_overlap: timedelta = timedelta(minutes=2)
    """Re-read this much before the cursor: the ERP's read replica lags a write by seconds."""
    job_attempts: int = Field(default=8, ge=1)
    job_backoff: timedelta = timedelta(minutes=5)
    job_lease: timedelta = timedelta(minutes=10)
    """A running job whose worker has not finished within this is taken up again."""
    call_retries: int = Field(default=3, ge=1)
    """Tries of one call on a transient error before the job is rescheduled."""
    call_backoff: timedelta = timedelta(seconds=1)

    @field_validator("grace", "cursor_overlap", "job_backoff", "job_lease", "call_backoff",
                     mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)


class EnvOverrides(BaseSettings):
    """The two settings the environment may override: where state and the store live."""

    model_config = SettingsConfigDict(env_prefix="CONNECTOR_", extra="ignore")
    state_dir: Path | None = None
    store_url: str | None = None


class Settings(BaseModel):
    """The whole configuration."""

    model_config = ConfigDict(extra="forbid")
    state_dir: Path = Path(".connector")
    store_url: str | None = None
    """SQLAlchemy URL; default: SQLite in ``state_dir``."""
    links: list[LinkSettings] = Field(default_factory=list)
    _source: str = "built-in default"

    @property
    def source(self) -> str:
        """Where the settings were read from, for messages."""
        return self._source

    @property
    def database_url(self) -> str:
        return self.store_url or f"sqlite:///{self.state_dir / 'state.db'}"

    def link(self, name: str | None) -> LinkSettings:
        """The named link, or the only one when no name is given."""
        if not self.links:
            raise ConfigError(f"no links are configured in {self.source}")
        if name is None:
            if len(self.links) == 1:
                return self.links[0]
            names = ", ".join(link.name for link in self.links)
            raise ConfigError(f"several links are configured ({names}); choose one with --link")
        for link in self.links:
            if link.name == name:
                return link
        names = ", ".join(link.name for link in self.links)
        raise ConfigError(f"no link named {name!r} in {self.source} (links: {names})")


DEFAULT_LINKS: list[dict[str, Any]] = [
    {"name": "demo", "erp": {"adapter": "mock"}, "agency": {"adapter": "mock"}}
]


def load_settings(path: str | Path | None = None) -> Settings:
    """Read the configuration from the first place that has one (see module docstring)."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen is None and DEFAULT_FILE.exists():
        chosen = DEFAULT_FILE
    data: dict[str, Any] = {"links": DEFAULT_LINKS}
    source = "built-in default"
    if chosen is not None:
        file = Path(chosen)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
        source = str(file)
    try:
        overrides = EnvOverrides().model_dump(exclude_none=True)
        settings = Settings(**{**data, **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    settings._source = source
    names = [link.name for link in settings.links]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: link names must be unique, got {names}")
    return settings
