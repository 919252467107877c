"""Scenario files: the shipped examples load, and mistakes are named by file and field."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from connector.domain import LetterKind, NextAction
from connector.errors import ConfigError
from connector.ports import Capability
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.collection import Behaviour
from connector_adapters.mock.erp import MockErp
from connector_adapters.mock.scenario import load_scenario

SCENARIOS = Path(__file__).parents[2] / "config" / "scenarios"
HEAD = """
[world]
start = 2025-03-03T09:00:00+01:00

[company]
name = "Test AS"
dunning = { reminder = true }

[[customers]]
number = 1
name = "Kari Nordmann"
is_person = true
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["small.toml", "reminder-flow.toml", "way-back.toml"])
def test_shipped_scenarios_load(name: str) -> None:
    world = load_scenario(SCENARIOS / name)
    assert world.erp.customers and world.erp.invoices


def test_small_scenario_covers_each_case() -> None:
    world = load_scenario(SCENARIOS / "small.toml")
    customers = world.erp.customers.values()
    assert any(c.address.postal_code is None for c in customers)
    assert any(not c.is_person and not c.organization_number for c in customers)
    assert any(not c.transfer_to_agency for c in customers)
    assert any(i.currency == "EUR" for i in world.erp.invoices.values())
    (page,) = MockErp(world).invoices(None)
    assert [r.raw["invoice_no"] for r in page.rejected] == ["20010"]
    assert "19999" in {i.customer_no for i in page.items}
    assert "20009" not in {i.invoice_no for i in page.items}  # issued in five days


def test_relative_days_count_from_the_start_day(tmp_path: Path) -> None:
    world = load_scenario(write(tmp_path, """
        [[invoices]]
        invoice_no = "7"
        customer_no = 1
        due_in_days = -20
        amount = "100.50"
        """))
    invoice = world.erp.invoices["7"]
    assert invoice.due_date == "2025-02-11" and invoice.invoice_date == "2025-01-28"
    assert invoice.amount == Decimal("100.50")
    (letter,) = world.erp.letters_of(invoice)  # backfilled: reminder on due + 7
    assert (letter.kind, letter.sent_on) == (LetterKind.REMINDER, date(2025, 2, 18))
    assert invoice.next_action is NextAction.WAIT


def test_listed_letters_are_kept_and_backfill_can_be_off(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[invoices]]
        invoice_no = "7"
        customer_no = 1
        due_date = 2025-02-01
        amount = 100

        [[letters]]
        invoice_no = "7"
        kind = "reminder"
        sent_on = 2025-02-20
        due_in_days = 1
        """)
    path.write_text(path.read_text().replace("start = 2025-03-03T09:00:00+01:00",
                                             "start = 2025-03-03T09:00:00+01:00\nbackfill = false"))
    world = load_scenario(path)
    (letter,) = world.erp.letters
    assert letter.sent_on == date(2025, 2, 20) and letter.due_date == date(2025, 3, 4)
    world.advance(timedelta(days=3))
    assert world.erp.invoices["7"].next_action is NextAction.COLLECTION


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[invoices]]\ncustomer_no = 1\ndue_in_days = 1\namount = 12.5\n',
         "invoices[0].amount: Value error, money must be Decimal"),
        ('[[invoices]]\ncustomer_no = 2\ndue_in_days = 1\namount = 1\n',
         "invoices[0].customer_no: no customer 2"),
        ('[[invoices]]\ncustomer_no = 1\ndue_date = "2025-13-45"\namount = 1\n',
         "invoices[0].due_date: '2025-13-45' is not a date"),
        ('[[invoices]]\ncustomer_no = 1\namount = 1\n',
         "invoices[0]: give due_date or due_in_days"),
        ('[[invoices]]\ncustomer_no = 1\ndue_date = 2025-01-01\ndue_in_days = 1\namount = 1\n',
         "invoices[0].due_date: give due_date or due_in_days, not both"),
        ('[[invoices]]\ncustomer_no = 1\ndue_in_days = 1\namount = 1\ncolour = "red"\n',
         "invoices[0].colour: Extra inputs are not permitted"),
        ('[[customers]]\nnumber = 1\nname = "Again"\n',
         "customers[1].number: customer 1 is listed twice"),
        ('[[letters]]\ninvoice_no = "9"\nkind = "reminder"\nsent_in_days = -1\n',
         "letters[0].invoice_no: no invoice 9"),
        ('[[invoices]]\ninvoice_no = "9"\ncustomer_no = 1\ndue_in_days = -1\namount = 1\n'
         '[[letters]]\ninvoice_no = "9"\nkind = "reminder"\nsent_in_days = 2\n',
         "letters[0].sent_on: 2025-03-05 is after the start day"),
        ('[[letters]]\ninvoice_no = "9"\nkind = "postcard"\nsent_in_days = -1\n',
         "letters[0].kind: Input should be 'reminder'"),
        ('[[customers]]\nnumber = 2\nname = "B"\nbehaviour = "sometimes"\n',
         "customers[1].behaviour: Input should be 'full', 'partial', 'instalments', 'late' "
         "or 'never'"),
        ('[[customers]]\nnumber = 2\nname = "B"\nbehaviour = "full"\ninstalments = 3\n',
         'customers[1]: Value error, instalments is only for behaviour = "instalments"'),
        ('[[customers]]\nnumber = 2\nname = "B"\nbehaviour = "never"\npays_after_days = 3\n',
         'customers[1]: Value error, a debtor with behaviour = "never" has no pays_after_days'),
        ('[[customers]]\nnumber = 2\nname = "B"\npays_after_days = 3\n',
         "customers[1]: Value error, pays_after_days needs a behaviour"),
        ('[[customers]]\nnumber = 2\nname = "B"\nbehaviour = "late"\npays_after_days = 0\n',
         "customers[1].pays_after_days: Input should be greater than or equal to 1"),
    ],
)
def test_mistakes_are_named_by_file_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_start_needs_a_time_zone_and_the_company_a_known_one(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[world]\nstart = 2025-03-03T09:00:00\n[company]\nname = "X"\n'
                    'timezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    assert "world.start: Input should have timezone info" in str(error.value)
    assert "company.timezone: Value error, unknown time zone 'Mars/Olympus'" in str(error.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[world\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "mock.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    world = load_scenario(path)
    assert world.erp.invoices["20001"].kid == "10001200012"
    assert [letter.kind for letter in world.erp.letters] == [LetterKind.REMINDER]


def test_debtor_behaviour_and_agency_settings(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[customers]]
        number = 2
        name = "Vik Snekkeri AS"
        behaviour = "instalments"
        instalments = 4
        pays_after_days = 12
        """)
    path.write_text(path.read_text().replace(
        "start = 2025-03-03T09:00:00+01:00",
        'start = 2025-03-03T09:00:00+01:00\nagency_passes_fees = true\n'
        'agency_capabilities = ["direct_payments", "credit_notes"]'))
    world = load_scenario(path)
    debtor = world.agency.debtors["2"]
    assert (debtor.behaviour, debtor.instalments, debtor.pays_after_days) == (
        Behaviour.INSTALMENTS, 4, 12)
    assert "1" not in world.agency.debtors  # drawn from the seed per case
    assert world.agency.passes_fees
    assert MockAgency(world).capabilities == {Capability.DIRECT_PAYMENTS,
                                              Capability.CREDIT_NOTES}


