"""The ERP half of ``connector demo --http``: PowerOffice Go over 127.0.0.1."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from connector.http import credential_key
from connector.http.asgi import serve
from connector_adapters.mock.world import World
from connector_adapters.poweroffice.adapter import SERVICE, PowerOfficeErp
from connector_adapters.poweroffice.emulator import V1, Keys, PowerOfficeEmulator
from connector_adapters.poweroffice.settings import PowerOfficeSettings

if TYPE_CHECKING:
    from connector_adapters.mock.http_demo import VirtualTime


def erp_half(world: World, time: VirtualTime, lock: threading.RLock, stack: ExitStack
             ) -> tuple[PowerOfficeErp, Callable[[], dict[str, Any]]]:
    """The adapter against its emulator of ``world`` on a free port of 127.0.0.1, with
    status write-back on; stopped with ``stack``. Fresh keys each run."""
    application, client, v1_client, subscription = (secrets.token_urlsafe(24)
                                                    for _ in range(4))
    emulator = PowerOfficeEmulator(world, Keys(application, (client, v1_client),
                                               (subscription,)), clock=time.now, lock=lock)
    root = stack.enter_context(serve(emulator.app))
    settings = PowerOfficeSettings.model_validate({
        "application_key": application, "client_key": client,
        "subscription_key": subscription, "root_url": root,
        "timezone": world.erp.company.timezone,
        "status_writeback": {"application_key": application, "client_key": v1_client,
                             "root_url": root + V1}})
    erp = PowerOfficeErp(settings, clock=world.clock, sleep=time.sleep, token_clock=time.now,
                         limiter=time.limiter(credential_key(SERVICE, subscription),
                                              settings.requests_per_second))
    stack.callback(erp.close)

    def report() -> dict[str, Any]:
        return {"url": root, "requests": len(emulator.requests),
                "rate_limited": emulator.rate_limited, "tokens": emulator.tokens_issued,
                "duplicate_vouchers": world.erp.duplicate_vouchers,
                "duplicate_proposals": emulator.duplicate_proposals,
                "duplicate_status_cases": emulator.duplicate_debt_cases}

    return erp, report
