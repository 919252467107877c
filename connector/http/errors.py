"""HTTP failures mapped onto the engine's error types (``connector.errors``).

- 429, 5xx, timeouts and dropped connections are :class:`~connector.errors.TransientError`:
  the kit retries them, and the engine's jobs retry them later;
- 401 and 403 are :class:`~connector.errors.ConfigError`: the credentials or their
  privileges are wrong, and retrying will not change that;
- every other 4xx is an :class:`~connector.errors.AdapterError` carrying the status and the
  server's problem text (RFC 7807 ProblemDetails, or RFC 6749 ``error``), never retried.

Every message passes through :func:`connector.http.redact.redact`, and text from the
server is shortened and stripped of control characters: it is data, not markup.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from connector.errors import AdapterError, ConfigError, TransientError
from connector.http import jsonio
from connector.http.redact import redact

_MAX_DETAIL = 300
_PROBLEM_KEYS = ("title", "detail", "error", "error_description", "message")


class HttpError(AdapterError):
    """The service answered with an error status."""

    def __init__(self, message: str, *, status: int | None = None,
                 problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(redact(message))
        self.status = status
        self.problem = dict(problem or {})


class HttpTransientError(HttpError, TransientError):
    """A 5xx, or no answer at all (timeout, dropped connection): worth retrying."""


class RateLimited(HttpTransientError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 problem: Mapping[str, Any] | None = None) -> None:
        super().__init__(message, status=429, problem=problem)
        self.retry_after = retry_after


class AuthError(HttpError, ConfigError):
    """401/403, or a refused token request: a configuration problem, not a passing one."""


def plain(text: str, limit: int = _MAX_DETAIL) -> str:
    """Server text made safe to print: no control characters, one line, bounded length."""
    cleaned = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The error body as a dict with lower-case keys ({} when there is none or it is not JSON).

    ProblemDetails key casing varies between services (``Title``/``title``).
    """
    if not response.content:
        return {}
    try:
        body = jsonio.loads(response.content)
    except ValueError:
        return {"detail": response.text}
    if not isinstance(body, dict):
        return {}
    return {str(key).lower(): value for key, value in body.items()}


def problem_text(problem: Mapping[str, Any]) -> str:
    """The human part of a problem body: its title/detail or OAuth error fields."""
    parts = [plain(str(problem[key])) for key in _PROBLEM_KEYS
             if problem.get(key) not in (None, "")]
    return ": ".join(dict.fromkeys(parts))


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_for(service: str, response: httpx.Response) -> HttpError:
    """The exception for an error response of ``service``."""
    request = response.request
    problem = problem_of(response)
    said = problem_text(problem)
    where = f"{request.method} {request.url.path}"
    status = response.status_code
    suffix = f": {said}" if said else ""
    if status == 429:
        return RateLimited(f"{service}: rate limit reached ({where}){suffix}",
                           retry_after=retry_after_seconds(response), problem=problem)
    if status in (401, 403):
        what = ("the credentials were refused" if status == 401
                else "the credentials lack a privilege this call needs")
        return AuthError(f"{service}: {what} ({status} on {where}){suffix}; "
                         "check the adapter's keys in the configuration",
                         status=status, problem=problem)
    if status >= 500:
        return HttpTransientError(f"{service}: server error {status} on {where}{suffix}",
                                  status=status, problem=problem)
    return HttpError(f"{service}: {status} on {where}{suffix}", status=status, problem=problem)


def transport_error(service: str, request: httpx.Request, exc: httpx.TransportError) -> HttpError:
    """A request that got no answer: a timeout or a dropped or refused connection."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return HttpTransientError(
        f"{service}: {request.method} {request.url.path} {kind} ({type(exc).__name__})")
