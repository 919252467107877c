"""The mock world: the mock ERP (``erp_world``) and the mock agency (``agency_world``), two
systems that share nothing but the calendar.

Each side keeps its own state in its own SQLite file in the world's folder (``erp.sqlite``,
``agency.sqlite``), shared safely by every process that opens it (``state``). A ``World``
ties the two together for what spans both: moving time (each side runs its own nightly run),
a debtor's card and script in one call, faults by operation name, and one summary. The two
meet otherwise only through the adapters: money the agency collects reaches the ERP's
ledger only when the payout is booked there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from connector.domain import Company
from connector.errors import UserError
from connector.ports import Capability
from connector_adapters.mock.agency_world import AGENCY_FAULTS, AgencyWorld, DebtorScript
from connector_adapters.mock.erp_world import ERP_FAULTS, ErpWorld, MockCustomer
from connector_adapters.mock.events import AGENCY_KINDS, AgencyReject, Event, Fault, Scheduled
from connector_adapters.mock.state import build

ERP_FILE = "erp.sqlite"
AGENCY_FILE = "agency.sqlite"
FAULT_OPERATIONS = ERP_FAULTS | AGENCY_FAULTS
"""Operations a fault can be injected into. A ``.lost_reply`` operation does the work and then
fails: the window where the other side acted but the caller never heard back."""
SCRIPT_FIELDS = frozenset(DebtorScript.model_fields) - {"number"}
"""Customer fields that belong to the debtor's script at the agency, not to the ERP card."""


class WorldClock:
    """The world's time as a ``connector.clock.Clock``: the engine reads it, never sets it."""

    def __init__(self, world: World) -> None:
        self._world = world

    def now(self) -> datetime:
        return self._world.now


