"""The API over real HTTP: waitress on 127.0.0.1, a SQLite file, `requests` as the client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from tests.catalog import GENRES
from tunemeld.api import RunningServer, check_server, create_app, serve, start_background_server
from tunemeld.api.check import route_paths, route_targets
from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre, Service, Track, ViewDoc, view_version
from tunemeld.services.cache import MemoryCache, genre_cache_prefix
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ORIGIN = "http://localhost:8080"


def genre_views(genre: Genre) -> list[ViewDoc]:
    """Every view of one genre, small but in the ETL's shapes."""
    track = {"isrc": "USUG12500001", "rank": 1, "track_name": "Song", "artist_name": "Artist"}
    data: dict[str, Any] = {
        "graph-data": [{**track, "view_counts": {"Spotify": [[1767225600000, 3]], "YouTube": []}}],
        "playlist-data": [{"genre": genre.value, "service_name": "Aggregate", "tracks": [track]}],
        "last-updated": {"last_updated": NOW.isoformat()},
        "rising": [{**track, "gain": {"Spotify": 3, "YouTube": None, "total": 3}}],
        "header-art": {s.value: {"playlist_name": f"{s.value} {genre.value}"} for s in Service},
    }
    for service in Service:
        data[f"service-playlist:{service.value}"] = {
            "genre": genre.value,
            "service_name": service.value,
            "tracks": [{**track, "url": "https://x.test"}],
        }
    return [
        ViewDoc(genre=genre, name=name, data=value, version=view_version(value), updated_at=NOW)
        for name, value in data.items()
    ]


@pytest.fixture(name="cache")
def _cache(metrics: Metrics) -> MemoryCache:
    return MemoryCache(max_entries=128, ttl_seconds=60, metrics=metrics)


@pytest.fixture(name="metrics")
def _metrics() -> Metrics:
    return Metrics()


@pytest.fixture(name="server")
def _server(
    settings: Settings, store: SQLiteStore, cache: MemoryCache, metrics: Metrics
) -> Iterator[RunningServer]:
    """A running server over a store holding every genre's views; stopped at teardown."""
    for genre in GENRES:
        store.save_views(genre_views(genre))
    store.upsert_tracks([Track(isrc="USUG12500001", title="Song", artist="Artist", updated_at=NOW)])
    app = create_app(settings, store, cache, metrics=metrics)
    with start_background_server(app, "127.0.0.1", 0) as server:
        yield server
    assert not server.running


