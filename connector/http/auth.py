"""Bearer tokens from a token endpoint, reused while valid and renewed early.

:class:`BearerTokenAuth` is an ``httpx.Auth``: the token request goes through the same
client, so it passes the same rate limiter and transport as every other call. Subclasses
say how to ask for a token (:meth:`BearerTokenAuth.token_request`). A 401 on a call renews
the token once and repeats the call (the server may have revoked it early). A refused token
request (RFC 6749 ``{error, error_description}``) is an :class:`AuthError`: a configuration
problem.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator

import httpx

from connector.http import jsonio
from connector.http.errors import AuthError, error_for, problem_of, problem_text
from connector.http.redact import register_secret


class BearerTokenAuth(httpx.Auth):
    requires_response_body = True

    def __init__(self, service: str, *, renew_before: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self.renew_before = renew_before
        """Renew this many seconds before the token expires (never less than half its life)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def token_request(self) -> httpx.Request:
        """The request that asks the token endpoint for a new token."""
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                yield from self._renew()
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                if self._token == token:
                    yield from self._renew()
                token = self._token
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def invalidate(self) -> None:
        """Forget the token: the next call asks for a new one."""
        with self._lock:
            self._token = None

    def _renew(self) -> Generator[httpx.Request, httpx.Response, None]:
        asked_at = self._clock()
        response = yield self.token_request()
        if response.status_code in (400, 401, 403):
            said = problem_text(problem_of(response)) or f"status {response.status_code}"
            raise AuthError(f"{self.service}: the token request was refused ({said}); "
                            "check the adapter's keys in the configuration",
                            status=response.status_code, problem=problem_of(response))
        if response.status_code >= 300:
            raise error_for(self.service, response)
        body = jsonio.loads(response.content)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"{self.service}: the token response has no access_token")
        register_secret(token)
        lifetime = float(body.get("expires_in") or 600)
        margin = min(self.renew_before, lifetime / 2)
        self._token = token
        self._renew_at = asked_at + lifetime - margin
