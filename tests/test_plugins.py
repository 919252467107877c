"""The plugin platform: discovery, registration by name, hook tracing and the event hooks."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from connector import actions, hookimpl
from connector.bookkeeping import voucher_reference
from connector.errors import ConfigError
from connector.events import CaseClosed, CaseTransferred, ClaimEntered, ClaimMoved
from connector.ports import AdapterContext, Capability
from connector.registry import (
    TRACE_ENV,
    Register,
    Registry,
    Side,
    load_registry,
    plugin_manager,
)
from connector.store.db import Store
from connector_adapters.mock.agency import MockAgency
from connector_adapters.mock.erp import MockErp
from tests.support import Harness, new_world

BUILT_IN = f"collection-connector {version('collection-connector')}"


def test_entry_points_register_the_built_in_adapters() -> None:
    registry = load_registry()
    found = {(a.side, a.name): a for a in registry.all() if a.package == BUILT_IN}
    assert set(found) == {("erp", "mock"), ("agency", "mock"), ("erp", "poweroffice"),
                          ("agency", "kravia")}
    assert found["erp", "mock"].usable and found["agency", "mock"].usable
    poweroffice, kravia = found["erp", "poweroffice"], found["agency", "kravia"]
    assert poweroffice.usable and kravia.usable
    assert poweroffice.capabilities == {"status_writeback", "vouchers", "proposals",
                                        "write_offs"}
    assert kravia.capabilities == {"webhooks", "direct_payments", "credit_notes"}
    assert kravia.plugin == "connector_adapters.kravia.plugin"


@pytest.mark.parametrize(("side", "name", "keys"), [
    ("erp", "poweroffice", ("application_key", "client_key", "subscription_key")),
    ("agency", "kravia", ("api_token", "creditor_id"))])
def test_a_real_adapter_without_its_keys_names_them(
        side: Side, name: str, keys: tuple[str, ...], tmp_path: Path) -> None:
    factory = load_registry().get(side, name).factory
    with pytest.raises(ConfigError) as refused:
        factory({}, AdapterContext(link="acme", state_dir=tmp_path))
    assert all(f"{key}: Field required" in str(refused.value) for key in keys)


# -- a third party's plugin --------------------------------------------------------------------


def make_erp(settings: Mapping[str, Any], context: AdapterContext) -> MockErp:
    return MockErp(new_world())


def make_agency(settings: Mapping[str, Any], context: AdapterContext) -> MockAgency:
    return MockAgency(new_world(), capabilities=settings.get("capabilities", ()))


class ThirdParty:
    """What an installed distribution's entry-point module would hold."""

    @hookimpl
    def connector_register_adapters(self, register: Register) -> None:
        register.erp("ledgerly", make_erp, capabilities=[Capability.VOUCHERS],
                     summary="Ledgerly ERP")
        register.agency("letterbox", make_agency, summary="Files cases in a letterbox",
                        usable=False)


class Squatter:
    """Registers a name a built-in adapter has."""

    @hookimpl
    def connector_register_adapters(self, register: Register) -> None:
        register.agency("mock", make_agency)


def test_a_third_party_plugin_adds_adapters_by_name(tmp_path: Path) -> None:
    registry = Registry(plugin_manager(extra_plugins=(ThirdParty(),)))
    erp = registry.get("erp", "ledgerly")
    agency = registry.get("agency", "letterbox")
    assert (erp.factory, erp.capabilities, erp.summary, erp.usable) == (
        make_erp, {"vouchers"}, "Ledgerly ERP", True)
    assert (agency.factory, agency.usable, agency.plugin) == (make_agency, False, __name__)
    context = AdapterContext(link="acme", state_dir=tmp_path)
    built = agency.factory({"capabilities": ["pause"]}, context)
    assert built.capabilities == {Capability.PAUSE}
    assert registry.get("erp", "mock").usable  # the built-ins are still there


def test_two_plugins_registering_one_name_is_a_config_error_naming_both() -> None:
    with pytest.raises(ConfigError) as error:
        load_registry(extra_plugins=(Squatter(),))
    message = str(error.value)
    assert message.startswith("agency adapter 'mock' is registered twice: by ")
    assert "connector_adapters.mock.plugin" in message and __name__ in message


def test_an_unknown_adapter_name_lists_the_installed_ones() -> None:
    registry = load_registry(extra_plugins=(ThirdParty(),))
    with pytest.raises(ConfigError, match=r"no agency adapter named 'visma' is installed "
                                          r"\(installed: kravia, letterbox, mock\)"):
        registry.get("agency", "visma")


