"""Fixtures for the mock world: a fixed start and a small hand-built company."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from connector.domain import Address, Company, DunningSetup
from connector_adapters.mock.world import World

START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
"""Monday 3 March 2025, 09:00 in Oslo."""

MakeWorld = Callable[..., World]
Day = Callable[[int], date]


@pytest.fixture
def start() -> datetime:
    return START


@pytest.fixture
def make_world() -> MakeWorld:
    """A world with one complete business customer, 10001, and the given dunning setup."""

    def make(dunning: DunningSetup = DunningSetup()) -> World:
        world = World.empty(START, Company(name="Fjellheim Elektro AS", dunning=dunning))
        world.add_customer(
            "10001", "Fjordkraft Rør AS", organization_number="923456783",
            address=Address(line1="Storgata 12", postal_code="0155", city="Oslo", country="NO"),
        )
        return world

    return make


@pytest.fixture
def world(make_world: MakeWorld) -> World:
    return make_world()


@pytest.fixture
def day() -> Day:
    """``day(n)``: the date ``n`` days after the start day."""
    return lambda n: START.date() + timedelta(days=n)
