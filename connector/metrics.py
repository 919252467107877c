"""Prometheus metrics (``prometheus_client``): what this process did, and the state of the
store read at each scrape.

Counters of the requests this process sent, per adapter (``service`` of the HTTP kit):
calls, errors, retries and 429 answers. Everything else is read from the store when
``/metrics`` is scraped, in a few grouped queries whatever the number of links, so every
daemon on one database shows the same figures: claims per list and link, jobs due, running
and dead, each link's last successful sync, its lag and its latest pass's outcome, and
payouts booked; only for the links configured now. When the store cannot be read the
scrape still answers, with ``connector_store_up`` 0 and this process's counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

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
log = structlog.get_logger(__name__)
BOOKED = ("booked", "marked")
"""Payout states past booking in the ERP (``connector.payouts``)."""


class StoreCollector(Collector):
    """The store's figures for the configured links, read when scraped. ``links`` names
    them (a link file removed drops out at the next scrape); ``wall`` is the clock of runs;
    ``world`` the clock jobs fall due by (the rules' clock)."""

    def __init__(self, store: Store, links: Callable[[], Iterable[str]],
                 wall: Callable[[], datetime], world: Callable[[], datetime]) -> None:
        self.store = store
        self.links = links
        self.wall = wall
        self.world = world

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("connector_store_up",
                               "1 when the store answered this scrape's reads, else 0.")
        try:
            families = self._read(set(self.links()))
        except SQLAlchemyError as exc:  # the store is down: say so, never its URL
            log.warning("metrics: the store cannot be read", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, configured: set[str]) -> list[Metric]:
        now, world_now = self.wall(), self.world()
        claims = GaugeMetricFamily("connector_claims", "Claims per list.", labels=["link", "list"])
        queue = GaugeMetricFamily("connector_jobs", "Jobs due now, running, and dead.",
                                  labels=["link", "state"])
        success = GaugeMetricFamily(
            "connector_sync_last_success_timestamp_seconds",
            "When the last pass of a link that ran to its end started (Unix time); 0 when "
            "none is on record.", labels=["link"])
        lag = GaugeMetricFamily("connector_sync_lag_seconds",
                                "Seconds since the last successful pass of a link started "
                                "(since 1970 when none is on record).", labels=["link"])
        outcome = GaugeMetricFamily(
            "connector_sync_last_outcome",
            "1 for the outcome of a link's latest pass (ok, failed: items failed, crashed, "
            "interrupted, running; none: no pass on record).", labels=["link", "outcome"])
        booked = GaugeMetricFamily("connector_payouts_booked",
                                   "Agency payouts booked in the ERP.", labels=["link"])
        with self.store.session() as session:
            for link, name, count in session.execute(
                    select(ClaimRow.link, ClaimRow.list_name, func.count())
                    .group_by(ClaimRow.link, ClaimRow.list_name)):
                if link in configured:
                    claims.add_metric([link, name], count)
            for state, where in (
                    ("due", (JobRow.state == jobs.JobState.QUEUED.value)
                     & (JobRow.run_after <= world_now)),
                    ("running", JobRow.state == jobs.JobState.RUNNING.value),
                    ("dead", JobRow.state == jobs.JobState.DEAD.value)):
                for link, count in session.execute(
                        select(JobRow.link, func.count()).where(where).group_by(JobRow.link)):
                    if link in configured:
                        queue.add_metric([link, state], count)
            last = {link: started for link, started in session.execute(
                select(SyncRunRow.link, func.max(SyncRunRow.started_at))
                .where(SyncRunRow.outcome.in_([runs.Outcome.OK.value,
                                               runs.Outcome.FAILED.value]))
                .group_by(SyncRunRow.link))}
            newest = (select(SyncRunRow.link, func.max(SyncRunRow.id).label("id"))
                      .group_by(SyncRunRow.link).subquery())
            latest = {link: ended for link, ended in session.execute(
                select(SyncRunRow.link, SyncRunRow.outcome)
                .join(newest, SyncRunRow.id == newest.c.id))}
            for link, count in session.execute(
                    select(PayoutRow.link, func.count()).where(PayoutRow.state.in_(BOOKED))
                    .group_by(PayoutRow.link)):
                if link in configured:
                    booked.add_metric([link], count)
        for link in sorted(configured):
            started = last.get(link)
            since = started.timestamp() if started is not None else 0.0
            success.add_metric([link], since)
            lag.add_metric([link], now.timestamp() - since)
            outcome.add_metric([link, latest.get(link, "none")], 1)
        return [claims, queue, success, lag, outcome, booked]


def exposition(store_registry: CollectorRegistry) -> bytes:
    """The text format: this process's counters, then the store's figures."""
    return generate_latest(PROCESS) + generate_latest(store_registry)
