"""Metrics: one prometheus_client registry per `Metrics` object, a timer, and run-record gauges.

Each `Metrics` owns its registry (never the process-global default), so two apps, two test cases
or an ETL run beside the API never share or double-register counters. An ETL run usually runs in
another process than the API, so `watch_runs` shows the newest stored run on `/metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ContextDecorator
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tunemeld.config._url import REDACTED
from tunemeld.services.logging import SecretRedactor

if TYPE_CHECKING:
    from tunemeld.models import RunReport

__all__ = [
    "API_LATENCY_BUCKETS",
    "MAX_LABEL_CACHE",
    "STAGE_BUCKETS",
    "Metrics",
    "RunRecordCollector",
    "timed",
]

log = structlog.get_logger()

API_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: API answers are one cached read, so the interesting range is milliseconds."""

MAX_LABEL_CACHE = 1024
"""Label sets whose prometheus children are kept at hand; beyond that, looked up each time."""

STAGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
"""Seconds: an ETL stage takes from a fraction of a second (sample world) to many minutes."""


class Metrics:
    """TuneMeld's counters and histograms in a registry of their own; share one per process."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, namespace: str = "tunemeld"
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.namespace = namespace
        counter = partial(Counter, namespace=namespace, registry=self.registry)
        histogram = partial(Histogram, namespace=namespace, registry=self.registry)
        self.provider_calls = counter(
            "provider_calls",
            "Calls made to an external provider, by provider, endpoint and HTTP status.",
            ["provider", "endpoint", "status"],
        )
        self.quota_units = counter("quota_units", "Provider quota units spent.", ["provider"])
        self.provider_retries = counter(
            "provider_retries", "Provider calls retried after a transient failure.", ["provider"]
        )
        self.cache_requests = counter(
            "cache_requests",
            "Cache lookups by cache (memory, cloudflare, none, lookups) and result (hit or miss).",
            ["cache", "result"],
        )
        self.cache_errors = counter(
            "cache_errors",
            "Cache operations that failed (the caller went on without the cache).",
            ["cache", "operation"],
        )
        self.stage_seconds = histogram(
            "stage_seconds", "Wall time of ETL stages.", ["stage"], buckets=STAGE_BUCKETS
        )
        self.etl_units = counter(
            "etl_units", "ETL units finished, by stage and status.", ["stage", "status"]
        )
        self.api_requests = counter(
            "api_requests",
            "API requests answered, by route rule, method and HTTP status.",
            ["route", "method", "status"],
        )
        self.api_latency = histogram(
            "api_latency_seconds",
            "API request handling time by route rule and HTTP status.",
            ["route", "status"],
            buckets=API_LATENCY_BUCKETS,
        )
        self._run_collector: RunRecordCollector | None = None
        # Children by label values: `labels()` validates and locks on every call, a dict does not.
        self._api_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._cache_children: dict[tuple[str, bool], Counter] = {}
        self._secrets: list[bytes] = []

    def hide(self, secrets: Iterable[str]) -> None:
        """Mask these values (the configured secrets) wherever a label carries one in `render`."""
        self._secrets = [secret.encode() for secret in SecretRedactor(secrets).secrets]

    def record_provider_call(
        self, provider: str, endpoint: str, status: int | str, units: int
    ) -> None:
        """Count one provider call and the quota units it spent (0 for free calls)."""
        if units < 0:
            raise ValueError(f"quota units cannot be negative, got {units}")
        self.provider_calls.labels(provider=provider, endpoint=endpoint, status=str(status)).inc()
        self.quota_units.labels(provider=provider).inc(units)

    def record_retries(self, retries: dict[str, int]) -> None:
        """Add a run's retries per provider (the HTTP layer counts them in the run's ledger)."""
        for provider, count in retries.items():
            if count > 0:
                self.provider_retries.labels(provider=provider).inc(count)

    def record_cache_request(self, cache: str, *, hit: bool, count: int = 1) -> None:
        """Count cache lookups as hits or misses."""
        if count <= 0:
            return
        child = self._cache_children.get((cache, hit))
        if child is None:
            child = self.cache_requests.labels(cache=cache, result="hit" if hit else "miss")
            if len(self._cache_children) < MAX_LABEL_CACHE:
                self._cache_children[(cache, hit)] = child
        child.inc(count)

    def record_cache_error(self, cache: str, operation: str) -> None:
        """Count one failed cache operation (get, set, delete, list...)."""
        self.cache_errors.labels(cache=cache, operation=operation).inc()

    def record_api_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one API answer and observe its latency, labelled by route rule (bounded)."""
        key = (route, method, status)
        children = self._api_children.get(key)
        if children is None:
            label = str(status)
            children = (
                self.api_requests.labels(route=route, method=method, status=label),
                self.api_latency.labels(route=route, status=label),
            )
            if len(self._api_children) < MAX_LABEL_CACHE:
                self._api_children[key] = children
        counter, latency = children
        counter.inc()
        latency.observe(seconds)

    def watch_runs(self, latest: Callable[[], RunReport | None]) -> None:
        """Expose the run record `latest()` returns (read at every scrape) as gauges; once."""
        if self._run_collector is not None:
            self.registry.unregister(self._run_collector)
        self._run_collector = RunRecordCollector(latest, namespace=self.namespace)
        self.registry.register(self._run_collector)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format (secrets masked), and its content type."""
        body = generate_latest(self.registry)
        for secret in self._secrets:
            body = body.replace(secret, REDACTED.encode())
        return body, CONTENT_TYPE_LATEST


_RESULTS = {"hits": "hit", "misses": "miss"}


class RunRecordCollector(Collector):
    """Gauges of the newest stored run record, whichever process ran it; a failing store yields
    no run series (and a warning), never a failed scrape."""

    def __init__(
        self, latest: Callable[[], RunReport | None], *, namespace: str = "tunemeld"
    ) -> None:
        self._latest = latest
        self._prefix = f"{namespace}_last_run"

    def describe(self) -> Iterable[Metric]:
        """Nothing up front: the series depend on the stored record (and reading it is I/O)."""
        return []

    def collect(self) -> Iterable[Metric]:
        """Read the newest run record and turn it into gauge families."""
        try:
            report = self._latest()
        except Exception as exc:  # a scrape must not fail because the store is down
            log.warning("run_metrics_unavailable", error_type=type(exc).__name__)
            return []
        if report is None:
            return []
        return list(self._families(report))

    def _gauge(self, name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{self._prefix}_{name}", doc, labels=labels)

    def _families(self, report: RunReport) -> Iterator[Metric]:
        info = self._gauge("info", "The newest ETL run (value 1).", ["run_id", "status", "as_of"])
        info.add_metric([report.run_id, report.status.value, report.as_of.isoformat()], 1.0)
        yield info
        if report.finished_at is not None:
            finished = self._gauge(
                "finished_timestamp_seconds", "When the newest ETL run ended (Unix time).", []
            )
            finished.add_metric([], report.finished_at.timestamp())
            yield finished
        duration = self._gauge("duration_seconds", "Wall time of the newest ETL run.", [])
        duration.add_metric([], report.duration_ms / 1000)
        yield duration

        calls = self._gauge(
            "provider_calls",
            "Provider calls of the newest ETL run, by provider, endpoint and status.",
            ["provider", "endpoint", "status"],
        )
        for provider, endpoints in sorted(report.statuses.items()):
            for endpoint, outcomes in sorted(endpoints.items()):
                for status, count in sorted(outcomes.items()):
                    calls.add_metric([provider, endpoint, status], float(count))
        yield calls
        yield self._simple(
            "quota_units", "Quota units the newest run spent.", "provider", report.quota_units
        )
        yield self._simple(
            "retries", "Provider retries in the newest run.", "provider", report.retries
        )
        yield self._simple(
            "stage_seconds", "Seconds per stage in the newest run.", "stage", report.stage_seconds
        )
        yield self._simple(
            "deferred", "Lookups deferred to a later run, by bucket.", "bucket", report.deferred
        )
        lookups = self._gauge(
            "cache_requests", "Cache hits and misses in the newest run.", ["cache", "result"]
        )
        operations = self._gauge(
            "cache_operations",
            "Other cache work of the newest run (answers warmed, keys removed).",
            ["cache", "operation"],
        )
        for cache, counts in sorted(report.cache.items()):
            for key, count in sorted(counts.items()):
                if key in _RESULTS:
                    lookups.add_metric([cache, _RESULTS[key]], float(count))
                else:
                    operations.add_metric([cache, key], float(count))
        yield lookups
        yield operations
        units = self._gauge(
            "units", "Units of the newest run by stage and status.", ["stage", "status"]
        )
        tally: dict[tuple[str, str], int] = {}
        for unit in report.units:
            label = (unit.stage.value, unit.status.value)
            tally[label] = tally.get(label, 0) + 1
        for (stage, status), count in sorted(tally.items()):
            units.add_metric([stage, status], float(count))
        yield units

    def _simple(
        self, name: str, doc: str, label: str, values: dict[str, int] | dict[str, float]
    ) -> GaugeMetricFamily:
        family = self._gauge(name, doc, [label])
        for key, value in sorted(values.items()):
            family.add_metric([key], float(value))
        return family


class timed(ContextDecorator):  # noqa: N801 - used like a function: `with timed(...)`
    """Observe the wall seconds of a block or a decorated call in `histogram`, even when it
    raises; with `event`, also log one line with `duration_ms`, `failed` and the labels."""

    def __init__(self, histogram: Histogram, *, event: str | None = None, **labels: str) -> None:
        self._histogram = histogram
        self._event = event
        self._labels = labels
        self._started = 0.0
        self.seconds = 0.0
        """The last measured duration."""

    def _recreate_cm(self) -> timed:
        # A fresh timer per decorated call, so concurrent calls never share a start time.
        return timed(self._histogram, event=self._event, **self._labels)

    def __enter__(self) -> timed:
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        target = self._histogram.labels(**self._labels) if self._labels else self._histogram
        target.observe(self.seconds)
        if self._event is not None:
            log.info(
                self._event,
                duration_ms=round(self.seconds * 1000, 3),
                failed=exc is not None,
                **self._labels,
            )
