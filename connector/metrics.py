"""Prometheus metrics (``prometheus_client``): what this process did, and the state of the
store read at each scrape.

Counters of the requests this process sent, per adapter (``service`` of the HTTP kit):
calls, errors, retries and 429 answers. Everything else is read from the store when
``/metrics`` is scraped, in a few grouped queries whatever the number of links, so every
daemon on one database shows the same figures: claims per list and link, jobs due, running
and dead, each link's last successful sync and its lag, and payouts booked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from connector import jobs, runs
from connector.store.db import Store
from connector.store.schema import ClaimRow, JobRow, PayoutRow, SyncRunRow

PROCESS = CollectorRegistry()
"""This process's counters; the store's figures are collected at each scrape."""
CALLS = Counter("connector_adapter_calls", "Requests sent to an ERP or agency.",
                ["adapter"], registry=PROCESS)
ERRORS = Counter("connector_adapter_errors", "Requests that failed: an error answer or no "
                 "answer at all.", ["adapter"], registry=PROCESS)
RETRIES = Counter("connector_adapter_retries", "Requests sent again after a failure.",
                  ["adapter"], registry=PROCESS)
RATE_LIMITED = Counter("connector_adapter_rate_limited", "429 Too Many Requests answers.",
                       ["adapter"], registry=PROCESS)
BOOKED = ("booked", "marked")
"""Payout states past booking in the ERP (``connector.payouts``)."""


class StoreCollector(Collector):
    """The store's figures, read when scraped. ``wall`` is the clock of runs; ``world``
    the clock jobs fall due by (the rules' clock)."""

    def __init__(self, store: Store, wall: Callable[[], datetime],
                 world: Callable[[], datetime]) -> None:
        self.store = store
        self.wall = wall
        self.world = world

    def collect(self) -> Iterator[Metric]:
        now, world_now = self.wall(), self.world()
        claims = GaugeMetricFamily("connector_claims", "Claims per list.", labels=["link", "list"])
        queue = GaugeMetricFamily("connector_jobs", "Jobs due now, running, and dead.",
                                  labels=["link", "state"])
        success = GaugeMetricFamily(
            "connector_sync_last_success_timestamp_seconds",
            "When the last pass of a link that ran to its end started (Unix time).",
            labels=["link"])
        lag = GaugeMetricFamily("connector_sync_lag_seconds",
                                "Seconds since the last successful pass of a link started.",
                                labels=["link"])
        booked = GaugeMetricFamily("connector_payouts_booked",
                                   "Agency payouts booked in the ERP.", labels=["link"])
        with self.store.session() as session:
            for link, name, count in session.execute(
                    select(ClaimRow.link, ClaimRow.list_name, func.count())
                    .group_by(ClaimRow.link, ClaimRow.list_name)):
                claims.add_metric([link, name], count)
            for state, where in (
                    ("due", (JobRow.state == jobs.JobState.QUEUED.value)
                     & (JobRow.run_after <= world_now)),
                    ("running", JobRow.state == jobs.JobState.RUNNING.value),
                    ("dead", JobRow.state == jobs.JobState.DEAD.value)):
                for link, count in session.execute(
                        select(JobRow.link, func.count()).where(where).group_by(JobRow.link)):
                    queue.add_metric([link, state], count)
            last = (select(SyncRunRow.link, func.max(SyncRunRow.started_at))
                    .where(SyncRunRow.outcome.in_([runs.Outcome.OK.value,
                                                   runs.Outcome.FAILED.value]))
                    .group_by(SyncRunRow.link))
            for link, started in session.execute(last):
                success.add_metric([link], started.timestamp())
                lag.add_metric([link], (now - started).total_seconds())
            for link, count in session.execute(
                    select(PayoutRow.link, func.count()).where(PayoutRow.state.in_(BOOKED))
                    .group_by(PayoutRow.link)):
                booked.add_metric([link], count)
        yield from (claims, queue, success, lag, booked)


def exposition(store_registry: CollectorRegistry) -> bytes:
    """The text format: this process's counters, then the store's figures."""
    return generate_latest(PROCESS) + generate_latest(store_registry)
