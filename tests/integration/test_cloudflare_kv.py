"""The Cloudflare KV cache against a local stand-in of the KV REST API over real HTTP.

Covers the documented envelope, TTLs, key encoding, listing and bulk delete, 429 and 5xx answers
(retried, then given up without raising), a slow or dead KV (the API still answers from the
store), and the token never reaching a log line.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from tests.catalog import GENRES
from tests.integration.kv_standin import ACCOUNT, NAMESPACE, TOKEN, KVStandIn, base_url
from tests.integration.test_api_server import genre_views
from tunemeld.api import RunningServer, create_app, start_background_server
from tunemeld.api.answers import answer_for, refresh_genre, warm_genres
from tunemeld.api.check import route_targets
from tunemeld.config import Settings
from tunemeld.models import Genre
from tunemeld.services.cache import CloudflareKVCache, open_cache, view_cache_key
from tunemeld.services.health import CheckStatus, check_cache
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore


@pytest.fixture(name="kv")
def _kv() -> KVStandIn:
    return KVStandIn()


@pytest.fixture(name="kv_server")
def _kv_server(kv: KVStandIn) -> Iterator[RunningServer]:
    with kv.serve() as server:
        yield server


def kv_settings(base: str, **cache: Any) -> Settings:
    """Settings for the cloudflare backend at `base` with the stand-in's credentials."""
    return Settings(
        _env_file=None,
        env="testing",
        cache={
            "backend": "cloudflare",
            "cloudflare_account_id": ACCOUNT,
            "cloudflare_namespace_id": NAMESPACE,
            "cloudflare_api_token": TOKEN,
            "cloudflare_base_url": base,
            "cloudflare_read_timeout": 0.5,
            "cloudflare_connect_timeout": 0.5,
            **cache,
        },
    )


@pytest.fixture(name="metrics")
def _metrics() -> Metrics:
    return Metrics()


@pytest.fixture(name="cache")
def _cache(kv_server: RunningServer, metrics: Metrics) -> Iterator[CloudflareKVCache]:
    cache = open_cache(kv_settings(base_url(kv_server)), metrics=metrics)
    assert isinstance(cache, CloudflareKVCache)
    yield cache
    cache.close()


