"""A seeded, repeatable, realistic world: the same seed gives the same world, byte for byte.

Each kind of trouble the connector must handle is given a quota rather than left to chance,
so even a small world has at least one of each: every dunning setup, excluded customers,
missing address parts, businesses without an organisation number, customers whose reminders
are off (the user sends their invoices to collection by hand, R10), EUR invoices.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from connector.domain import Address, Company, DunningSetup, to_money
from connector_adapters.mock.collection import Behaviour
from connector_adapters.mock.norway import org_number
from connector_adapters.mock.world import World

COMPANY = Company(
    name="Fjellheim Elektro AS",
    dunning=DunningSetup(reminder=True, collection_notice=True),
)
"""The generated company: reminder then collection notice, the common Norwegian setup."""

_NONE = DunningSetup()
_SETUP_CYCLE: tuple[DunningSetup | None, ...] = (
    (None,) * 9
    + (_NONE,) * 2
    + (DunningSetup(reminder=True),) * 2
    + (DunningSetup(dunning_letter=True),) * 2
    + (DunningSetup(collection_notice=True),) * 2
    + (DunningSetup(dunning_letter=True, collection_notice=True),) * 2
    + (DunningSetup(reminder=True, dunning_letter=True, collection_notice=True),)
)
"""Per-customer overrides, one cycle of 20: None keeps the company's setup."""

_BEHAVIOUR_CYCLE: tuple[Behaviour, ...] = (
    (Behaviour.FULL,) * 7
    + (Behaviour.LATE,) * 4
    + (Behaviour.INSTALMENTS,) * 3
    + (Behaviour.PARTIAL,) * 2
    + (Behaviour.NEVER,) * 4
)
"""How debtors answer the agency, one cycle of 20; days and amounts are drawn per case."""

FIRST = ("Kari", "Ola", "Ingrid", "Lars", "Nora", "Jonas", "Emma", "Henrik", "Sofie", "Magnus",
         "Ida", "Anders", "Marit", "Per", "Silje", "Eirik", "Hanne", "Bjørn", "Liv", "Tor")
LAST = ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
        "Jensen", "Karlsen", "Berg", "Haugen", "Hagen", "Bakken", "Lie", "Dahl", "Solberg",
        "Moen", "Strand", "Ødegård")
PREFIX = ("Fjord", "Nordlys", "Fjell", "Vik", "Bre", "Havbris", "Skog", "Elve", "Midnatt",
          "Polar", "Tind", "Kyst", "Dal", "Sol", "Myr", "Furu", "Bjørke", "Lofot", "Trollheim",
          "Ask")
TRADE = ("kraft Rør", " Bygg", " Elektro", " Regnskap", " Transport", " Maling", " Rørlegger",
         " Snekkeri", " Consult", " Eiendom", " Data", " Catering", " Frisør", " Vekst",
         " Marine", " Trelast", " Auto", " Blikk", " Glass", " Mat")
LEGAL = ("AS",) * 8 + ("ANS", "DA")
STREETS = ("Storgata", "Kirkegata", "Dronningens gate", "Kongens gate", "Fjordveien",
           "Skolegata", "Parkveien", "Strandgata", "Torggata", "Bakkegata", "Sjøgata",
           "Nordre gate", "Havnegata", "Industriveien", "Løkkeveien", "Elvegata")
PLACES = (("0155", "Oslo"), ("0252", "Oslo"), ("0560", "Oslo"), ("5003", "Bergen"),
          ("5014", "Bergen"), ("7011", "Trondheim"), ("4006", "Stavanger"), ("9008", "Tromsø"),
          ("3015", "Drammen"), ("1606", "Fredrikstad"), ("4610", "Kristiansand"),
          ("2317", "Hamar"), ("8006", "Bodø"), ("6002", "Ålesund"), ("3110", "Tønsberg"),
          ("2815", "Gjøvik"), ("1530", "Moss"), ("3717", "Skien"), ("8300", "Svolvær"),
          ("9600", "Hammerfest"))
PAYMENT_TERMS = (10, 14, 14, 14, 14, 20, 30)
_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", " ": "", "-": ""})


def default_start() -> datetime:
    """08:00 today in Oslo: a seed then repeats within the day."""
    oslo = ZoneInfo("Europe/Oslo")
    return datetime.combine(datetime.now(oslo).date(), time(8), tzinfo=oslo).astimezone(UTC)