def test_an_unknown_agency_capability_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    path.write_text(path.read_text().replace(
        "start = 2025-03-03T09:00:00+01:00",
        'start = 2025-03-03T09:00:00+01:00\nagency_capabilities = ["pause", "webhooks"]'))
    with pytest.raises(ConfigError, match=r"world\.agency_capabilities: Value error, the mock "
                                          "agency has no capability webhooks"):
        load_scenario(path)


def test_timed_events_wait_for_their_time(tmp_path: Path) -> None:
    path = write(tmp_path, """
        [[invoices]]
        invoice_no = "30001"
        customer_no = "1"
        due_in_days = 10
        amount = "500.00"

        [[events]]
        after = "1d2h"
        kind = "pay"
        invoice_no = "30001"
        amount = "100.00"

        [[events]]
        at = 2025-03-05
        kind = "agency-payout"
        """)
    world = load_scenario(path)
    assert [s.state for s in world.events()] == ["pending", "pending"]
    before = world.erp.invoice("30001").balance
    ran = world.run_until(timedelta(days=1, hours=2))
    assert [s.event.kind for s in ran] == ["pay"] and ran[0].state == "done"
    assert world.erp.invoice("30001").balance == before - Decimal("100.00")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[events]]\nafter = "1d"\nkind = "dance"\n', "events[0]"),
        ('[[events]]\nafter = "1d"\nkind = "pay"\ninvoice_no = "1"\namount = "1e999"\n',
         "events[0].amount"),
        ('[[events]]\nat = 2025-02-30\nkind = "agency-payout"\n', "not valid TOML"),
        ('[[events]]\nat = 2020-01-01T00:00:00Z\nkind = "agency-payout"\n', "events[0].at"),
        ('[[events]]\nkind = "agency-payout"\n', "give at"),
        ('[[events]]\nafter = "soon"\nkind = "agency-payout"\n', "events[0].after"),
        ('[[events]]\nafter = "1d"\nkind = "fault"\noperation = "erp.nope"\n', "no mock"),
        ('[[invoices]]\ncustomer_no = "1"\namount = 99999999999999999999999999999999\n'
         'due_in_days = 1\n', "invoices[0].amount"),
        ('[[invoices]]\ncustomer_no = "1"\namount = "10.00"\n'
         'due_in_days = 99999999999\n', "invoices[0].due_in_days"),
        ('[[letters]]\ninvoice_no = "1"\nkind = "reminder"\nsent_in_days = -99999999999\n',
         "letters[0].sent_in_days"),
        ('[[events]]\nafter = "1d"\nkind = "teleport"\n', "events[0].kind: Input tag"),
    ],
)
def test_bad_scenario_files_are_one_line_errors(tmp_path: Path, body: str,
                                                message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_scenario(write(tmp_path, body))
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_binary_content_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 20)
    with pytest.raises(ConfigError, match="not UTF-8 text") as refused:
        load_scenario(path)
    assert "\n" not in str(refused.value)