@pytest.fixture(name="dead_url")
def _dead_url() -> Iterator[str]:
    """A KV base URL whose port refuses connections for the whole test.

    The socket stays bound but never listens: connecting is refused, and no server started
    later in the test (they bind port 0) can be handed the same port by the kernel.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        yield f"http://127.0.0.1:{port}/client/v4"


class TestProtocol:
    """The cache speaks the KV REST API as documented."""

    def test_value_when_set_reads_back_as_the_same_bytes(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """PUT raw bytes with a TTL of at least 60 s; GET returns the raw bytes."""
        payload = b'tm1\n"etag"\n{"a":"\xc3\xbc\\n"}'
        cache.set("view:pop:graph-data", payload, ttl_seconds=5)
        assert cache.get("view:pop:graph-data") == payload
        put = [r for r in kv.requests if r[0] == "PUT"]
        assert put[0][2]["expiration_ttl"] == "60"
        assert kv.values["tunemeld:view:pop:graph-data"] == payload
        assert set(kv.authorizations) == {f"Bearer {TOKEN}"}

    def test_missing_key_when_read_is_a_counted_miss(
        self, cache: CloudflareKVCache, metrics: Metrics
    ) -> None:
        """A 404 envelope is a miss, not an error."""
        assert cache.get("view:pop:nothing") is None
        assert (cache.misses, cache.errors) == (1, 0)
        labels = {"cache": "cloudflare", "result": "miss"}
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", labels) == 1

    def test_key_with_odd_characters_when_used_is_url_encoded(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """Slashes, spaces, ?, # and non-ASCII survive the path."""
        key = "view:pop:a/b c?d#e%f:ü"
        cache.set(key, b"v")
        assert cache.get(key) == b"v"
        assert "tunemeld:" + key in kv.values

    def test_very_long_key_when_used_is_hashed_under_512_bytes(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """KV refuses keys over 512 bytes; the cache hashes them instead."""
        key = "view:pop:" + "x" * 600
        cache.set(key, b"long")
        assert cache.get(key) == b"long"
        assert all(len(name.encode()) <= 512 for name in kv.values)
        assert cache.errors == 0

    def test_prefix_when_deleted_removes_only_matching_keys_across_pages(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """List by prefix (following the cursor), bulk delete; other genres and apps keep theirs."""
        for i in range(1203):
            kv.values[f"tunemeld:view:pop:{i}"] = b"p"
        kv.values["tunemeld:view:rap:graph-data"] = b"r"
        kv.values["other-app:view:pop:1"] = b"o"
        assert cache.delete_prefix("view:pop:") == 1203
        assert set(kv.values) == {"tunemeld:view:rap:graph-data", "other-app:view:pop:1"}
        pages = [r for r in kv.requests if r[1].endswith("/keys")]
        assert len(pages) == 2
        cache.clear()
        assert set(kv.values) == {"other-app:view:pop:1"}

    def test_key_when_deleted_is_gone(self, cache: CloudflareKVCache, kv: KVStandIn) -> None:
        """DELETE one value; a repeat within the second is not sent; missing keys are fine."""
        kv.values["tunemeld:k"] = b"v"
        cache.delete("k")
        cache.delete("k")
        cache.delete("never-there")
        assert cache.get("k") is None
        assert [r[0] for r in kv.requests].count("DELETE") == 2
        assert cache.errors == 0

    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],  # one stand-in serves all
    )
    @given(key=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=700))
    def test_any_key_when_written_reads_back_and_stays_within_kv_limits(
        self, kv_server: RunningServer, key: str
    ) -> None:
        """Any text key: URL-encoded in the path, hashed past 512 bytes, read back intact."""
        cache = open_cache(kv_settings(base_url(kv_server)))
        try:
            value = key.encode()
            cache.set(key, value)
            assert cache.get(key) == value
            assert isinstance(cache, CloudflareKVCache)
            assert len(cache.kv_key(key).encode()) <= 512
            assert cache.errors == 0
        finally:
            cache.close()

    def test_identical_write_within_a_second_when_repeated_is_skipped(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """One write per second per key: the same bytes again are not sent."""
        cache.set("k", b"same")
        cache.set("k", b"same")
        assert [r[0] for r in kv.requests].count("PUT") == 1
        assert cache.skipped_writes == 1


class TestFailures:
    """429, 5xx, slow and dead KV: retried briefly, then a counted miss; never an exception."""

    def test_one_transient_5xx_when_answered_is_retried_and_succeeds(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """The second try works, so no error is counted."""
        kv.values["tunemeld:k"] = b"v"
        kv.fail_next, kv.fail_status = 1, 503
        assert cache.get("k") == b"v"
        assert cache.errors == 0
        assert len(kv.requests) == 2

    def test_429_when_persistent_gives_a_miss_and_a_warning_without_the_token(
        self, cache: CloudflareKVCache, kv: KVStandIn, metrics: Metrics
    ) -> None:
        """Two tries (the setting), then a miss, an error count and a secret-free warning."""
        kv.values["tunemeld:k"] = b"v"
        kv.mode = "429"
        with capture_logs() as logs:
            assert cache.get("k") is None
            cache.set("k2", b"v2")
        assert len(kv.requests) == 4
        assert cache.errors == 2
        assert cache.last_error is not None
        assert "429" in cache.last_error
        warnings = [e for e in logs if e["event"] == "cache_request_failed"]
        assert [w["operation"] for w in warnings] == ["get", "set"]
        assert TOKEN not in json.dumps(logs, default=str)
        errors = {"cache": "cloudflare", "operation": "get"}
        assert metrics.registry.get_sample_value("tunemeld_cache_errors_total", errors) == 1

    def test_server_errors_when_repeated_pause_kv_calls(
        self, kv_server: RunningServer, kv: KVStandIn
    ) -> None:
        """After three failures the cache stops calling KV for the cooldown."""
        cache = open_cache(kv_settings(base_url(kv_server), cloudflare_max_attempts=1))
        assert isinstance(cache, CloudflareKVCache)
        try:
            kv.mode = "500"
            for _ in range(3):
                assert cache.get("k") is None
            assert not cache.available
            before = len(kv.requests)
            assert cache.get("k") is None
            assert len(kv.requests) == before
        finally:
            cache.close()

    def test_refused_token_when_used_is_an_error_with_the_fix(
        self, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """403: the last error names CLOUDFLARE_API_TOKEN and its permissions."""
        kv.mode = "auth"
        assert cache.get("k") is None
        assert cache.last_error is not None
        assert "CLOUDFLARE_API_TOKEN" in cache.last_error

    def test_dead_port_when_used_never_raises(self, dead_url: str) -> None:
        """Connection refused on every call: misses and errors, no exception."""
        cache = open_cache(kv_settings(dead_url))
        try:
            cache.set("k", b"v")
            assert cache.get("k") is None
            cache.delete("k")
            assert cache.delete_prefix("view:") == 0
        finally:
            cache.close()

    def test_health_when_kv_is_down_fails_the_cache_row_with_a_hint(self, dead_url: str) -> None:
        """The round trip fails and the hint names the Cloudflare settings."""
        cache = open_cache(kv_settings(dead_url))
        try:
            row = check_cache(cache)
        finally:
            cache.close()
        assert row.status is CheckStatus.FAIL
        assert row.hint is not None
        assert "CLOUDFLARE_API_TOKEN" in row.hint
        assert TOKEN not in row.model_dump_json()

    def test_health_when_kv_answers_passes_the_round_trip(self, cache: CloudflareKVCache) -> None:
        """Set, get and delete of a probe key; nothing is left behind."""
        row = check_cache(cache)
        assert row.status is CheckStatus.PASS
        assert row.latency_ms is not None


@pytest.fixture(name="filled_store")
def _filled_store(store: SQLiteStore) -> SQLiteStore:
    for genre in GENRES:
        store.save_views(genre_views(genre))
    return store


class TestApiOverKv:
    """The API with a cloudflare cache: same answers whether KV works, is slow or is gone."""

    def _expected(self, store: SQLiteStore, path: str) -> bytes | None:
        parts = path.strip("/").split("/")
        if parts[0] == "health":
            return None
        genre = Genre(parts[1])
        name = parts[0] if parts[0] != "service-playlist" else f"service-playlist:{parts[2]}"
        doc = store.get_view(genre, name)
        assert doc is not None
        return answer_for(doc).body

    def _check_every_route(self, settings: Settings, store: SQLiteStore) -> Metrics:
        metrics = Metrics()
        cache = open_cache(settings, metrics=metrics)
        try:
            app = create_app(settings, store, cache, metrics=metrics)
            with start_background_server(app) as server, requests.Session() as http:
                for _ in range(2):
                    for path, enveloped in route_targets(list(GENRES)):
                        reply = http.get(server.url + path, timeout=10)
                        assert reply.status_code == 200, (path, reply.text)
                        expected = self._expected(store, path) if enveloped else None
                        if expected is not None:
                            assert reply.content == expected
        finally:
            cache.close()
        return metrics

    def test_kv_when_working_serves_every_route_and_hits_on_the_second_pass(
        self, filled_store: SQLiteStore, kv_server: RunningServer
    ) -> None:
        """First pass fills KV, second pass is answered from it.

        32 views (8 per genre); on the first pass each Django-style route misses and fills its
        key, and its worker-style twin hits it (28: rising has none); the second pass hits on
        all 60 routes.
        """
        metrics = self._check_every_route(kv_settings(base_url(kv_server)), filled_store)
        hits = {"cache": "cloudflare", "result": "hit"}
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", hits) == 28 + 60

    def test_kv_at_a_dead_port_when_used_still_answers_every_route(
        self, filled_store: SQLiteStore, dead_url: str
    ) -> None:
        """Every route 200 with the store's data; the misses and errors are counted."""
        metrics = self._check_every_route(kv_settings(dead_url), filled_store)
        misses = {"cache": "cloudflare", "result": "miss"}
        # Two passes over 60 routes (32 Django-style, 28 worker-style), every one a miss.
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", misses) == 120

    def test_health_when_kv_is_down_stays_200_and_warns_on_the_cache_row(
        self, filled_store: SQLiteStore, dead_url: str
    ) -> None:
        """Only the store decides 503; a paused KV is a warning with the fix."""
        settings = kv_settings(dead_url)
        self._check_every_route(settings, filled_store)
        cache = open_cache(settings)
        try:
            for _ in range(3):
                cache.get("k")
            app = create_app(settings, filled_store, cache)
            with start_background_server(app) as server:
                reply = requests.get(server.url + "/health", timeout=5)
        finally:
            cache.close()
        assert reply.status_code == 200
        rows = {row["name"]: row for row in reply.json()["data"]["checks"]}
        assert rows["cache"]["status"] == "warn"
        assert "CLOUDFLARE_API_TOKEN" in rows["cache"]["hint"]

    def test_kv_when_slow_still_answers_every_route(
        self, filled_store: SQLiteStore, kv_server: RunningServer, kv: KVStandIn
    ) -> None:
        """Timeouts trip the pause quickly, so a slow KV costs only the first few requests."""
        kv.mode, kv.slow_seconds = "slow", 1.0
        settings = kv_settings(
            base_url(kv_server), cloudflare_read_timeout=0.2, cloudflare_max_attempts=1
        )
        self._check_every_route(settings, filled_store)

    def test_kv_when_answering_5xx_still_answers_every_route(
        self, filled_store: SQLiteStore, kv_server: RunningServer, kv: KVStandIn
    ) -> None:
        """Server errors are misses, not failed requests."""
        kv.mode = "500"
        self._check_every_route(kv_settings(base_url(kv_server)), filled_store)


class TestWarm:
    """Warming and refreshing write exactly what the API would cache."""

    def test_genres_when_warmed_are_served_from_kv_without_store_reads(
        self, filled_store: SQLiteStore, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """8 answers per genre, byte-identical to the API's own."""
        result = warm_genres(filled_store, cache, list(GENRES), ttl_seconds=60)
        assert result.total_warmed == 8 * len(GENRES)
        doc = filled_store.get_view(Genre("pop"), "graph-data")
        assert doc is not None
        stored = cache.get(view_cache_key(Genre("pop"), "graph-data"))
        assert stored == answer_for(doc).pack()

    def test_refresh_when_a_view_disappeared_deletes_its_key(
        self, store: SQLiteStore, cache: CloudflareKVCache, kv: KVStandIn
    ) -> None:
        """Views the store no longer has are removed from the cache."""
        kv.values["tunemeld:" + view_cache_key(Genre("pop"), "header-art")] = b"old"
        written, removed = refresh_genre(store, cache, Genre("pop"), 60)
        assert (written, removed) == (0, 8)
        assert "tunemeld:" + view_cache_key(Genre("pop"), "header-art") not in kv.values
