"""A simulated ERP and debt-collection agency sharing one persisted world with its own clock.

Several CLI calls, the engine and the tests all see the same world: customers, invoices, the
reminder flow sending letters as simulated days pass, and an agency that validates cases
like Kravia and counts duplicates. See docs/mock.md.
"""

from connector_adapters.mock.world import World

__all__ = ["World"]
