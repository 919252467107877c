"""The HTTP kit every HTTP adapter builds on (PowerOffice Go, Kravia, third parties).

See ``docs/plugins.md``, "HTTP adapters". The public names are those of ``__all__``.
"""

from connector.http.auth import BearerTokenAuth
from connector.http.client import DEFAULT_TIMEOUT, HttpClient
from connector.http.errors import (
    AuthError,
    HttpError,
    HttpTransientError,
    RateLimited,
    error_for,
    plain,
    problem_of,
    problem_text,
)
from connector.http.limiter import (
    InProcessBackend,
    LimiterBackend,
    RateLimiter,
    credential_key,
    set_default_backend,
    shared_limiter,
)
from connector.http.paging import items_of, more_pages, numbered_pages, offset_pages
from connector.http.redact import redact, redact_processor, register_secret
from connector.http.retry import NotSent, RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "AuthError",
    "BearerTokenAuth",
    "HttpClient",
    "HttpError",
    "HttpTransientError",
    "InProcessBackend",
    "LimiterBackend",
    "NotSent",
    "RateLimited",
    "RateLimiter",
    "RetryPolicy",
    "credential_key",
    "error_for",
    "items_of",
    "more_pages",
    "numbered_pages",
    "offset_pages",
    "plain",
    "problem_of",
    "problem_text",
    "redact",
    "redact_processor",
    "register_secret",
    "set_default_backend",
    "shared_limiter",
]
