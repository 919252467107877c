"""When and how long the kit retries a request (tenacity).

Retried: 429, 5xx, timeouts and dropped connections (:class:`HttpTransientError`); never
another 4xx. A 429 waits the server's ``Retry-After`` when it sends one and at least
``min_rate_limit_wait`` (1 s) otherwise; everything else backs off exponentially with jitter.

A request that changes something (POST, PATCH) is retried only when it surely was not
carried out: after a 429, or when the connection was never made. After a 5xx or a timeout
the change may have happened, so the error goes up to the caller, whose look-before-create
check (``connector.worker.ensure``) decides on the next try.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from connector.http.errors import HttpTransientError, RateLimited

T = TypeVar("T")


class NotSent(HttpTransientError):
    """The connection was never made: the request surely did not reach the server."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Tries in all, the first included."""
    backoff: float = 0.5
    """The first exponential wait, in seconds (doubled per try, with jitter)."""
    max_backoff: float = 30.0
    min_rate_limit_wait: float = 1.0
    """Wait at least this long after a 429 without ``Retry-After``."""

    def run(self, call: Callable[[], T], *, idempotent: bool,
            sleep: Callable[[float], None] = time.sleep) -> T:
        """``call()`` with retries as described in the module docstring."""
        backoff = wait_random_exponential(multiplier=self.backoff, max=self.max_backoff)

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RateLimited | NotSent):
                return True
            return idempotent and isinstance(exc, HttpTransientError)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RateLimited):
                if exc.retry_after is not None:
                    return min(exc.retry_after, self.max_backoff)
                return max(self.min_rate_limit_wait, backoff(state))
            return backoff(state)

        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=wait,
                            retry=retry_if_exception(retryable), sleep=sleep, reraise=True)
        return retrying(call)


def is_not_sent(exc: httpx.TransportError) -> bool:
    """Whether a transport error happened before the request could reach the server."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
