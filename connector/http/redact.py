"""Secrets never reach a log line or an exception text: the HTTP kit's names for the one
redaction the whole connector uses (``connector.secrets``, ``connector.logs``).

Adapters register each secret value they hold (API keys, client keys, subscription keys,
and every token as it arrives) with :func:`register_secret`; :func:`redact` replaces any
registered value in a text with ``***``; :func:`redact_processor` does the same for any
structlog event (and masks fields named like secrets).
"""

from __future__ import annotations

from connector.logs import mask_secrets as redact_processor
from connector.secrets import MASK
from connector.secrets import remember as register_secret
from connector.secrets import scrub as redact

__all__ = ["MASK", "redact", "redact_processor", "register_secret"]
