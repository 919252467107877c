"""The read-only cases against PowerOffice's demo environment: a mode CI never runs.

With ``CONNECTOR_POWEROFFICE_DEMO=record`` and demo keys in ``POWEROFFICE_DEMO_*``, these
tests call PowerOffice itself and record what it answers into
``cassettes/demo-environment/`` (scrubbed as the emulator's cassettes are), for comparison
with the emulator (``docs/adapters/poweroffice.md``). Otherwise they are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.http import RateLimiter
from connector_adapters.poweroffice.adapter import PowerOfficeErp
from connector_adapters.poweroffice.settings import PowerOfficeSettings
from tests.cassettes import recorder

KEYS = ("APPLICATION_KEY", "CLIENT_KEY", "SUBSCRIPTION_KEY")
WANTED = os.environ.get("CONNECTOR_POWEROFFICE_DEMO") == "record"
pytestmark = pytest.mark.skipif(
    not WANTED or not all(os.environ.get(f"POWEROFFICE_DEMO_{k}") for k in KEYS),
    reason="records against PowerOffice's demo environment only when asked "
           "(CONNECTOR_POWEROFFICE_DEMO=record and POWEROFFICE_DEMO_* keys)")
FOLDER = Path(__file__).parent / "cassettes" / "demo-environment"


def _secrets() -> list[str]:
    return [os.environ.get(f"POWEROFFICE_DEMO_{k}", "") for k in KEYS]


RECORDER = recorder(FOLDER, _secrets, headers=("authorization", "ocp-apim-subscription-key"),
                    mode="all")


@pytest.fixture
def demo(request: pytest.FixtureRequest) -> Iterator[PowerOfficeErp]:
    application, client, subscription = _secrets()
    erp = PowerOfficeErp(PowerOfficeSettings.parse({
        "application_key": application, "client_key": client,
        "subscription_key": subscription, "environment": "demo", "page_size": 50}),
        limiter=RateLimiter("poweroffice-demo-recording", 5))
    with RECORDER.use_cassette(f"{request.node.name}.yaml"):
        yield erp
    erp.close()


def test_demo_company_and_customers(demo: PowerOfficeErp) -> None:
    assert demo.company().name
    pages = list(demo.customers(None))
    assert all(c.changed_at.tzinfo for p in pages for c in p.items)


def test_demo_invoices_letters_and_ledger(demo: PowerOfficeErp) -> None:
    for read in (demo.invoices, demo.letters, demo.ledger):
        for page in read(None):
            assert not page.rejected, page.rejected[:3]
