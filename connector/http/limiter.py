"""A token-bucket limiter keyed by credential, with a pluggable backend.

A vendor's rate limit counts per credential (PowerOffice Go: 10 requests/s per
subscription key, across all client keys), not per link. So every client that uses the same
credential in one process shares one bucket: :func:`shared_limiter` hands out one
:class:`RateLimiter` per key. Many processes share a budget through a backend that keeps
the bucket somewhere they all see (e.g. the database); :class:`LimiterBackend` is that
interface, :class:`InProcessBackend` the default.

The bucket is kept as a GCRA "theoretical arrival time": each request reserves the next
slot and waits until it is due. A reservation is one read-modify-write of one number per
key, which a database backend does in a single ``UPDATE … RETURNING``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class LimiterBackend(Protocol):
    """Where buckets live. Implementations must make ``reserve`` atomic per key."""

    def reserve(self, key: str, interval: float, burst: int) -> float:
        """Take the next slot of bucket ``key``; return the seconds to wait before using it.

        ``interval`` is the seconds between requests at the steady rate; ``burst`` how many
        requests may go at once after a quiet spell. With ``tat`` the key's stored
        theoretical arrival time (absent: now)::

            tat = max(tat, now) + interval
            wait = max(0, tat - burst * interval - now)
        """
        ...


class InProcessBackend:
    """Buckets in this process's memory, on the monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}

    def reserve(self, key: str, interval: float, burst: int) -> float:
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(key, now), now) + interval
            self._tat[key] = tat
            return max(0.0, tat - burst * interval - now)


@dataclass
class RateLimiter:
    """Paces the requests of one credential: ``acquire`` before each request."""

    key: str
    rate: float
    """Requests per second at the steady rate."""
    burst: int = 1
    backend: LimiterBackend | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a rate limiter needs rate > 0 and burst >= 1")
        if self.backend is None:
            self.backend = DEFAULT_BACKEND

    def acquire(self) -> float:
        """Wait for this request's slot; returns the seconds waited."""
        assert self.backend is not None
        wait = self.backend.reserve(self.key, 1.0 / self.rate, self.burst)
        if wait > 0:
            self.sleep(wait)
        return wait


DEFAULT_BACKEND: LimiterBackend = InProcessBackend()
"""The backend :func:`shared_limiter` uses unless told otherwise; a deployment running
several processes on one credential replaces it (:func:`set_default_backend`)."""

_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def set_default_backend(backend: LimiterBackend) -> None:
    """Use ``backend`` for every limiter made from now on (and forget the shared ones)."""
    global DEFAULT_BACKEND
    with _shared_lock:
        DEFAULT_BACKEND = backend
        _shared.clear()


def credential_key(service: str, credential: str) -> str:
    """A bucket key for a credential that does not contain it (it may be stored or logged)."""
    digest = hashlib.sha256(credential.encode("utf-8")).hexdigest()[:16]
    return f"{service}:{digest}"


def shared_limiter(key: str, rate: float, burst: int = 1) -> RateLimiter:
    """The one limiter of this process for ``key`` (made on first use, on the default backend).

    A later call with another rate or burst gets the first one's: the limit belongs to the
    credential, not to whoever asks first or last.
    """
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(key, rate, burst, DEFAULT_BACKEND)
        return limiter