@pytest.fixture(name="http")
def _http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class TestRoutesOverHttp:
    """Every route answers real HTTP requests as the unit tests promise."""

    @pytest.mark.parametrize(("path", "enveloped"), route_targets([Genre("pop"), Genre("rap")]))
    def test_route_when_requested_answers_a_success_envelope(
        self, server: RunningServer, http: requests.Session, path: str, enveloped: bool
    ) -> None:
        """200, JSON, the success envelope (the worker-style routes: the bare data)."""
        reply = http.get(server.url + path, timeout=5)
        assert reply.status_code == 200
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        body = reply.json()
        if enveloped:
            assert body["status"] == "success"
        else:
            assert not (isinstance(body, dict) and "status" in body)
            assert reply.headers["ETag"]

    def test_index_when_requested_lists_the_routes(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """`/` names the API."""
        data = http.get(server.url + "/", timeout=5).json()["data"]
        assert data["name"] == "TuneMeld"
        assert "/graph-data/<genre>" in data["routes"]

    def test_etag_when_sent_back_gets_304_without_body(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """Revalidation over the wire: no body, no Content-Length."""
        first = http.get(server.url + "/playlist-data/pop", timeout=5)
        again = http.get(
            server.url + "/playlist-data/pop",
            headers={"If-None-Match": first.headers["ETag"]},
            timeout=5,
        )
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == first.headers["ETag"]

    def test_worker_route_when_revalidated_gets_304_and_the_django_routes_etag(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """`/api/...` answers come from the same cached view: same ETag, same revalidation."""
        django = http.get(server.url + "/graph-data/pop", timeout=5)
        worker = http.get(server.url + "/api/graph-data?genre=pop", timeout=5)
        assert worker.headers["ETag"] == django.headers["ETag"]
        assert worker.json() == django.json()["data"]
        again = http.get(
            server.url + "/api/graph-data?genre=pop",
            headers={"If-None-Match": worker.headers["ETag"]},
            timeout=5,
        )
        assert again.status_code == 304
        assert again.content == b""

    def test_errors_when_returned_over_http_are_json_envelopes(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """404 genre, 404 route, 405 method: all JSON."""
        for method, path, status in [
            ("GET", "/graph-data/jazz", 404),
            ("GET", "/nowhere", 404),
            ("POST", "/graph-data/pop", 405),
        ]:
            reply = http.request(method, server.url + path, timeout=5)
            assert reply.status_code == status
            assert reply.json()["status"] == "error"

    def test_cors_when_preflighted_from_the_front_end_is_allowed(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """204 with the allowed origin and methods."""
        reply = http.options(
            server.url + "/graph-data/pop",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
            timeout=5,
        )
        assert reply.status_code == 204
        assert reply.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert reply.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"

    def test_request_id_when_sent_comes_back(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """Through waitress too."""
        reply = http.get(server.url + "/health", headers={"X-Request-ID": "it-42"}, timeout=5)
        assert reply.headers["X-Request-ID"] == "it-42"

    def test_metrics_when_scraped_show_the_requests_served(
        self, server: RunningServer, http: requests.Session
    ) -> None:
        """Prometheus text with the route rule and cache counts."""
        http.get(server.url + "/graph-data/pop", timeout=5)
        http.get(server.url + "/graph-data/pop", timeout=5)
        text = http.get(server.url + "/metrics", timeout=5).text
        assert 'route="/graph-data/<genre>",status="200"} 2.0' in text
        assert 'tunemeld_cache_requests_total{cache="memory",result="hit"} 1.0' in text

    def test_etl_invalidation_when_views_change_serves_new_data(
        self,
        server: RunningServer,
        http: requests.Session,
        store: SQLiteStore,
        cache: MemoryCache,
    ) -> None:
        """New views show as soon as the genre's cache prefix is dropped."""
        http.get(server.url + "/last-updated/pop", timeout=5)
        fresh = {"last_updated": "2026-03-02T12:00:00+00:00"}
        store.save_views(
            [
                ViewDoc(
                    genre=Genre("pop"),
                    name="last-updated",
                    data=fresh,
                    version=view_version(fresh),
                    updated_at=NOW,
                )
            ]
        )
        cache.delete_prefix(genre_cache_prefix(Genre("pop")))
        assert http.get(server.url + "/last-updated/pop", timeout=5).json()["data"] == fresh

    def test_parallel_requests_when_served_by_several_threads_all_succeed(
        self, server: RunningServer
    ) -> None:
        """SQLite connections per thread and the cache lock hold under concurrency."""
        paths = route_paths(list(GENRES)) * 3

        def fetch(path: str) -> int:
            return requests.get(server.url + path, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(fetch, paths))
        assert statuses == [200] * len(paths)


class TestCheckServer:
    """check_server against a live server and against a closed port."""

    def test_live_server_when_checked_is_ok_on_every_route(self, server: RunningServer) -> None:
        """Health plus 8 Django-style and 7 worker-style data routes for each of the 4 genres,
        then /track/<isrc> of each genre's top aggregate track."""
        checks = check_server(server.url)
        assert len(checks) == 1 + 15 * len(GENRES) + len(GENRES)
        assert [c.path for c in checks][: -len(GENRES)] == route_paths(list(GENRES))
        tops = [
            requests.get(f"{server.url}/playlist-data/{genre.value}", timeout=5).json()["data"][0][
                "tracks"
            ][0]["isrc"]
            for genre in GENRES
        ]
        assert [c.path for c in checks][-len(GENRES) :] == [f"/track/{isrc}" for isrc in tops]
        assert all(c.ok for c in checks), [c for c in checks if not c.ok]
        assert all(c.status == 200 and c.error is None for c in checks)
        assert all(c.latency_ms > 0 for c in checks)

    def test_missing_data_when_checked_reports_the_404_message(
        self, settings: Settings, tmp_path: Any
    ) -> None:
        """A running server with an empty store fails the data routes with the fix."""
        empty = SQLiteStore.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
        empty.init()
        try:
            app = create_app(settings, empty, MemoryCache())
            with start_background_server(app) as server:
                checks = check_server(server.url, [Genre("pop")])
        finally:
            empty.close()
        health, *data = checks
        assert health.ok
        assert data
        assert all(not c.ok and c.status == 404 for c in data)
        assert all(c.error is not None and "inv etl.run" in c.error for c in data)

    def test_closed_port_when_checked_fails_every_route_with_the_hint(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        """Not reachable, and how to start it; no request hangs."""
        with start_background_server(create_app(settings, store, MemoryCache())) as server:
            url = server.url
        checks = check_server(url, timeout=2)
        assert len(checks) == 1 + 15 * len(GENRES)  # no answer, so no ISRC to check
        for check in checks:
            assert not check.ok
            assert check.status is None
            assert check.error is not None
            assert f"server at {url} is not reachable" in check.error
            assert "inv api.start" in check.error


class TestServerLifecycle:
    """The background server starts on a free port, stops, and refuses busy ports."""

    def test_server_when_closed_stops_answering(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        """close() ends the loop thread and frees the port; a second close is harmless."""
        server = start_background_server(create_app(settings, store, MemoryCache()))
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert requests.get(server.url + "/", timeout=5).status_code == 200
        server.close()
        server.close()
        assert not server.running
        assert not [t.name for t in threading.enumerate() if t.name.startswith("waitress-")]
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/", timeout=2)

    def test_busy_port_when_requested_raises_config_error_with_hint(
        self, server: RunningServer, settings: Settings, store: SQLiteStore
    ) -> None:
        """A port in use is a usage problem with a fix, not an OSError traceback."""
        app = create_app(settings, store, MemoryCache())
        with pytest.raises(ConfigError) as error:
            start_background_server(app, "127.0.0.1", server.port)
        assert str(server.port) in error.value.message
        assert error.value.hint is not None
        assert "TUNEMELD_API__PORT" in error.value.hint

    def test_blocking_serve_when_port_is_busy_raises_config_error_at_once(
        self, server: RunningServer, settings: Settings, store: SQLiteStore
    ) -> None:
        """`inv api.start` on a taken port fails fast instead of blocking."""
        app = create_app(settings, store, MemoryCache())
        with pytest.raises(ConfigError, match="Cannot listen"):
            serve(app, host="127.0.0.1", port=server.port, threads=1)
