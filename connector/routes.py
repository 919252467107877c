"""What ``connector_register_routes`` hands a plugin: the ``RouteTable`` of the daemon's
listener (``connector.listener``). A module of its own, light to import: plugins load it
for every command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from connector.config import LinkSettings

Endpoint = Callable[["Request"], Awaitable["Response"]]


class RouteTable(Protocol):
    """Where a plugin adds its routes, the links configured now (link files change while
    the daemon runs) and how to have a link synced soon (a webhook said it changed)."""

    def add(self, path: str, endpoint: Endpoint, methods: Sequence[str] = ...) -> None: ...

    def links(self, agency: str | None = None, erp: str | None = None
              ) -> list[LinkSettings]: ...

    def wake(self, link: str) -> None: ...
