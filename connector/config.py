"""Configuration: a TOML file, else the built-in default of one mock ``demo`` link.

Where it comes from, first found wins: ``--config FILE``, ``$CONNECTOR_CONFIG``,
``./connector.toml``, the built-in default. ``$CONNECTOR_STORE_URL`` and
``$CONNECTOR_STATE_DIR`` override the file's values (pydantic-settings); nothing else is
read from the environment.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from connector.bookkeeping import Accounts
from connector.domain import Company, DunningSetup
from connector.errors import ConfigError
from connector.rules import DEFAULT_GRACE
from connector.secrets import is_secret, redact, remember

log = structlog.get_logger(__name__)

CONFIG_ENV = "CONNECTOR_CONFIG"
DEFAULT_FILE = Path("connector.toml")

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=3650)
"""Longer is a typo: ten years is past any grace, lease or interval, and far from the
overflow of a date."""
DURATION_HELP = "a duration like 2h, 14d, 1h30m or 90s"


def parse_duration(text: str | int | float | timedelta, *, positive: bool = False) -> timedelta:
    """``"2h"``, ``"14d"``, ``"1h30m"``, ``"90s"`` or seconds as a number; never negative,
    never past ``MAX_DURATION``, never a boolean; ``positive`` refuses zero too."""
    if isinstance(text, bool):
        raise ValueError(f"{str(text).lower()} is not {DURATION_HELP}")
    if isinstance(text, timedelta):
        seconds = text.total_seconds()
    elif isinstance(text, int | float):
        seconds = float(text)
    elif isinstance(text, str):
        spec = text.strip().replace(" ", "")
        parts = _DURATION.findall(spec)
        if not spec or "".join(n + u for n, u in parts) != spec:
            raise ValueError(f"{text!r} is not {DURATION_HELP}")
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError(f"a {type(text).__name__} is not {DURATION_HELP}")
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} is too long: at most 3650d")
    if seconds < 0 or (positive and seconds == 0):
        raise ValueError(f"{text!r} must be {'more than' if positive else 'at least'} zero")
    return timedelta(seconds=seconds)


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
    job_attempts: int = Field(default=8, ge=1, strict=True)
    job_backoff: timedelta = timedelta(minutes=5)
    job_lease: timedelta = timedelta(minutes=10)
    """A running job whose worker has not finished within this is taken up again."""
    call_retries: int = Field(default=3, ge=1, strict=True)
    """Tries of one call on a transient error before the job is rescheduled."""
    call_backoff: timedelta = timedelta(seconds=1)
    _file: str | None = PrivateAttr(default=None)
    """The link file it came from (``links.d/NAME.toml``); None: the main config."""

    @property
    def file(self) -> str | None:
        return self._file

    @field_validator("grace", "cursor_overlap", "job_backoff", "call_backoff", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("job_lease", mode="before")
    @classmethod
    def _positive_duration(cls, value: Any) -> timedelta:
        return parse_duration(value, positive=True)


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
    links_dir: Path | None = None
    """The folder of link files, one link per ``*.toml`` (default: ``links.d`` beside the
    config file, when there is one)."""
    runs_kept: timedelta = timedelta(days=30)
    """How long sync runs are kept for ``connector runs`` and ``status``; older ones go."""
    _source: str = "built-in default"
    _broken: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def broken_link_files(self) -> dict[str, str]:
        """Link files left out because they cannot be read (file → why), when loaded with
        ``skip_broken``."""
        return self._broken

    @field_validator("runs_kept", mode="before")
    @classmethod
    def _kept(cls, value: Any) -> timedelta:
        return parse_duration(value, positive=True)

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


def load_settings(path: str | Path | None = None, *, skip_broken: bool = False) -> Settings:
    """Read the configuration from the first place that has one (see module docstring).

    A link file that cannot be read is a one-line error, unless ``skip_broken`` (the
    daemon): then it is logged, left out and named in ``broken_link_files``, and the other
    companies go on."""
    chosen = path or os.environ.get(CONFIG_ENV)
    if chosen is None and DEFAULT_FILE.exists():
        chosen = DEFAULT_FILE
    data: dict[str, Any] = {"links": DEFAULT_LINKS}
    source = "built-in default"
    link_files: list[LinkSettings] = []
    broken: dict[str, str] = {}
    if chosen is not None:
        file = Path(chosen)
        source = str(file)
        data = _read_secrets(file, _read_toml(file), ())
        folder = _links_dir(file, data.get("links_dir"))
        if folder is not None:
            data["links_dir"] = folder
            for path in sorted(folder.glob("*.toml")):
                try:
                    link_files.append(_link_file(path))
                except ConfigError as exc:
                    if not skip_broken:
                        raise
                    broken[str(path)] = str(exc)
                    log.error("link file left out", file=str(path), error=str(exc))
    try:
        overrides = EnvOverrides().model_dump(exclude_none=True)
        settings = Settings(**{**data, **overrides})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"{source}: {problems}") from None
    settings._source = source
    settings._broken = broken
    settings.links += link_files
    names = [link.name for link in settings.links]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        where = sorted({link.file or source for link in settings.links if link.name in twice})
        raise ConfigError(f"{source}: link names must be unique, got {', '.join(twice)} "
                          f"more than once (in {', '.join(where)})")
    if settings.store_url:
        _remember_url_password(settings.store_url)
    return settings


LINKS_DIR = "links.d"


def _read_secrets(file: Path, data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """``data`` of ``file`` with variables and secret files resolved; a warning when the
    file holds secrets in clear text and others may read it."""
    literal = _literal_secrets(data)
    if literal and _readable_by_others(file):
        log.warning("config file readable by others holds secrets in clear text; "
                    "use ${VAR} or KEY_file, or chmod 600", file=str(file), settings=literal)
    resolved: dict[str, Any] = _resolve(data, path)
    return resolved


def _links_dir(config: Path, given: Any) -> Path | None:
    """The link files' folder: ``links_dir`` (relative to the config file), else
    ``links.d`` beside it if there is one."""
    if given is None:
        folder = config.parent / LINKS_DIR
        return folder if folder.is_dir() else None
    if not isinstance(given, str) or not given:
        raise ConfigError(f"{config}: links_dir must name a folder")
    folder = config.parent / given
    if not folder.is_dir():
        raise ConfigError(f"{config}: links_dir {folder} is not a folder")
    return folder


def _link_file(file: Path) -> LinkSettings:
    """One link from a link file: its tables as under ``[[links]]``; ``name`` defaults to
    the file's name without ``.toml``. Its secrets come from ``${VAR}`` or ``KEY_file``."""
    try:
        data = _read_secrets(file, _read_toml(file), ())
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(message if str(file) in message else f"{file}: {message}") from None
    data.setdefault("name", file.stem)
    try:
        link = LinkSettings(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{file}: {problems}") from None
    link._file = str(file)
    return link


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {file} is a directory, not a TOML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} is not text (not UTF-8): not a TOML file"
                          ) from None
    except OSError as exc:
        raise ConfigError(f"config file {file} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None


_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
FILE_SUFFIX = "_file"


def holds_secret(key: str) -> bool:
    """Whether a config key's value is a secret: by its name, or the store URL (its password)."""
    return is_secret(key) or key == "store_url"


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _expand(text: str, path: tuple[str, ...]) -> str:
    """``${VAR}`` from the environment; ``$$`` is a literal ``$``."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        if name not in os.environ:
            raise ConfigError(f"{_where(path)}: environment variable {name} is not set")
        return os.environ[name]

    return _VARIABLE.sub(one, text)


def _read_secret_file(value: Any, path: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_where(path)}: must be the path of a file holding the secret")
    file = Path(_expand(value, path))
    try:
        return file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{_where(path)}: cannot read the secret from {file}: {reason}"
                          ) from None


def _resolve(value: Any, path: tuple[str, ...]) -> Any:
    """Expand ``${VAR}`` in every string, read every ``<secret>_file``, and remember each
    secret so no log line or message shows it."""
    if isinstance(value, list):
        return [_resolve(v, (*path, str(i))) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return _expand(value, path) if isinstance(value, str) else value
    resolved: dict[str, Any] = {}
    for key, item in value.items():
        base = key.removesuffix(FILE_SUFFIX)
        if base != key and holds_secret(base):
            if base in value:
                raise ConfigError(f"{_where((*path, key))}: give {base} or {key}, not both")
            resolved[base] = _read_secret_file(item, (*path, key))
        else:
            base = key
            resolved[key] = _resolve(item, (*path, key))
        if holds_secret(base) and isinstance(resolved[base], str):
            remember(resolved[base])
    return resolved


def _literal_secrets(value: Any, path: tuple[str, ...] = ()) -> list[str]:
    """The keys whose secret is written in the file itself, not as ``${VAR}`` or a file."""
    found: list[str] = []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        where = (*path, str(key))
        if isinstance(item, dict | list):
            found += _literal_secrets(item, where)
        elif isinstance(item, str) and holds_secret(str(key)) and _has_literal(str(key), item):
            found.append(_where(where))
    return found


def _has_literal(key: str, text: str) -> bool:
    if key == "store_url":
        try:
            password = make_url(text).password
        except Exception:  # not a URL: the settings model refuses it later
            return False
        return bool(password) and not _VARIABLE.search(str(password))
    return bool(text) and not _VARIABLE.fullmatch(text)


def _readable_by_others(file: Path) -> bool:
    return bool(file.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))


def _remember_url_password(url: str) -> None:
    try:
        password = make_url(url).password
    except Exception:  # not a URL: the store says so when it opens it
        return
    if password:
        remember(str(password))
