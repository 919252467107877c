"""A request budget shared through the store: every process that uses one credential takes
its request slots from the same bucket, so several daemons together stay under the vendor's
limit (PowerOffice Go: 10 requests/s per subscription key, whoever sends them).

The bucket is the limiter's GCRA theoretical arrival time (``connector.http.limiter``), one
row per credential key, moved in one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``: the
database serialises the processes, and on PostgreSQL its clock is the one every machine
reads, so no two hosts' clocks need agree.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from connector.http.limiter import set_default_backend
from connector.store.db import Store

_POSTGRES = text("""
WITH now AS (SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8 AS s)
INSERT INTO request_budgets (key, tat) SELECT :key, s + :interval FROM now
ON CONFLICT (key) DO UPDATE
    SET tat = GREATEST(request_budgets.tat, (SELECT s FROM now)) + :interval
RETURNING tat, (SELECT s FROM now)
""")
_SQLITE = text("""
INSERT INTO request_budgets (key, tat) VALUES (:key, :now + :interval)
ON CONFLICT (key) DO UPDATE SET tat = max(request_budgets.tat, :now) + :interval
RETURNING tat, :now
""")


class StoreBudget:
    """A ``LimiterBackend`` whose buckets are rows of the store's ``request_budgets``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def reserve(self, key: str, interval: float, burst: int) -> float:
        postgres = self.store.dialect == "postgresql"
        with self.store.statement() as session:
            row = session.execute(_POSTGRES if postgres else _SQLITE,
                                  {"key": key, "interval": interval, "now": time.time()}).one()
        tat, now = float(row[0]), float(row[1])
        return max(0.0, tat - burst * interval - now)


def share_through(store: Store) -> None:
    """On PostgreSQL (where several processes may run), take every credential's request
    slots from the store from now on; SQLite has one daemon, whose memory is enough."""
    if store.dialect == "postgresql":
        set_default_backend(StoreBudget(store))
