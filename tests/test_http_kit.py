"""The HTTP kit: Decimal JSON, limiter, retries, error mapping, paging, tokens, redaction."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
import structlog

from connector.errors import AdapterError, ConfigError, TransientError
from connector.http import (
    AuthError,
    BearerTokenAuth,
    HttpClient,
    HttpError,
    InProcessBackend,
    RateLimited,
    RateLimiter,
    RetryPolicy,
    credential_key,
    jsonio,
    redact,
    redact_processor,
    register_secret,
    shared_limiter,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A fake server: answers from a script of responses, records the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(server: Handler, *, slept: list[float] | None = None,
           auth: httpx.Auth | None = None) -> HttpClient:
    sleeps = slept if slept is not None else []
    return HttpClient("Test API", "https://api.example.test/v1",
                      transport=httpx.MockTransport(server), auth=auth,
                      retry=RetryPolicy(attempts=4, backoff=0.01), sleep=sleeps.append)


# ------------------------------------------------------------------------ Decimal JSON


def test_json_numbers_become_decimal_and_are_written_back_exactly() -> None:
    body = jsonio.loads(b'{"Amount": 1250.10, "Tiny": 0.1, "Count": 3}')
    assert body == {"Amount": Decimal("1250.10"), "Tiny": Decimal("0.1"), "Count": 3}
    assert isinstance(body["Amount"], Decimal)
    assert jsonio.dumps({"Amount": Decimal("1250.10")}) == b'{"Amount":1250.10}'


def test_a_response_body_is_parsed_without_float() -> None:
    server = Recorder(httpx.Response(200, content=b'{"Balance": 0.30000000000000004}'))
    assert client(server).get_json("/x") == {"Balance": Decimal("0.30000000000000004")}


# ------------------------------------------------------------------------ the limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_spaces_requests_at_the_rate_after_the_burst() -> None:
    clock = FakeClock()
    backend = InProcessBackend(clock)
    waits = [backend.reserve("k", 0.1, 2) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.1, 0.2, 0.3])
    clock.now += 10  # a quiet spell refills the burst, no more
    assert [backend.reserve("k", 0.1, 2) for _ in range(3)] == pytest.approx([0, 0, 0.1])


def test_buckets_of_different_keys_do_not_share() -> None:
    backend = InProcessBackend(FakeClock())
    assert backend.reserve("a", 1.0, 1) == 0
    assert backend.reserve("b", 1.0, 1) == 0
    assert backend.reserve("a", 1.0, 1) == pytest.approx(1.0)


def test_one_limiter_per_credential_in_a_process() -> None:
    key = credential_key("svc", "subscription-key-1")
    assert "subscription-key-1" not in key
    first = shared_limiter(key, 10)
    assert shared_limiter(key, 5) is first
    assert shared_limiter(credential_key("svc", "subscription-key-2"), 10) is not first


def test_limiter_sleeps_what_the_backend_says() -> None:
    slept: list[float] = []
    limiter = RateLimiter("k", rate=4, burst=1, backend=InProcessBackend(FakeClock()),
                          sleep=slept.append)
    for _ in range(3):
        limiter.acquire()
    assert slept == pytest.approx([0.25, 0.5])


def test_every_request_takes_a_limiter_slot() -> None:
    taken: list[str] = []

    class Counting(InProcessBackend):
        def reserve(self, key: str, interval: float, burst: int) -> float:
            taken.append(key)
            return 0.0

    limiter = RateLimiter("svc:k", rate=10, backend=Counting())
    server = Recorder(httpx.Response(500), httpx.Response(200, json=[]))
    http = HttpClient("Test API", "https://api.example.test", limiter=limiter,
                      transport=httpx.MockTransport(server),
                      retry=RetryPolicy(backoff=0.01), sleep=lambda _: None)
    http.get_json("/x")
    assert taken == ["svc:k", "svc:k"]  # the retry counts against the limit too


# ------------------------------------------------------------------------ retries and errors


def test_a_500_then_success_is_retried() -> None:
    server = Recorder(httpx.Response(500), httpx.Response(200, json={"ok": True}))
    assert client(server).get_json("/x") == {"ok": True}
    assert len(server.requests) == 2


def test_429_honours_retry_after() -> None:
    slept: list[float] = []
    server = Recorder(httpx.Response(429, headers={"Retry-After": "3"}),
                      httpx.Response(200, json=[]))
    client(server, slept=slept).get_json("/x")
    assert slept == [3.0]


def test_429_without_retry_after_waits_at_least_a_second() -> None:
    slept: list[float] = []
    server = Recorder(httpx.Response(429), httpx.Response(429), httpx.Response(204))
    assert client(server, slept=slept).get_json("/x") is None
    assert len(slept) == 2 and all(s >= 1.0 for s in slept)


def test_429_that_persists_ends_as_a_transient_error() -> None:
    with pytest.raises(RateLimited) as raised:
        client(Recorder(httpx.Response(429))).get_json("/x")
    assert isinstance(raised.value, TransientError)


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_other_4xx_are_not_retried(status: int) -> None:
    server = Recorder(httpx.Response(status, json={"Title": "Bad thing", "Detail": "why"}))
    with pytest.raises(HttpError) as raised:
        client(server).get_json("/x")
    assert len(server.requests) == 1
    assert not isinstance(raised.value, TransientError | ConfigError)
    assert raised.value.status == status
    assert "Bad thing: why" in str(raised.value)


def test_problem_detail_keys_in_any_case() -> None:
    server = Recorder(httpx.Response(400, json={"title": "Lower", "detail": "case"}))
    with pytest.raises(HttpError, match="Lower: case"):
        client(server).get_json("/x")


@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_are_configuration_errors(status: int) -> None:
    server = Recorder(httpx.Response(status))
    with pytest.raises(AuthError) as raised:
        client(server).get_json("/x")
    assert isinstance(raised.value, ConfigError) and isinstance(raised.value, AdapterError)
    assert len(server.requests) == 1
    assert "keys" in str(raised.value)


def test_a_post_is_not_retried_after_a_5xx() -> None:
    server = Recorder(httpx.Response(502), httpx.Response(201, json={}))
    with pytest.raises(TransientError):
        client(server).send_json("POST", "/x", {"a": 1})
    assert len(server.requests) == 1  # it may have been carried out: the caller looks first


def test_a_post_is_retried_after_a_429() -> None:
    server = Recorder(httpx.Response(429), httpx.Response(201, json={"Id": 7}))
    assert client(server).send_json("POST", "/x", {"Amount": Decimal("1.50")}) == {"Id": 7}
    assert server.requests[1].content == b'{"Amount":1.50}'


def test_timeouts_are_retried_and_become_transient_errors() -> None:
    timeout = httpx.ReadTimeout("slow")
    server = Recorder(timeout, httpx.Response(200, json=[1]))
    assert client(server).get_json("/x") == [1]
    with pytest.raises(TransientError, match="timed out"):
        client(Recorder(timeout)).get_json("/x")


def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    server = Recorder(httpx.ConnectError("refused"), httpx.Response(201, json={}))
    client(server).send_json("POST", "/x", {})
    assert len(server.requests) == 2


def test_server_text_in_an_error_is_one_plain_line() -> None:
    server = Recorder(httpx.Response(400, json={"title": "evil\x1b[31m red\nline"}))
    with pytest.raises(HttpError) as raised:
        client(server).get_json("/x")
    assert "\x1b" not in str(raised.value) and "\n" not in str(raised.value)


# ------------------------------------------------------------------------ paging


@pytest.mark.parametrize(("total", "requests"), [(7, 3), (9, 4), (0, 1)])
def test_numbered_pages_stop_on_a_short_page_or_a_204(total: int, requests: int) -> None:
    seen: list[httpx.Request] = []
    rows = list(range(total))

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        number = int(request.url.params["PageNumber"])
        page = rows[(number - 1) * 3: number * 3]
        return httpx.Response(200, json=page) if page else httpx.Response(204)

    pages = list(client(answer).numbered_pages("/rows", {"OrderBy": "Id"}, 3))
    assert [row for page in pages for row in page] == rows
    assert len(seen) == requests
    assert all(r.url.params["OrderBy"] == "Id" for r in seen)


def test_x_pagination_without_a_next_link_ends_a_full_page() -> None:
    header = '{"nextPageLink": null, "currentPage": 1, "totalPages": 1}'
    server = Recorder(httpx.Response(200, json=[1, 2, 3], headers={"X-Pagination": header}))
    pages = list(client(server).numbered_pages("/rows", None, 3))
    assert pages == [[1, 2, 3]] and len(server.requests) == 1


# ------------------------------------------------------------------------ tokens


class Tokens(BearerTokenAuth):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__("Test API", renew_before=60, clock=clock)

    def token_request(self) -> httpx.Request:
        return httpx.Request("POST", "https://api.example.test/token",
                             data={"grant_type": "client_credentials"})


def token_server(issued: list[str], *, refuse: bool = False) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            if refuse:
                return httpx.Response(400, json={"error": "invalid_client",
                                                 "error_description": "unknown key"})
            issued.append(f"token-number-{len(issued)}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 1200})
        if request.headers["Authorization"] != f"Bearer {issued[-1]}":
            return httpx.Response(401)
        return httpx.Response(200, json=[])

    return answer


def test_a_token_is_reused_and_renewed_early() -> None:
    clock = FakeClock()
    issued: list[str] = []
    http = client(token_server(issued), auth=Tokens(clock))
    http.get_json("/a")
    http.get_json("/b")
    assert issued == ["token-number-0"]
    clock.now += 1200 - 59  # inside the renewal margin
    http.get_json("/c")
    assert issued == ["token-number-0", "token-number-1"]


def test_a_revoked_token_is_renewed_once_on_401() -> None:
    issued: list[str] = []
    auth = Tokens(FakeClock())
    http = client(token_server(issued), auth=auth)
    http.get_json("/a")
    issued.append("revoked-elsewhere")  # the server now wants a token we do not have
    http.get_json("/b")
    assert issued[-1] == "token-number-2"


def test_a_refused_token_request_is_a_configuration_error() -> None:
    http = client(token_server([], refuse=True), auth=Tokens(FakeClock()))
    with pytest.raises(AuthError, match="invalid_client: unknown key"):
        http.get_json("/a")


# ------------------------------------------------------------------------ redaction


def test_registered_secrets_are_masked_in_errors_and_logs() -> None:
    secret = "sk-test-9f8e7d6c5b4a"
    register_secret(secret)
    server = Recorder(httpx.Response(400, json={"Detail": f"key {secret} is unknown"}))
    with pytest.raises(HttpError) as raised:
        client(server).get_json("/x")
    assert secret not in str(raised.value) and "***" in str(raised.value)
    assert redact(f"a {secret} b") == "a *** b"
    with structlog.testing.capture_logs(processors=[redact_processor]) as logs:
        structlog.get_logger().warning("failed", error=raised.value, note=f"k={secret}")
    assert secret not in repr(logs)


def test_used_as_a_library_the_kit_prints_nothing_on_stdout_and_no_secret() -> None:
    """With logging left unconfigured by the host, a request's debug line must not reach
    stdout (a program's output), and nothing on stderr may carry the token."""
    import subprocess
    import sys

    code = (
        "import httpx\n"
        "from connector.http import HttpClient\n"
        "client = HttpClient('svc', 'https://api.example/v2', secrets=['tok-3141592653'],\n"
        "    transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[])))\n"
        "client.request('GET', '/items', params={'token': 'tok-3141592653'})\n"
        "print('done')\n"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert ran.stdout == "done\n"
    assert "tok-3141592653" not in ran.stderr
