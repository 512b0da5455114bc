"""Observability end to end in one process: metrics after an ETL run and API calls, the run
record's metrics, structured request logs with ids, the ETL refreshing a shared cache, and no
secret in any log line, health output, metrics body or error body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.integration.kv_standin import ACCOUNT, NAMESPACE, TOKEN, KVStandIn, base_url
from tunemeld import etl
from tunemeld.api import create_app, start_background_server
from tunemeld.api.check import route_paths
from tunemeld.config import Settings
from tunemeld.models import Genre, RunReport
from tunemeld.services.cache import MemoryCache, open_cache, view_cache_key
from tunemeld.services.logging import close_log_file
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore

DAY1 = date(2026, 11, 24)
DAY2 = date(2026, 11, 25)
SECRETS = {
    "rapidapi_key": "rk-obs-SECRET-51f0",
    "spotify_client_id": "spid-obs-SECRET-77c1",
    "spotify_client_secret": "spsec-obs-SECRET-2e9d",
    "youtube_api_key": "yt-obs-SECRET-a0b4",
}


@pytest.fixture(autouse=True)
def _close_log_file() -> Iterator[None]:
    yield
    close_log_file()


@pytest.fixture(name="db")
def _db(settings: Settings) -> Iterator[SQLiteStore]:
    store = SQLiteStore.from_url(settings.database.url)
    store.init()
    yield store
    store.close()


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def total(metrics: Metrics, name: str) -> float:
    return sum(
        s.value for family in metrics.registry.collect() for s in family.samples if s.name == name
    )


@pytest.fixture(scope="module", name="ran")
def _ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunReport, Metrics, Path]:
    """One sample-world run of two genres with metrics and a memory cache passed in."""
    folder = tmp_path_factory.mktemp("obs")
    settings = Settings(
        _env_file=None,
        database={"url": f"sqlite:///{folder / 'obs.db'}"},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )
    metrics = Metrics()
    cache = MemoryCache(metrics=metrics)
    report = etl.run(settings, genres=["pop", "rap"], as_of=DAY1, metrics=metrics, cache=cache)
    return report, metrics, folder / "obs.db"


class TestMetricsAfterARun:
    def test_run_when_finished_counts_provider_calls_units_stages_and_lookups(
        self, ran: tuple[RunReport, Metrics, Path]
    ) -> None:
        report, metrics, _ = ran
        assert report.ok
        calls = total(metrics, "tunemeld_provider_calls_total")
        assert calls > 0
        assert calls == sum(sum(e.values()) for e in report.calls.values())
        assert sample(metrics, "tunemeld_etl_units_total", stage="extract", status="ok") == 6
        assert sample(metrics, "tunemeld_stage_seconds_count", stage="view_count") == 2
        lookups = total(metrics, "tunemeld_cache_requests_total")
        assert lookups >= report.cache["lookups"]["hits"] + report.cache["lookups"]["misses"]

    def test_run_record_when_stored_holds_its_metrics_and_the_cache_refresh(
        self, ran: tuple[RunReport, Metrics, Path]
    ) -> None:
        report, _, path = ran
        store = SQLiteStore.from_url(f"sqlite:///{path}")
        try:
            stored = store.get_run(report.run_id)
        finally:
            store.close()
        assert stored is not None
        assert stored.calls == report.calls
        assert set(stored.stage_seconds) == {"extract", "transform", "aggregate", "view_count"}
        assert stored.cache["answers:memory"] == {"warmed": 16, "removed": 0}
        assert "lookups" in stored.cache

    def test_api_metrics_when_scraped_show_the_last_run_cache_hits_and_latency(
        self, ran: tuple[RunReport, Metrics, Path], settings: Settings
    ) -> None:
        """The API process has its own metrics; the ETL's come from the stored run record."""
        report, _, path = ran
        store = SQLiteStore.from_url(f"sqlite:///{path}")
        api_metrics = Metrics()
        cache = MemoryCache(metrics=api_metrics)
        try:
            app = create_app(settings, store, cache, metrics=api_metrics)
            with start_background_server(app) as server, requests.Session() as http:
                for _ in range(2):
                    assert http.get(server.url + "/graph-data/pop", timeout=5).status_code == 200
                assert http.get(server.url + "/graph-data/jazz", timeout=5).status_code == 404
                text = http.get(server.url + "/metrics", timeout=5).text
        finally:
            store.close()
        calls = [
            line
            for line in text.splitlines()
            if line.startswith("tunemeld_last_run_provider_calls{")
        ]
        assert calls
        assert sum(float(line.rsplit(" ", 1)[1]) for line in calls) == sum(
            sum(e.values()) for e in report.calls.values()
        )
        assert 'tunemeld_cache_requests_total{cache="memory",result="hit"} 1.0' in text
        assert (
            'tunemeld_api_latency_seconds_count{route="/graph-data/<genre>",status="200"} 2.0'
            in text
        )
        assert (
            'tunemeld_api_latency_seconds_count{route="/graph-data/<genre>",status="404"} 1.0'
            in text
        )
        assert f'run_id="{report.run_id}"' in text


