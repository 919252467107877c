"""What one sync pass did: counts, moves, transfers and the failures to show the user."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from connector.secrets import scrub


@dataclass(frozen=True)
class Failure:
    """An item that could not be handled; the rest of the pass went on."""

    resource: str
    key: str
    reason: str
    item: str = ""
    """The item as its users know it ("invoice 10042", "claim 7"), never an internal id."""


@dataclass
class SyncReport:
    link: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    pulled: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)
    """Claims that entered each list during the pass."""
    transferred: list[dict[str, Any]] = field(default_factory=list)
    """Claims that became agency cases (in a dry run: that would be sent now)."""
    blocked: list[dict[str, Any]] = field(default_factory=list)
    """Due claims kept in Approved by an obstacle (R7)."""
    failures: list[Failure] = field(default_factory=list)
    adopted: int = 0
    """Agency cases the store did not know, adopted as claims (an emptied, restored or
    replaced store: docs/guarantees.md)."""
    pending: dict[str, int] = field(default_factory=dict)
    """Jobs due now by kind, in a dry run: what a real pass would carry out."""

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, resource: str, key: str, reason: str, item: str = "") -> None:
        """Record a failure; its reason is printed, logged and stored, so it is scrubbed of
        every secret here, whatever the adapter put in its message."""
        self.failures.append(Failure(resource, key, scrub(reason), item or f"{resource} {key}"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "link": self.link,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "pulled": dict(self.pulled),
            "moved": dict(self.moved),
            "transferred": self.transferred,
            "blocked": self.blocked,
            "failures": [asdict(f) for f in self.failures],
            "adopted": self.adopted,
            "pending": self.pending,
            "ok": self.ok,
        }
