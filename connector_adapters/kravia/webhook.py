"""Kravia's webhook: a signed signal that a case changed, never the truth about it.

The URL must be public and unauthenticated (Kravia's guide), so the signature is the only
guard. A delivery is refused with 401, and nothing else happens, when it is not JSON of the
documented shape, names another algorithm than MD5, carries a signature that does not match
(compared in constant time), is stale (its timestamp outside ``tolerance`` of our clock) or
was seen before (a replay within that window). A good delivery only marks its case to be
fetched on the link's next pass: the details read then are the truth. The marks are a set,
so a storm of deliveries for one case costs one fetch per pass; polling goes on beside
them, so a lost delivery costs latency, never data.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector.errors import ConfigError
from connector.http import jsonio
from connector.routes import Endpoint, RouteTable
from connector_adapters.kravia import guesses, wire

log = structlog.get_logger(__name__)

PATH = "/webhooks/kravia/{link}"
"""Where the daemon's listener serves Kravia's deliveries, one URL per link."""
DEFAULT_TOLERANCE = timedelta(minutes=5)
MAX_BODY = 16 * 1024
"""The documented event is about 150 bytes; anything far larger is not one."""


class FetchMarks:
    """Kravia case ids a webhook asked to fetch now, in arrival order, each once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[str, None] = {}

    def mark(self, case_id: str) -> None:
        with self._lock:
            self._ids[case_id] = None

    def take(self) -> list[str]:
        """The marked ids, cleared: the pass that takes them fetches them."""
        with self._lock:
            ids, self._ids = list(self._ids), {}
        return ids

    def __len__(self) -> int:
        return len(self._ids)


_marks: dict[str, FetchMarks] = {}
_marks_lock = threading.Lock()


def marks_for(link: str) -> FetchMarks:
    """The process's marks of one link: the receiver writes them, the link's adapter reads."""
    with _marks_lock:
        return _marks.setdefault(link, FetchMarks())


@dataclass
class Verifier:
    """Checks deliveries for one creditor's secret; remembers good ones for the window."""

    secret: str
    clock: Callable[[], datetime]
    tolerance: timedelta = DEFAULT_TOLERANCE
    _seen: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, body: bytes) -> wire.WebhookData | str:
        """The event's data if the delivery is good, else why it is refused."""
        if len(body) > MAX_BODY:
            return "body too large"
        try:
            raw = jsonio.loads(body)
            event = wire.WebhookEvent.model_validate(raw)
        except (ValueError, ValidationError):
            return "not a Kravia webhook event"
        if event.header.algorithm.upper() != "MD5":
            return f"unknown algorithm {event.header.algorithm[:20]!r}"
        data: dict[str, Any] = raw["data"]
        expected = guesses.signature(data, self.secret)
        if not hmac.compare_digest(expected.encode(), event.signature.lower().encode()):
            return "wrong signature"
        now = self.clock()
        sent = guesses.event_time(event.data.timestamp)
        if abs(now - sent) > self.tolerance:
            return f"stale: sent {sent.isoformat()}, outside {self.tolerance} of now"
        with self._lock:
            for signature, at in list(self._seen.items()):
                if now - at > self.tolerance * 2:
                    del self._seen[signature]
            if expected in self._seen:
                return "replayed"
            self._seen[expected] = sent
        return event.data


@dataclass(frozen=True)
class Hook:
    """What a delivery for one link needs: its verifier, its marks, and how to wake it."""

    verifier: Verifier
    marks: FetchMarks
    wake: Callable[[], None] = lambda: None


def endpoint(hook_for: Callable[[str], Hook | None]) -> Endpoint:
    """The POST endpoint Kravia calls at ``…/{link}``: 401 for every refusal (an unknown
    link or one without a webhook secret too), 200 once the case is marked."""

    async def deliver(request: Request) -> Response:
        link = str(request.path_params.get("link", ""))
        hook = hook_for(link)
        body = await request.body()
        verdict = hook.verifier.check(body) if hook is not None else "no webhook for this link"
        if isinstance(verdict, str):
            log.warning("kravia webhook refused", link=link[:100], reason=verdict)
            return JSONResponse({"error": "refused"}, status_code=401)
        assert hook is not None
        hook.marks.mark(str(verdict.claimId))
        hook.wake()
        return JSONResponse({"ok": True})

    return deliver


def receiver(path: str, verifier: Verifier, marks: FetchMarks, link: str) -> Route:
    """A route for one link (tests; a server of its own)."""
    hook = Hook(verifier, marks)
    return Route(path, endpoint(lambda _: hook), methods=["POST"], name=f"kravia-webhook-{link}")


def mount(routes: RouteTable, clock: Callable[[], datetime]) -> None:
    """Serve ``/webhooks/kravia/{link}`` for every link on Kravia with a webhook secret.

    The link's settings are read at each delivery (link files change while the daemon
    runs); a verifier per link and secret keeps the replay memory across deliveries."""
    from connector_adapters.kravia.settings import KraviaSettings

    verifiers: dict[tuple[str, str], Verifier] = {}
    lock = threading.Lock()

    def hook_for(link: str) -> Hook | None:
        chosen = [s for s in routes.links(agency="kravia") if s.name == link]
        if not chosen:
            return None
        try:
            settings = KraviaSettings.parse(chosen[0].agency.options)
        except ConfigError:
            return None
        if settings.webhook_secret is None:
            return None
        secret = settings.webhook_secret.get_secret_value()
        key = (link, hashlib.sha256(secret.encode()).hexdigest())
        with lock:
            verifier = verifiers.setdefault(
                key, Verifier(secret, clock, settings.webhook_tolerance))
        return Hook(verifier, marks_for(link), lambda: routes.wake(link))

    routes.add(PATH, endpoint(hook_for), methods=("POST",))