class TestRequestLogs:
    def test_api_events_when_logged_to_a_file_are_json_with_the_request_id(
        self, settings: Settings, db: SQLiteStore, tmp_path: Path
    ) -> None:
        path = tmp_path / "api.log"
        logging = settings.logging.model_copy(update={"file": path})
        settings = settings.model_copy(update={"logging": logging})
        app = create_app(settings, db, MemoryCache())
        with start_background_server(app) as server:
            given = requests.get(server.url + "/", headers={"X-Request-ID": "obs-1"}, timeout=5)
            fresh = requests.get(server.url + "/health", timeout=5)
        close_log_file()
        text = path.read_text()
        events = [json.loads(line) for line in text.splitlines()]
        wanted = {"obs-1", fresh.headers["X-Request-ID"]}
        # Only this test's requests: other threads of the process may log into the file too.
        handled = [
            e
            for e in events
            if e["event"] == "api_request_handled" and e.get("request_id") in wanted
        ]
        assert [e["request_id"] for e in handled] == ["obs-1", fresh.headers["X-Request-ID"]], text
        assert given.headers["X-Request-ID"] == "obs-1"
        assert len(fresh.headers["X-Request-ID"]) == 32
        assert all({"route", "status", "duration_ms", "timestamp"} <= set(e) for e in handled)


class TestSharedCacheRefresh:
    def test_etl_run_when_done_updates_a_shared_kv_so_another_api_sees_new_data_at_once(
        self, settings: Settings, db: SQLiteStore
    ) -> None:
        """The ETL and the API use separate cache objects on one KV namespace (two processes)."""
        kv = KVStandIn()
        with kv.serve() as kv_server:
            cache_cfg = {
                "backend": "cloudflare",
                "cloudflare_account_id": ACCOUNT,
                "cloudflare_namespace_id": NAMESPACE,
                "cloudflare_api_token": TOKEN,
                "cloudflare_base_url": base_url(kv_server),
            }
            shared = Settings(
                _env_file=None,
                database={"url": settings.database.url},
                providers={
                    "mode": "sample",
                    "backoff_initial": 0.0,
                    "backoff_max": 0.0,
                    "buckets": {"youtube_search": {"limit": 10_000}},
                },
                cache=cache_cfg,
            )
            first_run = etl.run(shared, genres=["pop"], as_of=DAY1, store=db)
            api_metrics = Metrics()
            api_cache = open_cache(shared, metrics=api_metrics)
            try:
                app = create_app(shared, db, api_cache, metrics=api_metrics)
                with start_background_server(app) as server:
                    first = requests.get(server.url + "/last-updated/pop", timeout=5).json()
                    second_run = etl.run(shared, genres=["pop"], as_of=DAY2, store=db)
                    second = requests.get(server.url + "/last-updated/pop", timeout=5).json()
            finally:
                api_cache.close()
        for run in (first_run, second_run):
            assert run.ok, run.units
            assert run.cache["answers:cloudflare"] == {"warmed": 8, "removed": 0}
        assert first["data"]["last_updated"].startswith("2026-11-24")
        assert second["data"]["last_updated"].startswith("2026-11-25")
        hits = sample(
            api_metrics, "tunemeld_cache_requests_total", cache="cloudflare", result="hit"
        )
        assert hits == 2  # both answers came from KV, written there by the ETL
        assert "tunemeld:" + view_cache_key(Genre("pop"), "graph-data") in kv.values


class TestNoSecretsAnywhere:
    def test_distinctive_secrets_when_configured_never_appear_in_any_output(
        self, tmp_path: Path, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """Logs (console and file), health, metrics, error bodies: grep all of it."""
        kv = KVStandIn()
        log_path = tmp_path / "all.log"
        with kv.serve() as kv_server:
            settings = Settings(
                _env_file=None,
                database={"url": f"sqlite:///{tmp_path / 's.db'}"},
                providers={"mode": "sample", "backoff_initial": 0.0, **SECRETS},
                cache={
                    "backend": "cloudflare",
                    "cloudflare_account_id": ACCOUNT,
                    "cloudflare_namespace_id": NAMESPACE,
                    "cloudflare_api_token": TOKEN,
                    "cloudflare_base_url": base_url(kv_server),
                },
                logging={"format": "json", "file": log_path, "level": "DEBUG"},
            )
            store = SQLiteStore.from_url(settings.database.url)
            store.init()
            metrics = Metrics()
            cache = open_cache(settings, metrics=metrics)
            bodies: list[str] = []
            try:
                create_app(settings, store, cache, metrics=metrics)  # sets up the log file
                etl.run(settings, genres=["pop"], as_of=DAY1, store=store, metrics=metrics)
                app = create_app(settings, store, cache, metrics=metrics)
                with start_background_server(app) as server, requests.Session() as http:
                    for path in [
                        *route_paths([Genre("pop"), Genre("rap")]),
                        "/metrics",
                        "/nowhere",
                    ]:
                        bodies.append(http.get(server.url + path, timeout=5).text)
                    bodies.append(http.post(server.url + "/health", timeout=5).text)
                    kv.mode = "auth"  # KV errors get logged too
                    cache.clear()
                    bodies.append(http.get(server.url + "/graph-data/pop", timeout=5).text)
                from tunemeld.services.health import run_health

                report = run_health(settings, store=store, cache=cache, live=True)
                bodies.append(report.model_dump_json())
            finally:
                cache.close()
                store.close()
        close_log_file()
        captured = capfd.readouterr()
        everything = "\n".join(
            [*bodies, log_path.read_text(), captured.out, captured.err, *kv_server_bodies(kv)]
        )
        assert "cache_request_failed" in everything  # the KV failures were logged
        assert "api_request_handled" in everything
        for secret in [*SECRETS.values(), TOKEN]:
            assert secret not in everything, secret


def kv_server_bodies(kv: KVStandIn) -> list[str]:
    """What the stand-in recorded, minus the Authorization headers (they must carry the token)."""
    return [json.dumps(request[2]) for request in kv.requests]
