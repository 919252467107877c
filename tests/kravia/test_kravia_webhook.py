"""Kravia's webhook: signed deliveries only mark a case to fetch; everything else is a 401."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from connector.config import AdapterSettings, LinkSettings
from connector.http import jsonio
from connector.http.asgi import in_process
from connector_adapters.kravia import guesses, wire
from connector_adapters.kravia.emulator import signed_event
from connector_adapters.kravia.plugin import connector_register_routes
from connector_adapters.kravia.webhook import Verifier, marks_for, receiver
from tests.kravia.conftest import WEBHOOK_SECRET, Creditor

PATH = "/webhooks/kravia/test"


def client_for(kravia: Creditor, tolerance: timedelta = timedelta(minutes=5)) -> httpx.Client:
    verifier = Verifier(WEBHOOK_SECRET, kravia.world.clock.now, tolerance)
    app = Starlette(routes=[receiver(PATH, verifier, kravia.marks, "test")])
    return httpx.Client(transport=in_process(app), base_url="http://receiver")


def two_cases(kravia: Creditor) -> tuple[int, int]:
    first = kravia.agency.register_case(kravia.request("4711"))
    second = kravia.agency.register_case(kravia.request("4712"))
    return int(first.id), int(second.id)


def details_fetched(kravia: Creditor) -> list[str]:
    return [path.rsplit("/", 2)[-2] for op, path in kravia.emulator.requests if op == "details"]


def now_stamp(kravia: Creditor) -> int:
    return int(kravia.world.now.timestamp())


def test_a_valid_delivery_fetches_that_case_only(kravia: Creditor) -> None:
    _first, second = two_cases(kravia)
    cursor = kravia.world.now  # polling has seen both cases already
    kravia.world.advance(timedelta(minutes=1))
    answer = client_for(kravia).post(PATH, content=signed_event(second, now_stamp(kravia),
                                                                WEBHOOK_SECRET))
    assert answer.status_code == 200
    kravia.emulator.requests.clear()
    updates = [u for page in kravia.agency.changes(cursor) for u in page.items]
    assert [u.case_id for u in updates] == [str(second)]
    assert details_fetched(kravia) == [str(second)]
    assert kravia.emulator.count("search") == 1  # polling goes on beside the webhook


def tampered(body: bytes, **data: object) -> bytes:
    event = jsonio.loads(body)
    event["data"].update(data)
    return jsonio.dumps(event)


@pytest.mark.parametrize("case", ["missing", "wrong secret", "tampered", "no signature",
                                  "not json", "other algorithm", "stale", "future",
                                  "replayed"])
def test_a_bad_delivery_is_refused_with_401_and_changes_nothing(kravia: Creditor,
                                                                 case: str) -> None:
    first, _ = two_cases(kravia)
    client = client_for(kravia)
    stamp = now_stamp(kravia)
    good = signed_event(first, stamp, WEBHOOK_SECRET)
    bodies = {
        "missing": b"",
        "wrong secret": signed_event(first, stamp, "not-the-secret"),
        "tampered": tampered(good, claimId=first + 1),
        "no signature": jsonio.dumps({k: v for k, v in jsonio.loads(good).items()
                                      if k != "signature"}),
        "not json": b"\x00\x01 signature",
        "other algorithm": jsonio.dumps({**jsonio.loads(good), "header": {"algorithm": "SHA1"}}),
        "stale": signed_event(first, stamp - 6 * 60, WEBHOOK_SECRET),
        "future": signed_event(first, stamp + 6 * 60, WEBHOOK_SECRET),
    }
    if case == "replayed":
        assert client.post(PATH, content=good).status_code == 200
        kravia.marks.take()
        body = good
    else:
        body = bodies[case]
    before = kravia.world.snapshot()
    kravia.emulator.requests.clear()
    answer = client.post(PATH, content=body)
    assert answer.status_code == 401
    assert answer.json() == {"error": "refused"}  # no hint for whoever tries
    assert len(kravia.marks) == 0
    assert kravia.world.snapshot() == before
    assert kravia.emulator.requests == []


def test_a_storm_for_one_case_is_one_fetch_per_pass(kravia: Creditor) -> None:
    first, _ = two_cases(kravia)
    cursor = kravia.world.now
    client = client_for(kravia, tolerance=timedelta(hours=1))
    stamp = now_stamp(kravia)
    kravia.emulator.requests.clear()
    codes = {client.post(PATH, content=signed_event(first, stamp - n, WEBHOOK_SECRET)
                         ).status_code for n in range(1000)}
    assert codes == {200}
    list(kravia.agency.changes(cursor))
    assert details_fetched(kravia) == [str(first)]
    kravia.emulator.requests.clear()  # the next pass: nothing marked, nothing changed
    list(kravia.agency.changes(cursor))
    assert details_fetched(kravia) == []


def test_the_emulator_signs_deliveries_the_receiver_accepts_and_refuses_their_repeats(
        kravia: Creditor) -> None:
    client = client_for(kravia)
    kravia.emulator.webhooks[kravia.emulator.creditor_id] = wire.WebhookConfig(
        secret=WEBHOOK_SECRET, enabled=True, url=f"http://receiver{PATH}")

    def send(url: str, body: bytes) -> int:
        return client.post(url.removeprefix("http://receiver"), content=body).status_code

    first, second = two_cases(kravia)
    kravia.emulator.deliveries.duplicate = True
    kravia.emulator.deliveries.out_of_order = True
    assert kravia.emulator.deliver(send) == [200, 401, 200, 401]  # the copies are replays
    assert kravia.marks.take() == [str(second), str(first)]
    kravia.emulator.deliveries.duplicate = False
    kravia.emulator.deliveries.replay = True
    kravia.world.advance(timedelta(days=2))  # the agency's nightly run changes both cases
    codes = kravia.emulator.deliver(send)
    assert codes[:2] == [200, 200] and set(codes[2:]) == {401}
    assert set(kravia.marks.take()) == {str(first), str(second)}


def test_the_signature_guess_reproduces_the_documented_shape() -> None:
    data = {"timestamp": 1663063069, "eventType": "CaseUpdate", "claimId": 123443}
    digest = guesses.signature(data, "SOME_SECRET")
    assert len(digest) == 32 and int(digest, 16) >= 0  # an MD5 hex digest, as the example
    assert digest != guesses.signature({**data, "claimId": 123444}, "SOME_SECRET")
    assert digest != guesses.signature(data, "OTHER_SECRET")


@dataclass
class Listener:
    """The daemon listener's side of ``connector_register_routes``, as the daemon offers it."""

    configured: list[LinkSettings]
    mounted: list[Route] = field(default_factory=list)
    woken: list[str] = field(default_factory=list)

    def add(self, path: str, endpoint: Any, methods: Sequence[str] = ("POST",)) -> None:
        self.mounted.append(Route(path, endpoint, methods=list(methods)))

    def links(self, agency: str | None = None, erp: str | None = None) -> list[LinkSettings]:
        return [link for link in self.configured if agency in (None, link.agency.adapter)]

    def wake(self, link: str) -> None:
        self.woken.append(link)


def link(name: str, **agency: Any) -> LinkSettings:
    return LinkSettings(name=name, erp=AdapterSettings(adapter="mock"),
                        agency=AdapterSettings(adapter="kravia", api_token="t0ken-x",
                                               creditor_id=1, **agency))


def test_the_plugin_mounts_one_url_per_link_and_wakes_the_link(kravia: Creditor) -> None:
    listener = Listener([link("acme", webhook_secret=WEBHOOK_SECRET), link("bare")])
    connector_register_routes(routes=listener)
    client = httpx.Client(transport=in_process(Starlette(routes=listener.mounted)),
                          base_url="http://daemon")
    stamp = int(datetime.now(UTC).timestamp())
    good = signed_event(31, stamp, WEBHOOK_SECRET)
    assert client.post("/webhooks/kravia/acme", content=good).status_code == 200
    assert listener.woken == ["acme"] and marks_for("acme").take() == ["31"]
    for other in ("bare", "nobody"):  # no secret, or no such link: refused, nothing marked
        assert client.post(f"/webhooks/kravia/{other}", content=good).status_code == 401
        assert len(marks_for(other)) == 0
    assert listener.woken == ["acme"]
