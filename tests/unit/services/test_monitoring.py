"""Metrics: private registries, provider call accounting, the timer and the text rendering."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram

from tunemeld.models import Genre, RunReport, Stage, UnitResult, UnitStatus
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
            'tunemeld_api_latency_seconds_bucket{le="0.0025",route="/graph-data/<genre>",status="200"}'
            " 1.0" in text
        )


class TestTimedExtras:
    """timed also decorates functions and can log one line per block."""

    def test_function_when_decorated_is_timed_per_call(self) -> None:
        """Each call is one observation, even concurrent-safe (a fresh timer per call)."""
        metrics = Metrics()

        @timed(metrics.stage_seconds, stage="warm")
        def work(x: int) -> int:
            return x * 2

        assert work(2) == 4
        assert work(3) == 6
        count = metrics.registry.get_sample_value("tunemeld_stage_seconds_count", {"stage": "warm"})
        assert count == 2

    def test_event_when_given_is_logged_with_duration_and_labels(self) -> None:
        """One line with duration_ms, failed and the labels."""
        from structlog.testing import capture_logs

        metrics = Metrics()
        with capture_logs() as logs, timed(metrics.stage_seconds, event="stage_done", stage="x"):
            pass
        (line,) = logs
        assert line["event"] == "stage_done"
        assert line["stage"] == "x"
        assert line["failed"] is False
        assert line["duration_ms"] >= 0


class TestCountersAdded:
    """Retries, cache errors and bulk cache counts."""

    def test_retries_and_cache_counts_when_recorded_show_up(self) -> None:
        """Zero counts add nothing; others add up."""
        metrics = Metrics()
        metrics.record_retries({"Spotify": 2, "YouTube": 0})
        metrics.record_cache_request("lookups", hit=True, count=5)
        metrics.record_cache_request("lookups", hit=False, count=0)
        metrics.record_cache_error("cloudflare", "get")
        get = metrics.registry.get_sample_value
        assert get("tunemeld_provider_retries_total", {"provider": "Spotify"}) == 2
        assert get("tunemeld_provider_retries_total", {"provider": "YouTube"}) is None
        assert get("tunemeld_cache_requests_total", {"cache": "lookups", "result": "hit"}) == 5
        assert get("tunemeld_cache_requests_total", {"cache": "lookups", "result": "miss"}) is None
        errors = {"cache": "cloudflare", "operation": "get"}
        assert get("tunemeld_cache_errors_total", errors) == 1


class TestRunRecordGauges:
    """watch_runs turns the newest stored run into tunemeld_last_run_* gauges."""

    @staticmethod
    def report() -> RunReport:
        now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
        report = RunReport(
            run_id="run123",
            as_of=now.date(),
            started_at=now - timedelta(seconds=30),
            stages=[Stage.EXTRACT],
            genres=[Genre("pop")],
            services=[],
            statuses={"YouTube": {"videos": {"200": 3, "429": 1}}},
            quota_units={"YouTube": 3},
            retries={"YouTube": 1},
            cache={"lookups": {"hits": 7, "misses": 2}, "answers:memory": {"warmed": 28}},
            stage_seconds={"extract": 1.5},
        )
        report.units.append(
            UnitResult(
                stage=Stage.EXTRACT, genre=Genre("pop"), status=UnitStatus.OK, started_at=now
            )
        )
        report.finish(now)
        return report

    def test_newest_run_when_watched_is_exposed_at_scrape_time(self) -> None:
        """Calls by endpoint and status, quota, retries, cache use, stage time, units."""
        metrics = Metrics()
        current: list[RunReport | None] = [None]
        metrics.watch_runs(lambda: current[0])
        assert b"tunemeld_last_run" not in metrics.render()[0]
        current[0] = self.report()
        get = metrics.registry.get_sample_value
        calls = {"provider": "YouTube", "endpoint": "videos", "status": "429"}
        assert get("tunemeld_last_run_provider_calls", calls) == 1
        assert get("tunemeld_last_run_quota_units", {"provider": "YouTube"}) == 3
        assert get("tunemeld_last_run_retries", {"provider": "YouTube"}) == 1
        assert get("tunemeld_last_run_cache_requests", {"cache": "lookups", "result": "miss"}) == 2
        warmed = {"cache": "answers:memory", "operation": "warmed"}
        assert get("tunemeld_last_run_cache_operations", warmed) == 28
        assert get("tunemeld_last_run_stage_seconds", {"stage": "extract"}) == 1.5
        assert get("tunemeld_last_run_units", {"stage": "extract", "status": "ok"}) == 1
        info = {"run_id": "run123", "status": "ok", "as_of": "2026-11-24"}
        assert get("tunemeld_last_run_info", info) == 1
        assert get("tunemeld_last_run_duration_seconds") == 30

    def test_store_when_failing_at_scrape_time_gives_no_run_series_but_a_scrape(self) -> None:
        """The rest of /metrics still renders."""

        def broken() -> RunReport | None:
            raise RuntimeError("store down")

        metrics = Metrics()
        metrics.watch_runs(broken)
        metrics.record_api_request("/", "GET", 200, 0.001)
        body, _ = metrics.render()
        assert b"tunemeld_api_requests_total" in body
        assert b"tunemeld_last_run" not in body