def test_trace_env_prints_every_hook_call(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(TRACE_ENV, raising=False)
    load_registry()
    assert capsys.readouterr().err == ""
    monkeypatch.setenv(TRACE_ENV, "1")
    load_registry()
    err = capsys.readouterr().err
    assert "connector_register_adapters [hook]" in err
    assert "finish connector_register_adapters" in err


# -- event hooks during a real sync --------------------------------------------------------------


class Recorder:
    """Records every event hook and holds back the invoices in ``veto``. Implementations may
    leave out arguments they do not use (``connector_veto_transfer`` here takes them all)."""

    def __init__(self, veto: set[str]) -> None:
        self.veto = veto
        self.events: list[ClaimMoved] = []
        self.vetoed: list[tuple[str, str, str]] = []
        self.payouts: list[tuple[str, dict[str, Any]]] = []

    @property
    def moved(self) -> list[tuple[str, str | None, str, str]]:
        return [(e.claim["invoice_no"], e.old, e.new, e.link) for e in self.events]

    @hookimpl
    def connector_claim_event(self, event: ClaimMoved) -> None:
        assert event.claim["state"] == event.new and event.claim["list"] == event.new_list
        self.events.append(event)

    @hookimpl
    def connector_veto_transfer(self, link: str, claim: dict[str, Any]) -> str | None:
        if claim["invoice_no"] not in self.veto:
            return None
        self.vetoed.append((claim["invoice_no"], claim["list"], link))
        return "credit check pending with sales"

    @hookimpl
    def connector_payout_booked(self, link: str, payout: dict[str, Any]) -> None:
        self.payouts.append((link, payout))


@pytest.fixture
def transferred(sqlite_store: Store) -> tuple[Harness, Recorder, str, str]:
    """Two claims approved and past the grace window: one transferred, one vetoed."""
    h = Harness(sqlite_store, new_world())
    h.customer("10", behaviour="full", pays_after_days=1)
    sent, held = h.invoice(due_in_days=-5), h.invoice(due_in_days=-5)
    recorder = Recorder(veto={held})
    h.pm.register(recorder)
    h.sync()
    actions.approve(h.ctx(), None)
    h.advance(hours=2)
    h.sync()
    return h, recorder, sent, held


def test_claim_moved_tells_each_list_change(
        transferred: tuple[Harness, Recorder, str, str]) -> None:
    _, recorder, sent, held = transferred
    assert recorder.moved == [
        (sent, None, "draft", "test"), (held, None, "draft", "test"),
        (sent, "draft", "approved", "test"), (held, "draft", "approved", "test"),
        (sent, "approved", "transferring", "test"), (sent, "transferring", "open", "test"),
    ]
    assert [type(e) for e in recorder.events] == [
        ClaimEntered, ClaimEntered, ClaimMoved, ClaimMoved, ClaimMoved, CaseTransferred]
    ids = [e.id for e in recorder.events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_veto_keeps_a_claim_in_approved_with_the_reason_as_obstacle(
        transferred: tuple[Harness, Recorder, str, str]) -> None:
    h, recorder, _, held = transferred
    assert recorder.vetoed == [(held, "approved", "test")]
    claim = h.claim(held)
    assert claim["list"] == "approved" and h.cases_for(held) == 0
    assert [o["message"] for o in claim["obstacles"]] == [
        "held by a plugin: credit check pending with sales"]


def test_case_transferred_names_the_agency_case(
        transferred: tuple[Harness, Recorder, str, str]) -> None:
    h, recorder, sent, _ = transferred
    case = h.world.agency.find_case(h.world.erp.invoice(sent).id)
    assert case is not None
    told = [e for e in recorder.events if isinstance(e, CaseTransferred)]
    assert [(e.claim["invoice_no"], e.new_list, e.claim["agency_case_id"])
            for e in told] == [(sent, "open", case.id)]


def test_payout_booked_after_the_agency_pays_out(
        transferred: tuple[Harness, Recorder, str, str]) -> None:
    """The debtor pays on case day 1; the agency pays out on the next Monday night."""
    h, recorder, sent, _ = transferred
    for _ in range(10):
        h.advance(days=1)
        h.sync()
        if recorder.payouts:
            break
    ((link, payout),) = recorder.payouts
    (agency_payout,) = h.world.agency.payouts.values()
    assert link == "test"
    assert payout["id"] == agency_payout.id and payout["state"] == "proposal"
    voucher = h.world.erp.find_voucher(voucher_reference(agency_payout.id))
    assert voucher is not None and payout["voucher_id"] == voucher.id
    assert {line["reference"] for line in payout["lines"]} == {h.world.erp.invoice(sent).id}
    assert (sent, "open", "archived", "test") in recorder.moved
    assert any(isinstance(e, CaseClosed) for e in recorder.events)