class World:
    """The mock ERP and the mock agency, and the time they share."""

    def __init__(self, erp: ErpWorld, agency: AgencyWorld) -> None:
        self.erp = erp
        self.agency = agency

    @classmethod
    def new(cls, now: datetime, company: Company, *, seed: int | None = None,
            agency_passes_fees: bool = False,
            agency_capabilities: list[Capability] | None = None,
            last_invoice_no: int = 10000) -> World:
        """A world in memory only (``bind`` stores it): a company with no customers yet."""
        return cls(ErpWorld.new(now, company, last_invoice_no),
                   AgencyWorld.new(now, company.timezone, seed, agency_passes_fees,
                                   agency_capabilities))

    @classmethod
    def empty(cls, now: datetime | None = None, company: Company | None = None) -> World:
        """A world with no customers: an Oslo company with every reminder step off."""
        return cls.new(now or datetime.now(UTC), company or Company(name="Mock AS"))

    @classmethod
    def open(cls, folder: Path) -> World:
        """The world stored in ``folder``; an empty one if nothing is stored there yet."""
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} is not a mock world folder (a world is a folder "
                            f"holding {ERP_FILE} and {AGENCY_FILE}); delete it or name "
                            "another one")
        now = datetime.now(UTC)
        return cls(ErpWorld.at(folder / ERP_FILE, now), AgencyWorld.at(folder / AGENCY_FILE, now))

    def bind(self, folder: Path) -> None:
        """Store this world in ``folder`` in place of whatever was there; from now on every
        write goes there (and other processes see it)."""
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} is not a mock world folder")
        self.erp.bind(folder / ERP_FILE)
        self.agency.bind(folder / AGENCY_FILE)

    def close(self) -> None:
        self.erp.close()
        self.agency.close()

    # -- time --------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The later of the two sides' clocks (each write moves a side's by a microsecond)."""
        return max(self.erp.now, self.agency.now)

    @property
    def clock(self) -> WorldClock:
        return WorldClock(self)

    @property
    def today(self) -> date:
        """The company's calendar day: the reminder flow counts local days (R1)."""
        return self.erp.today

    def midnight(self, day: date) -> datetime:
        """The instant ``day`` starts in the company's zone, in UTC."""
        return self.erp.midnight(day)

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward, running the nightly run at each local midnight crossed (the
        ERP's reminder flow, the agency's collection process and payouts) and the timed
        events that fall due. If a crash left one side behind the other, both reach the
        same time again."""
        self.run_until(delta)
        return self.now

    def run_until(self, delta: timedelta) -> list[Scheduled]:
        """``advance``, returning the timed events that ran, in the order of their times."""
        if delta < timedelta(0):
            raise UserError("the mock world's clock only moves forward")
        target = self.now + delta
        ran = self.erp.advance_to(target) + self.agency.advance_to(target)
        return sorted(ran, key=lambda s: s.at)

    # -- events --------------------------------------------------------------------------

    def side_for(self, event: Event) -> ErpWorld | AgencyWorld:
        if isinstance(event, Fault):
            return self._side_of(event.operation)
        return self.agency if event.kind in AGENCY_KINDS else self.erp

    def apply(self, event: Event) -> str:
        """Make ``event`` happen now; returns what changed. A refused event changes nothing."""
        if isinstance(event, AgencyReject):  # the agency side has not heard of it yet
            self.erp.invoice(event.invoice_no)  # a UserError naming an unknown invoice
        return self.side_for(event).apply(event)

    def schedule(self, event: Event, at: datetime) -> Scheduled:
        """Keep ``event`` in its side's file, to run when ``advance`` passes ``at``."""
        side = self.side_for(event)
        if isinstance(event, Fault):
            self._side_of(event.operation)  # an unknown operation is refused now
        scheduled: Scheduled = side.schedule(event, at)
        return scheduled

    def events(self) -> list[Scheduled]:
        """Every timed event of both sides, pending or run, in the order of their times."""
        return sorted(self.erp.events() + self.agency.events(), key=lambda s: s.at)

    # -- what spans both sides ---------------------------------------------------------------

    def add_customer(self, number: str, name: str, **fields: Any) -> MockCustomer:
        """A customer card in the ERP; ``behaviour``, ``pays_after_days`` and
        ``instalments`` go to the debtor's script at the agency."""
        script = {k: fields.pop(k) for k in SCRIPT_FIELDS & fields.keys()}
        build(DebtorScript, {"number": number, **script})  # refused before anything is made
        customer = self.erp.add_customer(number, name, **fields)
        if any(value is not None for value in script.values()):
            self.agency.set_debtor(number, **script)
        return customer

    def update_customer(self, number: str, **fields: Any) -> MockCustomer:
        """Edit the card (and the debtor's script, for its fields)."""
        script = {k: fields.pop(k) for k in SCRIPT_FIELDS & fields.keys()}
        customer = self.erp.update_customer(number, **fields) if fields or not script \
            else self.erp.customer(number)
        if script:
            self.agency.set_debtor(number, **script)
        return customer

    def inject(self, operation: str, times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with a TransientError."""
        side = self._side_of(operation)
        side.inject(operation, times)

    def trip(self, operation: str) -> None:
        self._side_of(operation).trip(operation)

    @property
    def faults(self) -> dict[str, int]:
        return {**self.erp.faults, **self.agency.faults}

    def _side_of(self, operation: str) -> ErpWorld | AgencyWorld:
        if operation in ERP_FAULTS:
            return self.erp
        if operation in AGENCY_FAULTS:
            return self.agency
        known = ", ".join(sorted(FAULT_OPERATIONS))
        raise UserError(f"no mock operation {operation!r} (known: {known})")

    def summary(self) -> dict[str, Any]:
        """Counts for ``connector mock show``."""
        pending = [s for s in self.events() if s.state == "pending"]
        return {"now": self.now.isoformat(), "today": self.today.isoformat(),
                **self.erp.summary(), **self.agency.summary(), "faults": self.faults,
                "events_pending": len(pending)}

    def snapshot(self) -> str:
        """Both sides' records as text: equal snapshots, equal worlds."""
        return self.erp.snapshot() + "\n" + self.agency.snapshot()