def generate_world(seed: int, customers: int = 60, start: datetime | None = None) -> World:
    """Customers with invoices issued over the past 60 days and up to 30 days ahead, a few
    long-forgotten unpaid ones, and a mix of debtor behaviours at the agency.

    Future invoices stay hidden from the ERP until their invoice date, so new invoices keep
    falling due as days pass. Letters the flow would already have sent are backdated.
    """
    rng = random.Random(seed)
    world = World.new(start or default_start(), COMPANY, seed=seed, last_invoice_no=100000)
    today = world.today
    setups = [_SETUP_CYCLE[i % len(_SETUP_CYCLE)] for i in range(customers)]
    rng.shuffle(setups)
    agency_rng = random.Random(f"{seed}/agency")  # apart, so the rest stays as it was
    behaviours = [_BEHAVIOUR_CYCLE[i % len(_BEHAVIOUR_CYCLE)] for i in range(customers)]
    agency_rng.shuffle(behaviours)
    persons = _pick(rng, customers, 0.4)
    excluded = _pick(rng, customers, 0.05)
    reminders_off = _pick(rng, customers, 0.03)
    eur = _pick(rng, customers, 0.02)
    missing = {part: _pick(rng, customers, 0.027) for part in ("line1", "postal_code", "city")}
    businesses = [i for i in range(customers) if i not in persons]
    no_org = {businesses[j] for j in _pick(rng, len(businesses), 0.05)} if businesses else set()
    for i in range(customers):
        number = str(10001 + i)
        name, email = _person(rng) if i in persons else _business(rng)
        world.add_customer(
            number, name, is_person=i in persons,
            organization_number=None if i in persons or i in no_org else _org_number(rng),
            email=email, phone=f"+47 9{rng.randrange(10**7):07d}",
            address=_address(rng, {part for part, who in missing.items() if i in who}),
            transfer_to_agency=i not in excluded, send_reminders=i not in reminders_off,
            dunning=setups[i], behaviour=behaviours[i],
        )
        for _ in range(rng.randint(1, 6)):
            _invoice(world, rng, number, today, "EUR" if i in eur else "NOK")
    collectable = [i for i in range(customers) if i not in excluded | eur]
    for i in _pick(agency_rng, len(collectable), 0.02) if collectable else ():
        _old_invoice(world, agency_rng, str(10001 + collectable[i]), today)
    world.erp.settle()
    return world


def _old_invoice(world: World, rng: random.Random, customer_no: str, today: date) -> None:
    """An unpaid invoice due 100 to 180 days ago: sent to collection, it carries the
    agency's commission (registered more than 90 days after its due date)."""
    due = today - timedelta(days=rng.randint(100, 180))
    amount = to_money(Decimal(rng.randint(800, 9000)))
    world.erp.add_invoice(customer_no, amount, invoice_date=due - timedelta(days=14), due_date=due)


def _pick(rng: random.Random, n: int, share: float) -> set[int]:
    """A quota of indexes: ``share`` of ``n``, at least one."""
    return set(rng.sample(range(n), min(n, max(1, round(n * share)))))


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first}.{last}".lower().translate(_FOLD) + "@example.no"


def _business(rng: random.Random) -> tuple[str, str]:
    stem = rng.choice(PREFIX) + rng.choice(TRADE)
    return f"{stem} {rng.choice(LEGAL)}", "post@" + stem.lower().translate(_FOLD) + ".example.no"


def _org_number(rng: random.Random) -> str:
    while True:
        found = org_number(f"{rng.choice('89')}{rng.randrange(10**7):07d}")
        if found is not None:
            return found


def _address(rng: random.Random, missing: set[str]) -> Address:
    postal_code, city = rng.choice(PLACES)
    parts = {
        "line1": f"{rng.choice(STREETS)} {rng.randint(1, 120)}{rng.choice(('',) * 5 + ('B',))}",
        "line2": rng.choice((None,) * 9 + (f"Postboks {rng.randint(10, 999)}",)),
        "postal_code": postal_code, "city": city, "country": "NO",
    }
    return Address(**{k: None if k in missing else v for k, v in parts.items()})


def _invoice(world: World, rng: random.Random, customer_no: str, today: date,
             currency: str) -> None:
    issued = today + timedelta(days=rng.randint(-60, 30))
    due = issued + timedelta(days=rng.choice(PAYMENT_TERMS))
    amount = to_money(Decimal(round(rng.lognormvariate(7.6, 0.9) * 2)) / 2 + 100)
    roll = rng.random()
    if (due < today and roll < 0.55) or (due >= today and roll < 0.15):
        balance = Decimal(0)
    elif due < today and roll < 0.65:
        balance = to_money(amount * Decimal(rng.choice((25, 50, 75))) / 100)
    else:
        balance = amount
    invoice = world.erp.add_invoice(customer_no, amount, invoice_date=issued, due_date=due,
                                balance=balance, currency=currency)
    if issued <= today and balance > 0 and rng.random() < 0.02:
        world.erp.credit(invoice.invoice_no,
                         balance if rng.random() < 0.5 else to_money(balance / 2))
    elif issued <= today and rng.random() < 0.005:
        world.erp.delete_invoice(invoice.invoice_no)
