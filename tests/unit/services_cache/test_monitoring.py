"""Metrics: private registries, provider call accounting, the timer and the text rendering."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from tunemeld.services.monitoring import Metrics, timed


class TestRegistry:
    """Each Metrics object owns its registry; the global default stays untouched."""

    def test_two_metrics_when_created_do_not_collide_or_share_counts(self) -> None:
        """A second object would raise 'Duplicated timeseries' on a shared registry."""
        first, second = Metrics(), Metrics()
        first.record_provider_call("spotify", "playlist", 200, units=0)
        labels = {"provider": "spotify", "endpoint": "playlist", "status": "200"}
        assert first.registry.get_sample_value("tunemeld_provider_calls_total", labels) == 1
        assert second.registry.get_sample_value("tunemeld_provider_calls_total", labels) is None

    def test_default_registry_when_metrics_used_has_no_tunemeld_series(self) -> None:
        """Nothing leaks into prometheus_client's process-global registry."""
        Metrics().api_requests.labels(route="/", method="GET", status="200").inc()
        names = {metric.name for metric in REGISTRY.collect()}
        assert not any(name.startswith("tunemeld") for name in names)

    def test_registry_when_given_is_used(self) -> None:
        """Callers may pass their own registry (for example to merge exports)."""
        registry = CollectorRegistry()
        assert Metrics(registry).registry is registry


class TestProviderCalls:
    """record_provider_call counts calls by status and spends quota units."""

    def test_calls_when_recorded_count_by_status_and_sum_units(self) -> None:
        """Statuses become strings; units add up per provider."""
        metrics = Metrics()
        metrics.record_provider_call("youtube", "videos.list", 200, units=1)
        metrics.record_provider_call("youtube", "search.list", 200, units=100)
        metrics.record_provider_call("youtube", "search.list", "timeout", units=0)
        get = metrics.registry.get_sample_value
        labels = {"provider": "youtube", "endpoint": "search.list", "status": "200"}
        assert get("tunemeld_provider_calls_total", labels) == 1
        timeout = {**labels, "status": "timeout"}
        assert get("tunemeld_provider_calls_total", timeout) == 1
        assert get("tunemeld_quota_units_total", {"provider": "youtube"}) == 101

    def test_negative_units_when_recorded_are_refused(self) -> None:
        """Quota is only ever spent."""
        with pytest.raises(ValueError, match="negative"):
            Metrics().record_provider_call("youtube", "search.list", 200, units=-1)


class TestTimed:
    """timed observes a block's wall time, also when it raises."""

    def test_block_when_timed_is_observed_once_with_labels(self) -> None:
        """One observation under the given labels."""
        metrics = Metrics()
        with timed(metrics.stage_seconds, stage="extract"):
            pass
        get = metrics.registry.get_sample_value
        assert get("tunemeld_stage_seconds_count", {"stage": "extract"}) == 1
        total = get("tunemeld_stage_seconds_sum", {"stage": "extract"})
        assert total is not None
        assert total >= 0

    def test_block_when_it_raises_is_still_observed_and_the_error_propagates(self) -> None:
        """Failed stages have durations too."""
        metrics = Metrics()

        def fail() -> None:
            raise KeyError("x")

        with pytest.raises(KeyError), timed(metrics.stage_seconds, stage="transform"):
            fail()
        count = metrics.registry.get_sample_value(
            "tunemeld_stage_seconds_count", {"stage": "transform"}
        )
        assert count == 1

    def test_unlabelled_histogram_when_timed_observes_directly(self) -> None:
        """Labels are optional."""
        registry = CollectorRegistry()
        histogram = Histogram("block_seconds", "A block.", registry=registry)
        with timed(histogram):
            pass
        assert registry.get_sample_value("block_seconds_count") == 1


class TestRender:
    """render gives the text exposition format and its content type."""

    def test_render_when_called_lists_recorded_series(self) -> None:
        """Bytes with the counter line, and Prometheus' content type."""
        metrics = Metrics()
        metrics.record_api_request("/graph-data/<genre>", "GET", 200, 0.002)
        metrics.etl_units.labels(stage="extract", status="ok").inc()
        metrics.provider_retries.labels(provider="spotify").inc()
        body, content_type = metrics.render()
        text = body.decode()
        assert content_type.startswith("text/plain")
        assert (
            'tunemeld_api_requests_total{method="GET",route="/graph-data/<genre>",status="200"} 1.0'
            in text
        )
        assert 'tunemeld_etl_units_total{stage="extract",status="ok"} 1.0' in text
        assert 'tunemeld_provider_retries_total{provider="spotify"} 1.0' in text
        assert (
            'tunemeld_api_latency_seconds_bucket{le="0.0025",route="/graph-data/<genre>"} 1.0'
            in text
        )
