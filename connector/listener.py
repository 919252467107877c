"""The daemon's one HTTP listener (``connector daemon --listen HOST:PORT``), on Starlette
served by uvicorn in a thread of the daemon's process.

- ``/healthz``: the process is alive (200 while it answers);
- ``/readyz``: the store answers and its schema is this connector's (else 503 and why);
- ``/metrics``: Prometheus text (``connector.metrics``);
- the routes plugins register through ``connector_register_routes`` (agency webhooks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pluggy
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connector import metrics
from connector.clock import SystemClock
from connector.config import LinkSettings
from connector.errors import ConfigError
from connector.registry import first_line, warn_once
from connector.routes import Endpoint
from connector.runtime import Runtime
from connector.store.db import schema_problem

log = structlog.get_logger(__name__)

@dataclass
class Routes:
    """The daemon's ``connector.routes.RouteTable``."""

    rt: Runtime
    on_wake: Callable[[str], None] = lambda _link: None
    routes: list[Route] = field(default_factory=list)

    def add(self, path: str, endpoint: Endpoint, methods: Sequence[str] = ("POST",)) -> None:
        self.routes.append(Route(path, endpoint, methods=list(methods)))

    def links(self, agency: str | None = None, erp: str | None = None) -> list[LinkSettings]:
        return [link for link in self.rt.settings.links
                if agency in (None, link.agency.adapter) and erp in (None, link.erp.adapter)]

    def wake(self, link: str) -> None:
        self.on_wake(link)


def plugin_routes(pm: pluggy.PluginManager, routes: Routes) -> None:
    """Let every plugin add its routes; one whose hook fails is named and left out."""
    for impl in pm.hook.connector_register_routes.get_hookimpls():
        try:
            impl.function(routes=routes)
        except Exception as exc:
            warn_once(f"plugin {impl.plugin_name!r}: its routes are not served: "
                      f"{first_line(exc)}")


def app(rt: Runtime, on_wake: Callable[[str], None] = lambda _link: None) -> Starlette:
    """The listener's application for the daemon's runtime."""
    registry = CollectorRegistry()
    configured = lambda: [link.name for link in rt.settings.links]  # noqa: E731  (reloaded)
    registry.register(metrics.StoreCollector(rt.store, configured, SystemClock().now,
                                             rt.clock.now))

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_request: Request) -> Response:
        problem = await run_in_threadpool(_not_ready, rt)
        if problem:
            return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def scrape(_request: Request) -> Response:
        body = await run_in_threadpool(metrics.exposition, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    routes = Routes(rt, on_wake)
    plugin_routes(rt.registry.pm, routes)
    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz),
                             Route("/metrics", scrape), *routes.routes])


def _not_ready(rt: Runtime) -> str | None:
    try:
        with rt.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return schema_problem(rt.store.engine)
    except Exception as exc:  # the store is down: say so, never the URL
        return f"the store cannot be reached: {type(exc).__name__}"


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6); refused in one line when malformed."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"--listen: {value!r} is not HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


class Listener:
    """uvicorn serving ``app`` on a thread of its own until ``stop``."""

    def __init__(self, application: Starlette, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(application, host=host, port=port, log_config=None,
                                access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="listener", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Serve; raises when the address cannot be listened on."""
        self.thread.start()
        waited = 0.0
        while not self.server.started and self.thread.is_alive() and waited < timeout:
            threading.Event().wait(0.05)
            waited += 0.05
        if not self.server.started:
            host, port = self.server.config.host, self.server.config.port
            raise ConfigError(f"--listen: cannot listen on {host}:{port} (in use, or not an "
                              "address of this machine)")
        log.info("listening", host=self.server.config.host, port=self.server.config.port)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
