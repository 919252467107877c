"""Which setting and log-field names hold a secret: by their words, not by substrings."""

from __future__ import annotations

import pytest

from connector.logs import mask_secrets
from connector.secrets import MASK, is_secret


@pytest.mark.parametrize("name", [
    "client_key", "subscriptionKey", "Ocp-Apim-Subscription-Key", "applicationKey", "api_key",
    "apikey", "access_token", "webhook_secret", "password", "Authorization", "credentials"])
def test_names_of_secrets(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", [
    "key", "job_key", "idempotency_key", "monkey", "keyboard", "client_key_file", "link",
    "invoice_no", "store_url"])
def test_names_that_are_not_secrets(name: str) -> None:
    assert not is_secret(name)


def test_a_log_line_keeps_the_job_key_and_masks_the_client_key() -> None:
    """A failed job's key names what failed; masking it would hide the very thing to fix."""
    event = mask_secrets(None, "warning", {"event": "job failed", "key": "case:4711",
                                           "client_key": "ck-9f8e7d6c"})
    assert event["key"] == "case:4711" and event["client_key"] == MASK
