"""One HTTP client per service: timeouts, rate limit, retries, error mapping, Decimal JSON.

Every request that leaves through an :class:`HttpClient` (token requests included) first
takes a slot from the service credential's :class:`~connector.http.limiter.RateLimiter`,
is logged without secrets, and comes back either as a response or as one of the errors of
:mod:`connector.http.errors`, after the retries of :class:`~connector.http.retry.RetryPolicy`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import httpx
import structlog

from connector import metrics
from connector.http import jsonio
from connector.http.errors import error_for, transport_error
from connector.http.limiter import RateLimiter
from connector.http.paging import items_of, numbered_pages
from connector.http.redact import redact, register_secret
from connector.http.retry import NotSent, RetryPolicy, is_not_sent

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
log = structlog.get_logger("connector.http")

Params = Mapping[str, str | int | float | bool | None]


class _PacedTransport(httpx.BaseTransport):
    """Takes a limiter slot before each request reaches the wire, and logs it."""

    def __init__(self, inner: httpx.BaseTransport, limiter: RateLimiter | None,
                 service: str) -> None:
        self.inner = inner
        self.limiter = limiter
        self.service = service

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        waited = self.limiter.acquire() if self.limiter else 0.0
        started = time.perf_counter()
        metrics.CALLS.labels(self.service).inc()
        try:
            response = self.inner.handle_request(request)
        except Exception:
            metrics.ERRORS.labels(self.service).inc()
            raise
        if response.status_code >= 400:
            metrics.ERRORS.labels(self.service).inc()
        if response.status_code == 429:
            metrics.RATE_LIMITED.labels(self.service).inc()
        log.debug("http request", service=self.service, method=request.method,
                  path=redact(request.url.path), status=response.status_code,
                  ms=round((time.perf_counter() - started) * 1000, 1),
                  waited_ms=round(waited * 1000, 1))
        return response

    def close(self) -> None:
        self.inner.close()


class HttpClient:
    """The client of one service (one base URL and one set of credentials).

    ``secrets`` are registered for redaction; ``transport`` replaces the network (tests
    pass an emulator's ``httpx.MockTransport`` or ``httpx.WSGITransport``).
    """

    def __init__(self, service: str, base_url: str, *,
                 headers: Mapping[str, str] | None = None, auth: httpx.Auth | None = None,
                 limiter: RateLimiter | None = None, retry: RetryPolicy | None = None,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None, secrets: Iterable[str] = (),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        for secret in secrets:
            register_secret(secret)
        self.service = service
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        paced = _PacedTransport(transport or httpx.HTTPTransport(), limiter, service)
        self._http = httpx.Client(base_url=base_url, headers=headers, auth=auth,
                                  timeout=timeout, transport=paced)

    def request(self, method: str, path: str, *, params: Params | None = None,
                json: Any = None, data: Mapping[str, str] | None = None,
                headers: Mapping[str, str] | None = None,
                idempotent: bool | None = None) -> httpx.Response:
        """Send a request; a 2xx/3xx response comes back, anything else raises.

        ``json`` is sent with :func:`connector.http.jsonio.dumps` (``Decimal`` as numbers).
        ``idempotent`` defaults by method (POST and PATCH are not).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        send_headers = dict(headers or {})
        content = None
        if json is not None:
            content = jsonio.dumps(json)
            send_headers.setdefault("Content-Type", "application/json")
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}

        tries = 0

        def once() -> httpx.Response:
            nonlocal tries
            tries += 1
            if tries > 1:
                metrics.RETRIES.labels(self.service).inc()
            try:
                response = self._http.request(method, path, params=query, content=content,
                                              data=data, headers=send_headers)
            except httpx.TransportError as exc:
                request = httpx.Request(method, self._http.base_url.join(path))
                if is_not_sent(exc):
                    raise NotSent(str(transport_error(self.service, request, exc))) from None
                raise transport_error(self.service, request, exc) from None
            if response.status_code >= 400:
                raise error_for(self.service, response)
            return response

        return self.retry.run(once, idempotent=idempotent, sleep=self._sleep)

    def get_json(self, path: str, params: Params | None = None) -> Any:
        """GET and decode the body (None for 204 No Content)."""
        response = self.request("GET", path, params=params)
        if response.status_code == 204 or not response.content:
            return None
        return jsonio.loads(response.content)

    def send_json(self, method: str, path: str, body: Any, *,
                  params: Params | None = None) -> Any:
        """Send ``body`` as JSON and decode the answer (None when it has no body)."""
        response = self.request(method, path, params=params, json=body)
        return jsonio.loads(response.content) if response.content else None

    def get_list(self, path: str, params: Params | None = None) -> list[Any]:
        """GET one list (a JSON array; [] for 204)."""
        return items_of(self.request("GET", path, params=params))

    def numbered_pages(self, path: str, params: Params | None, page_size: int, *,
                       page_param: str = "PageNumber", size_param: str = "PageSize",
                       ) -> Iterator[list[Any]]:
        """Stream a list endpoint paged by page number (see :mod:`connector.http.paging`)."""

        def fetch(number: int, size: int) -> httpx.Response:
            return self.request("GET", path,
                                params={**(params or {}), page_param: number, size_param: size})

        return numbered_pages(fetch, page_size)

    def close(self) -> None:
        self._http.close()


def _query_value(value: str | int | float | bool) -> str:
    """Query strings as servers expect them: ``true``/``false``, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
