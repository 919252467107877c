"""Cassettes with no secret in them, for every HTTP adapter's tests.

A recorder scrubs before anything reaches disk: the credential headers, every known
secret in a request body, and the ``access_token`` of a token answer (as
``singer_sdk/testing`` does). The helpers read a cassette's traffic back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import vcr
from vcr.cassette import Cassette

SCRUBBED = "<scrubbed>"


def recorder(folder: Path, secrets: Callable[[], Iterable[str]], headers: Iterable[str],
             mode: str = "once") -> vcr.VCR:
    """A VCR writing to ``folder`` that masks ``headers`` and each of ``secrets()``."""

    def scrub_request(request: Any) -> Any:
        if request.body:
            text = request.body.decode() if isinstance(request.body, bytes) else request.body
            for secret in filter(None, secrets()):
                text = text.replace(secret, SCRUBBED)
            request.body = text.encode()
        return request

    return vcr.VCR(cassette_library_dir=str(folder), record_mode=mode,
                   match_on=["method", "path", "query"],
                   filter_headers=[(name, SCRUBBED) for name in headers],
                   before_record_request=scrub_request,
                   before_record_response=scrub_token)


def scrub_token(response: dict[str, Any]) -> dict[str, Any]:
    """Tokens never reach disk: ``access_token`` in a token answer is replaced."""
    body = response["body"]["string"]
    if b"access_token" in body:
        answer = json.loads(body)
        answer["access_token"] = SCRUBBED
        response["body"]["string"] = json.dumps(answer).encode()
    return response


def sent(cassette: Cassette, method: str, path: str) -> list[Any]:
    return [r for r in cassette.requests if r.method == method and r.path.endswith(path)]


def body(request: Any) -> dict[str, Any]:
    raw = request.body.decode() if isinstance(request.body, bytes) else request.body
    parsed: dict[str, Any] = json.loads(raw)
    return parsed
