"""Metrics: one prometheus_client registry per `Metrics` object, and a timer for blocks.

Each `Metrics` owns its registry (never the process-global default), so two apps, two test cases
or an ETL run beside the API never share or double-register counters.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = ["API_LATENCY_BUCKETS", "STAGE_BUCKETS", "Metrics", "timed"]

API_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Seconds: API answers are one cached read, so the interesting range is milliseconds."""

STAGE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
"""Seconds: an ETL stage takes from a fraction of a second (sample world) to many minutes."""


class Metrics:
    """TuneMeld's counters and histograms, registered in a registry of their own.

    Pass the same object to the cache, the HTTP layer, the ETL and the API so `/metrics` shows
    everything the process did.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, *, namespace: str = "tunemeld"
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        reg = self.registry
        self.provider_calls = Counter(
            "provider_calls",
            "Calls made to an external provider, by provider, endpoint and HTTP status.",
            ["provider", "endpoint", "status"],
            namespace=namespace,
            registry=reg,
        )
        self.quota_units = Counter(
            "quota_units",
            "Provider quota units spent.",
            ["provider"],
            namespace=namespace,
            registry=reg,
        )
        self.provider_retries = Counter(
            "provider_retries",
            "Provider calls retried after a transient failure.",
            ["provider"],
            namespace=namespace,
            registry=reg,
        )
        self.cache_requests = Counter(
            "cache_requests",
            "Answer cache lookups by cache backend and result (hit or miss).",
            ["cache", "result"],
            namespace=namespace,
            registry=reg,
        )
        self.stage_seconds = Histogram(
            "stage_seconds",
            "Wall time of ETL stages.",
            ["stage"],
            namespace=namespace,
            registry=reg,
            buckets=STAGE_BUCKETS,
        )
        self.etl_units = Counter(
            "etl_units",
            "ETL units finished, by stage and status.",
            ["stage", "status"],
            namespace=namespace,
            registry=reg,
        )
        self.api_requests = Counter(
            "api_requests",
            "API requests answered, by route rule, method and HTTP status.",
            ["route", "method", "status"],
            namespace=namespace,
            registry=reg,
        )
        self.api_latency = Histogram(
            "api_latency_seconds",
            "API request handling time by route rule.",
            ["route"],
            namespace=namespace,
            registry=reg,
            buckets=API_LATENCY_BUCKETS,
        )

    def record_provider_call(
        self, provider: str, endpoint: str, status: int | str, units: int
    ) -> None:
        """Count one provider call and the quota units it spent (0 for free calls)."""
        if units < 0:
            raise ValueError(f"quota units cannot be negative, got {units}")
        self.provider_calls.labels(provider=provider, endpoint=endpoint, status=str(status)).inc()
        self.quota_units.labels(provider=provider).inc(units)

    def record_cache_request(self, cache: str, *, hit: bool) -> None:
        """Count one cache lookup as a hit or a miss."""
        self.cache_requests.labels(cache=cache, result="hit" if hit else "miss").inc()

    def record_api_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one API answer and observe its latency, labelled by route rule (bounded)."""
        self.api_requests.labels(route=route, method=method, status=str(status)).inc()
        self.api_latency.labels(route=route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe the wall seconds of the block in `histogram` (with `labels`), even when it raises."""
    target = histogram.labels(**labels) if labels else histogram
    started = time.perf_counter()
    try:
        yield
    finally:
        target.observe(time.perf_counter() - started)
