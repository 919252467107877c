"""An ASGI app (an emulator, a webhook receiver) as an httpx transport, or on a socket.

``in_process`` calls the app in the calling thread: no socket, and vcrpy records and
replays it like the network. ``serve`` runs the app with uvicorn on a free port of
127.0.0.1 in a thread, for what must go over real sockets (``connector demo --http``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

App = Callable[..., Any]


def handler(app: App) -> Callable[[httpx.Request], httpx.Response]:
    """``app`` as a function of one request, run to its answer in the calling thread."""
    return lambda request: asyncio.run(_call(app, request))


def in_process(app: App) -> httpx.BaseTransport:
    """A transport for a synchronous httpx client that calls ``app`` in this thread (a
    ``MockTransport``, so vcrpy records and replays it like the network)."""
    return httpx.MockTransport(handler(app))


@contextmanager
def serve(app: App, start_timeout: float = 10.0) -> Iterator[str]:
    """``app`` served on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None,
                                           access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local HTTP server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


async def _call(app: App, request: httpx.Request) -> httpx.Response:
    """One request through the ASGI app, as a server would pass it."""
    url = request.url
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": request.method, "scheme": url.scheme, "path": url.path,
        "raw_path": url.raw_path.split(b"?")[0], "query_string": url.query,
        "root_path": "", "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "server": (url.host, url.port or 443), "client": ("127.0.0.1", 0),
    }
    body = request.read()
    received = False
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status, headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return httpx.Response(status, headers=headers, content=b"".join(chunks), request=request)
