"""What every emulator of a vendor's API offers its tests (the PowerOffice and Kravia
emulators, and a third party's): faults injected into its operations, and an in-process
transport for the adapter's client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import httpx

from connector.http.asgi import App, in_process


@dataclass
class Fault:
    """The next ``times`` calls of an operation answer ``status`` (with ``Retry-After``
    when ``retry_after`` is set)."""

    status: int
    times: int = 1
    after: bool = False
    """Do the work, then answer with the fault: the reply is lost."""
    retry_after: int | None = None


class EmulatorControls:
    """A mixin for an emulator with an ``app``, a ``lock`` and ``faults`` by operation."""

    app: App
    lock: threading.RLock
    faults: dict[str, list[Fault]]

    def inject(self, operation: str, status: int, times: int = 1, *, after: bool = False,
               retry_after: int | None = None) -> None:
        """The next ``times`` calls of ``operation`` answer ``status``."""
        with self.lock:
            self.faults.setdefault(operation, []).append(
                Fault(status, times, after, retry_after))

    def transport(self) -> httpx.BaseTransport:
        """An in-process transport for the adapter's client (no socket)."""
        return in_process(self.app)

    def _fault(self, operation: str) -> Fault | None:
        """The fault due for this call of ``operation``, if one was injected."""
        with self.lock:
            queue = self.faults.get(operation)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault
