"""The app called as a WSGI function (no sockets): routes, errors, cache, CORS, ids, metrics."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, cast
from urllib.parse import quote
from wsgiref.util import setup_testing_defaults

import bottle
import pytest
import structlog
from requests.structures import CaseInsensitiveDict
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.catalog import GENRES
from tunemeld.api import create_app
from tunemeld.config import Settings
from tunemeld.exceptions import StoreUnavailable
from tunemeld.models import Genre, RunReport, Service, ViewDoc, view_version
from tunemeld.services.cache import (
    Cache,
    MemoryCache,
    NullCache,
    genre_cache_prefix,
    view_cache_key,
)
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore, Store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ALLOWED_ORIGIN = "http://localhost:8080"
JSON_TYPE = "application/json; charset=utf-8"


def sample_data(genre: Genre) -> dict[str, Any]:
    """One JSON-ready document per view name, in the shapes the ETL produces."""
    track = {
        "isrc": "USUG12500001",
        "rank": 1,
        "track_name": f"{genre.value} song",
        "artist_name": "Artist",
        "album_cover_url": "https://img.test/1.jpg",
    }
    data: dict[str, Any] = {
        "graph-data": [{**track, "view_counts": {"Spotify": [[1767225600000, 5]], "YouTube": []}}],
        "playlist-data": {
            "genre": genre.value,
            "service_name": "Aggregate",
            "tracks": [
                {
                    **track,
                    "youtube_url": None,
                    "spotify_url": "https://open.spotify.test/track/1",
                    "apple_music_url": None,
                    "soundcloud_url": None,
                    "sources": {"Spotify": 1, "AppleMusic": 2},
                    "raw_aggregate_rank": 2,
                    "aggregate_service_name": "AppleMusic",
                }
            ],
        },
        "last-updated": {"last_updated": "2026-03-01T12:00:00+00:00"},
        "header-art": {
            s.value: {
                "playlist_name": f"{s.value} {genre.value}",
                "playlist_url": "https://playlist.test",
                "playlist_cover_url": "https://img.test/cover.jpg",
                "playlist_cover_description_text": "Ünïcode ✓",
            }
            for s in Service
        },
    }
    for service in Service:
        data[f"service-playlist:{service.value}"] = {
            "genre": genre.value,
            "service_name": service.value,
            "tracks": [{**track, "url": f"https://{service.value.lower()}.test/1"}],
        }
    return data


def make_view(genre: Genre, name: str, data: object) -> ViewDoc:
    """A ViewDoc whose version is the content hash, as the ETL builds it."""
    return ViewDoc(genre=genre, name=name, data=data, version=view_version(data), updated_at=NOW)


POP = Genre("pop")


def fill_store(store: Store, genre: Genre = POP) -> dict[str, Any]:
    """Save every view of one genre; returns the data by view name."""
    data = sample_data(genre)
    store.save_views([make_view(genre, name, value) for name, value in data.items()])
    return data


@dataclass
class Reply:
    """What the app answered to one WSGI call."""

    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    errors: str

    def json(self) -> Any:
        return json.loads(self.body)


class WsgiClient:
    """Calls a WSGI app in-process, like a server would, without opening a socket."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> Reply:
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        errors = io.StringIO()
        path, _, query = path.partition("?")
        environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING=query)
        environ["wsgi.errors"] = errors
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured: dict[str, Any] = {}

        def start_response(
            status: str, header_list: list[tuple[str, str]], exc_info: Any = None
        ) -> None:
            captured["status"] = int(status.split()[0])
            captured["headers"] = CaseInsensitiveDict(dict(header_list))

        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return Reply(captured["status"], captured["headers"], body, errors.getvalue())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers)


class CountingStore:
    """A real store whose get_view calls are counted (and may be made to fail)."""

    def __init__(self, inner: SQLiteStore) -> None:
        self.inner = inner
        self.get_view_calls = 0
        self.pings = 0
        self.fail_with: Exception | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_view(self, genre: Genre, name: str) -> ViewDoc | None:
        self.get_view_calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        return self.inner.get_view(genre, name)

    def ping(self) -> None:
        self.pings += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.inner.ping()


@pytest.fixture(name="metrics")
def _metrics() -> Metrics:
    return Metrics()


@pytest.fixture(name="cache")
def _cache(metrics: Metrics) -> MemoryCache:
    return MemoryCache(max_entries=64, ttl_seconds=60, metrics=metrics)


@pytest.fixture(name="counting_store")
def _counting_store(store: SQLiteStore) -> CountingStore:
    return CountingStore(store)


@pytest.fixture(name="client")
def _client(
    settings: Settings, counting_store: CountingStore, cache: Cache, metrics: Metrics
) -> WsgiClient:
    app = create_app(settings, cast(Store, counting_store), cache, metrics=metrics)
    return WsgiClient(app)


@pytest.fixture(name="pop_data")
def _pop_data(store: SQLiteStore) -> dict[str, Any]:
    return fill_store(store, Genre("pop"))


def assert_error_envelope(reply: Reply, status: int) -> dict[str, Any]:
    """The reply is a JSON error envelope with `status`; returns the body."""
    assert reply.status == status
    assert reply.headers["Content-Type"] == JSON_TYPE
    body = reply.json()
    assert set(body) == {"status", "message", "data"}
    assert body["status"] == "error"
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["data"] is None
    return cast(dict[str, Any], body)


class TestDataRoutes:
    """Each data route answers its precomputed view inside the success envelope."""

    @pytest.mark.parametrize(
        ("path", "view"),
        [
            ("/graph-data/pop", "graph-data"),
            ("/playlist-data/pop", "playlist-data"),
            ("/last-updated/pop", "last-updated"),
            ("/header-art/pop", "header-art"),
            ("/service-playlist/pop/Spotify", "service-playlist:Spotify"),
            ("/service-playlist/pop/AppleMusic", "service-playlist:AppleMusic"),
            ("/service-playlist/pop/SoundCloud", "service-playlist:SoundCloud"),
        ],
    )
    def test_route_when_view_exists_answers_its_data_in_the_envelope(
        self, client: WsgiClient, pop_data: dict[str, Any], path: str, view: str
    ) -> None:
        """The data is exactly the stored view's, with JSON content type and caching headers."""
        reply = client.get(path)
        assert reply.status == 200
        assert reply.headers["Content-Type"] == JSON_TYPE
        assert reply.headers["Cache-Control"] == "public, max-age=60"
        body = reply.json()
        assert body["status"] == "success"
        assert isinstance(body["message"], str)
        assert body["data"] == pop_data[view]

    @pytest.mark.parametrize("spelling", ["apple_music", "Apple Music", "applemusic", "APPLEMUSIC"])
    def test_service_playlist_when_service_spelled_loosely_answers_that_service(
        self, client: WsgiClient, pop_data: dict[str, Any], spelling: str
    ) -> None:
        """Service.parse reads the URL part, so legacy spellings keep working."""
        reply = client.get(f"/service-playlist/pop/{quote(spelling)}".replace("%20", " "))
        assert reply.status == 200
        assert reply.json()["data"]["service_name"] == "AppleMusic"

    def test_genre_when_spelled_in_capitals_answers_that_genre(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """Genre.parse is case-insensitive."""
        reply = client.get("/last-updated/POP")
        assert reply.status == 200
        assert reply.json()["data"] == pop_data["last-updated"]

    def test_non_ascii_data_when_served_is_utf8_json(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """Text is sent as UTF-8, not as \\u escapes, and decodes back to the same value."""
        reply = client.get("/header-art/pop")
        assert "Ünïcode ✓".encode() in reply.body
        assert reply.json()["data"]["Spotify"]["playlist_cover_description_text"] == "Ünïcode ✓"

    def test_head_when_view_exists_sends_headers_without_body(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """HEAD answers like GET minus the body."""
        get = client.get("/graph-data/pop")
        head = client.request("HEAD", "/graph-data/pop")
        assert head.status == 200
        assert head.body == b""
        assert head.headers["ETag"] == get.headers["ETag"]
        assert head.headers["Content-Length"] == str(len(get.body))

    def test_genres_when_both_stored_answer_their_own_views(
        self, client: WsgiClient, store: SQLiteStore
    ) -> None:
        """Views are per genre: rap's answer is not pop's."""
        fill_store(store, Genre("pop"))
        rap = fill_store(store, Genre("rap"))
        reply = client.get("/playlist-data/rap")
        assert reply.json()["data"] == rap["playlist-data"]
        assert client.get("/playlist-data/pop").json()["data"]["genre"] == "pop"


class TestErrors:
    """Every error is a JSON envelope with a real HTTP status and no traceback."""

    def test_unknown_genre_when_requested_answers_404_listing_genres(
        self, client: WsgiClient
    ) -> None:
        """The message names the bad genre and the valid ones."""
        body = assert_error_envelope(client.get("/graph-data/jazz"), 404)
        assert "jazz" in body["message"]
        for genre in GENRES:
            assert genre.value in body["message"]

    def test_unknown_service_when_requested_answers_404_listing_services(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """The message names the bad service and the valid ones."""
        body = assert_error_envelope(client.get("/service-playlist/pop/Tidal"), 404)
        assert "Tidal" in body["message"]
        for service in Service:
            assert service.value in body["message"]

    def test_aggregate_when_asked_as_a_service_answers_404(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """Only the three services have service playlists (Aggregate is /playlist-data)."""
        assert_error_envelope(client.get("/service-playlist/pop/Aggregate"), 404)

    def test_missing_view_when_etl_has_not_run_answers_404_with_the_fix(
        self, client: WsgiClient
    ) -> None:
        """Before the first ETL run the message says how to build the data."""
        body = assert_error_envelope(client.get("/graph-data/pop"), 404)
        assert "No data for pop yet" in body["message"]
        assert "inv etl.run --stage full" in body["message"]

    def test_unknown_route_when_requested_answers_404_envelope(self, client: WsgiClient) -> None:
        """Bottle's HTML 404 page is replaced by the envelope."""
        body = assert_error_envelope(client.get("/no/such/route"), 404)
        assert "/no/such/route" in body["message"]

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
    def test_wrong_method_when_used_answers_405_with_allow(
        self, client: WsgiClient, method: str
    ) -> None:
        """A known route with another method is 405, and Allow lists what works."""
        reply = client.request(method, "/graph-data/pop")
        body = assert_error_envelope(reply, 405)
        assert method in body["message"]
        assert reply.headers["Allow"] == "GET, HEAD, OPTIONS"

    @pytest.mark.parametrize(
        "path", ["/graph-data/" + "p" * 65, "/service-playlist/pop/" + "S" * 100]
    )
    def test_absurd_path_part_when_requested_answers_400_without_echoing_it(
        self, client: WsgiClient, path: str
    ) -> None:
        """Over-long names are bad input, and are not copied into the answer."""
        body = assert_error_envelope(client.get(path), 400)
        assert "p" * 65 not in body["message"]
        assert "S" * 100 not in body["message"]

    def test_store_down_when_data_requested_answers_503(
        self, client: WsgiClient, counting_store: CountingStore
    ) -> None:
        """StoreUnavailable is a 503 whose message carries the store's hint."""
        counting_store.fail_with = StoreUnavailable("Cannot open the store.", hint="Check disk.")
        body = assert_error_envelope(client.get("/graph-data/pop"), 503)
        assert body["message"] == "Cannot open the store. Check disk."

    def test_unexpected_error_when_raised_answers_generic_500_and_logs_once(
        self, client: WsgiClient, counting_store: CountingStore
    ) -> None:
        """No exception text or traceback leaks into the body; the log has the traceback."""
        counting_store.fail_with = RuntimeError("secret-detail hunter2")
        with capture_logs() as logs:
            reply = client.get("/graph-data/pop")
        body = assert_error_envelope(reply, 500)
        for leak in (b"hunter2", b"Traceback", b"RuntimeError", b"secret-detail"):
            assert leak not in reply.body
        assert body["message"].startswith("Internal server error")
        failures = [e for e in logs if e["event"] == "api_request_failed"]
        assert len(failures) == 1
        assert failures[0]["log_level"] == "error"
        assert failures[0]["exc_info"] is True

    def test_unexpected_error_when_logged_carries_the_redacted_debug_context(
        self, store: SQLiteStore, cache: Cache, metrics: Metrics
    ) -> None:
        """Versions and settings ride along with the traceback; secrets never do."""
        settings = Settings(
            _env_file=None,
            providers={"mode": "sample", "rapidapi_key": "rk-ctx-SECRET-9876"},
        )
        failing = CountingStore(store)
        failing.fail_with = RuntimeError("boom")
        client = WsgiClient(create_app(settings, cast(Store, failing), cache, metrics=metrics))
        with capture_logs() as logs:
            client.get("/graph-data/pop")
        (failure,) = [e for e in logs if e["event"] == "api_request_failed"]
        context = failure["context"]
        assert context["versions"]["tunemeld"]
        assert context["settings"]["providers"]["rapidapi_key"] == "**********"
        assert "rk-ctx-SECRET-9876" not in json.dumps(context)

    def test_failure_outside_routes_when_raised_is_still_a_json_500(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        """Even a crash in a hook (bottle's catch-all) gets the envelope, not an HTML page."""
        app = create_app(settings, store, NullCache())

        def broken_hook() -> None:
            raise RuntimeError("hook exploded hunter2")

        app.add_hook("before_request", broken_hook)
        reply = WsgiClient(app).get("/")
        assert_error_envelope(reply, 500)
        assert b"hunter2" not in reply.body
        assert b"Traceback" not in reply.body

    def test_debug_setting_when_on_still_hides_tracebacks(self, store: SQLiteStore) -> None:
        """Debug stays off whatever the settings say."""
        settings = Settings(_env_file=None, env="testing", api={"debug": True})
        counting = CountingStore(store)
        counting.fail_with = ValueError("internal detail")
        app = create_app(settings, cast(Store, counting), NullCache())
        reply = WsgiClient(app).get("/graph-data/pop")
        assert_error_envelope(reply, 500)
        assert b"internal detail" not in reply.body
        assert bottle.DEBUG is False


class TestConditionalRequests:
    """ETag is the view version; a matching If-None-Match gets 304 without a body."""

    def test_etag_when_view_served_is_the_quoted_version(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """Clients can compare it with the ETL's content hash."""
        reply = client.get("/graph-data/pop")
        assert reply.headers["ETag"] == f'"{view_version(pop_data["graph-data"])}"'

    @pytest.mark.parametrize(
        "header", ['"{etag}"', 'W/"{etag}"', '"other", "{etag}"', "*"], ids=str
    )
    def test_if_none_match_when_it_names_the_etag_answers_304_without_body(
        self, client: WsgiClient, pop_data: dict[str, Any], header: str
    ) -> None:
        """Strong, weak, listed and wildcard forms all match."""
        etag = view_version(pop_data["graph-data"])
        reply = client.get("/graph-data/pop", {"If-None-Match": header.format(etag=etag)})
        assert reply.status == 304
        assert reply.body == b""
        assert reply.headers["ETag"] == f'"{etag}"'
        assert reply.headers["Cache-Control"] == "public, max-age=60"

    def test_if_none_match_when_stale_answers_200_with_body(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """An old ETag gets the full answer."""
        reply = client.get("/graph-data/pop", {"If-None-Match": '"0123456789abcdef"'})
        assert reply.status == 200
        assert reply.json()["data"] == pop_data["graph-data"]

    def test_if_none_match_when_answer_is_cached_still_answers_304(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """The ETag is kept beside the cached body."""
        first = client.get("/graph-data/pop")
        second = client.get("/graph-data/pop", {"If-None-Match": first.headers["ETag"]})
        assert second.status == 304


class TestAnswerCache:
    """Data routes answer from the cache first and fill it from the store."""

    def test_second_request_when_cached_does_not_consult_the_store(
        self, client: WsgiClient, counting_store: CountingStore, pop_data: dict[str, Any]
    ) -> None:
        """One store read per view until the cache entry goes."""
        first = client.get("/playlist-data/pop")
        second = client.get("/playlist-data/pop")
        assert counting_store.get_view_calls == 1
        assert second.body == first.body
        assert second.headers["ETag"] == first.headers["ETag"]

    def test_cached_value_when_stored_holds_the_full_encoded_body(
        self, client: WsgiClient, cache: MemoryCache, pop_data: dict[str, Any]
    ) -> None:
        """The cache keeps the encoded answer under view_cache_key."""
        reply = client.get("/last-updated/pop")
        cached = cache.get(view_cache_key(Genre("pop"), "last-updated"))
        assert cached is not None
        assert cached.endswith(reply.body)
        assert reply.headers["ETag"].encode() in cached

    def test_genre_prefix_when_deleted_serves_the_new_view(
        self, client: WsgiClient, cache: MemoryCache, store: SQLiteStore, pop_data: dict[str, Any]
    ) -> None:
        """Until the ETL invalidates, the cached answer stands; afterwards the new data shows."""
        client.get("/last-updated/pop")
        fresh = {"last_updated": "2026-03-02T12:00:00+00:00"}
        store.save_views([make_view(Genre("pop"), "last-updated", fresh)])
        assert client.get("/last-updated/pop").json()["data"] == pop_data["last-updated"]
        assert cache.delete_prefix(genre_cache_prefix(Genre("pop"))) == 1
        reply = client.get("/last-updated/pop")
        assert reply.json()["data"] == fresh
        assert reply.headers["ETag"] == f'"{view_version(fresh)}"'

    def test_missing_view_when_requested_is_not_cached(
        self, client: WsgiClient, cache: MemoryCache, store: SQLiteStore
    ) -> None:
        """A 404 'no data yet' is not remembered: data appears as soon as the ETL writes it."""
        assert client.get("/graph-data/pop").status == 404
        assert len(cache) == 0
        fill_store(store)
        assert client.get("/graph-data/pop").status == 200

    def test_corrupt_cache_entry_when_found_is_treated_as_a_miss(
        self, client: WsgiClient, cache: MemoryCache, pop_data: dict[str, Any]
    ) -> None:
        """Foreign bytes under the key are replaced by a fresh answer."""
        cache.set(view_cache_key(Genre("pop"), "graph-data"), b"not an answer")
        reply = client.get("/graph-data/pop")
        assert reply.status == 200
        assert reply.json()["data"] == pop_data["graph-data"]

    def test_null_cache_when_used_reads_the_store_every_time(
        self, settings: Settings, counting_store: CountingStore, pop_data: dict[str, Any]
    ) -> None:
        """The `none` backend disables caching without changing answers."""
        client = WsgiClient(create_app(settings, cast(Store, counting_store), NullCache()))
        client.get("/graph-data/pop")
        client.get("/graph-data/pop")
        assert counting_store.get_view_calls == 2

    def test_cache_hits_when_answered_are_counted_in_metrics(
        self, client: WsgiClient, metrics: Metrics, pop_data: dict[str, Any]
    ) -> None:
        """The shared Metrics sees the cache's hits and misses."""
        client.get("/graph-data/pop")
        client.get("/graph-data/pop")
        client.get("/graph-data/pop")

        def count(result: str) -> float | None:
            labels = {"cache": "memory", "result": result}
            return metrics.registry.get_sample_value("tunemeld_cache_requests_total", labels)

        assert count("miss") == 1
        assert count("hit") == 2


class TestCors:
    """CORS echoes only configured origins and answers preflights."""

    def test_allowed_origin_when_sent_is_echoed(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """The default setting allows the local front end."""
        reply = client.get("/graph-data/pop", {"Origin": ALLOWED_ORIGIN})
        assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert reply.headers["Vary"] == "Origin"
        assert "ETag" in reply.headers["Access-Control-Expose-Headers"]

    def test_unlisted_origin_when_sent_gets_no_allow_origin(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """The browser then refuses the answer to that page."""
        reply = client.get("/graph-data/pop", {"Origin": "https://evil.test"})
        assert reply.status == 200
        assert "Access-Control-Allow-Origin" not in reply.headers
        assert reply.headers["Vary"] == "Origin"

    def test_errors_when_answered_carry_cors_headers_too(self, client: WsgiClient) -> None:
        """A front end can read why a request failed."""
        reply = client.get("/graph-data/jazz", {"Origin": ALLOWED_ORIGIN})
        assert reply.status == 404
        assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN

    def test_wildcard_setting_when_configured_allows_any_origin(self, store: SQLiteStore) -> None:
        """`*` in cors_origins answers `*`."""
        settings = Settings(_env_file=None, env="testing", api={"cors_origins": ["*"]})
        client = WsgiClient(create_app(settings, store, NullCache()))
        reply = client.get("/", {"Origin": "https://anywhere.test"})
        assert reply.headers["Access-Control-Allow-Origin"] == "*"

    @pytest.mark.parametrize("path", ["/graph-data/pop", "/service-playlist/pop/Spotify", "/"])
    def test_preflight_when_sent_answers_204_with_methods(
        self, client: WsgiClient, path: str
    ) -> None:
        """OPTIONS is answered without touching the store, with no body."""
        reply = client.request(
            "OPTIONS",
            path,
            {"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "GET"},
        )
        assert reply.status == 204
        assert reply.body == b""
        assert reply.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"
        assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert "If-None-Match" in reply.headers["Access-Control-Allow-Headers"]


class TestRequestId:
    """Every answer carries a request id, which the request's log lines carry too."""

    def test_sane_request_id_when_sent_is_echoed(self, client: WsgiClient) -> None:
        """Callers can correlate their logs with ours."""
        reply = client.get("/", {"X-Request-ID": "abc-123.DEF_4"})
        assert reply.headers["X-Request-ID"] == "abc-123.DEF_4"

    @pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, "semi;colon", "ünï"])
    def test_missing_or_odd_request_id_when_sent_is_replaced_by_a_new_one(
        self, client: WsgiClient, sent: str | None
    ) -> None:
        """Anything but a short token becomes a fresh uuid4 hex."""
        headers = {} if sent is None else {"X-Request-ID": sent}
        reply = client.get("/", headers)
        rid = reply.headers["X-Request-ID"]
        assert rid != sent
        assert len(rid) == 32
        int(rid, 16)

    def test_new_request_ids_when_generated_differ(self, client: WsgiClient) -> None:
        """Each request gets its own id."""
        assert client.get("/").headers["X-Request-ID"] != client.get("/").headers["X-Request-ID"]

    def test_request_log_when_written_carries_the_id_and_is_cleared_after(
        self, client: WsgiClient, pop_data: dict[str, Any]
    ) -> None:
        """`api_request_handled` has method, route rule, status, duration and request_id."""
        with capture_logs(processors=[merge_contextvars]) as logs:
            client.get("/graph-data/pop", {"X-Request-ID": "req-1"})
        (line,) = [e for e in logs if e["event"] == "api_request_handled"]
        assert line["request_id"] == "req-1"
        assert line["method"] == "GET"
        assert line["route"] == "/graph-data/<genre>"
        assert line["status"] == 200
        assert line["duration_ms"] >= 0
        assert "request_id" not in structlog.contextvars.get_contextvars()

    def test_failure_log_when_written_carries_the_request_id(
        self, client: WsgiClient, counting_store: CountingStore
    ) -> None:
        """The 500's traceback line can be found from the id the client saw."""
        counting_store.fail_with = RuntimeError("boom")
        with capture_logs(processors=[merge_contextvars]) as logs:
            reply = client.get("/graph-data/pop")
        (failure,) = [e for e in logs if e["event"] == "api_request_failed"]
        assert failure["request_id"] == reply.headers["X-Request-ID"]

    def test_outer_context_when_bound_survives_a_request(self, client: WsgiClient) -> None:
        """Only request_id is removed afterwards; what the caller bound stays."""
        structlog.contextvars.bind_contextvars(run_id="outer")
        client.get("/")
        assert structlog.contextvars.get_contextvars() == {"run_id": "outer"}


class TestMetrics:
    """Requests are counted by route rule, never by raw path."""

    def sample(self, metrics: Metrics, name: str, labels: dict[str, str]) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    def test_requests_when_for_several_genres_share_one_route_label(
        self, client: WsgiClient, metrics: Metrics, store: SQLiteStore
    ) -> None:
        """Two genres and one unknown genre count under `/graph-data/<genre>`."""
        fill_store(store, Genre("pop"))
        fill_store(store, Genre("rap"))
        client.get("/graph-data/pop")
        client.get("/graph-data/rap")
        client.get("/graph-data/jazz")
        ok = {"route": "/graph-data/<genre>", "method": "GET", "status": "200"}
        missing = {**ok, "status": "404"}
        assert self.sample(metrics, "tunemeld_api_requests_total", ok) == 2
        assert self.sample(metrics, "tunemeld_api_requests_total", missing) == 1
        raw = {**ok, "route": "/graph-data/pop"}
        assert self.sample(metrics, "tunemeld_api_requests_total", raw) is None
        latency = {"route": "/graph-data/<genre>", "status": "200"}
        assert self.sample(metrics, "tunemeld_api_latency_seconds_count", latency) == 2
        latency_404 = {**latency, "status": "404"}
        assert self.sample(metrics, "tunemeld_api_latency_seconds_count", latency_404) == 1

    def test_unmatched_paths_when_requested_share_one_label(
        self, client: WsgiClient, metrics: Metrics
    ) -> None:
        """Random paths cannot grow the label set."""
        client.get("/a")
        client.get("/b")
        client.request("BREW", "/c")
        labels = {"route": "<unmatched>", "method": "GET", "status": "404"}
        assert self.sample(metrics, "tunemeld_api_requests_total", labels) == 2
        odd = {"route": "<unmatched>", "method": "other", "status": "404"}
        assert self.sample(metrics, "tunemeld_api_requests_total", odd) == 1

    def test_metrics_route_when_requested_answers_prometheus_text(self, client: WsgiClient) -> None:
        """Not the envelope: the exposition format with its own content type."""
        client.get("/")
        reply = client.get("/metrics")
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        text = reply.body.decode()
        assert 'tunemeld_api_requests_total{method="GET",route="/",status="200"} 1.0' in text


class TestIndexAndHealth:
    """`/` describes the API; `/health` reports the store and the cache."""

    def test_index_when_requested_lists_every_route_rule(self, client: WsgiClient) -> None:
        """The envelope's data names the API and its routes."""
        body = client.get("/").json()
        assert body["status"] == "success"
        assert body["data"]["name"] == "TuneMeld"
        assert body["data"]["routes"] == [
            "/",
            "/health",
            "/metrics",
            "/openapi.json",
            "/graph-data/<genre>",
            "/playlist-data/<genre>",
            "/service-playlist/<genre>/<service>",
            "/last-updated/<genre>",
            "/header-art/<genre>",
            "/rising/<genre>",
            "/track/<isrc>",
            "/api/main-playlist",
            "/api/service-playlist",
            "/api/graph-data",
            "/api/header-art",
            "/api/last-updated",
        ]

    def test_health_when_store_answers_reports_the_rows(
        self, client: WsgiClient, store: SQLiteStore
    ) -> None:
        """200 with the report: store row with latency, masked URL and counts; the cache row."""
        reply = client.get("/health")
        assert reply.status == 200
        assert reply.headers["Cache-Control"] == "no-store"
        body = reply.json()
        assert body["status"] == "success"
        rows = {row["name"]: row for row in body["data"]["checks"]}
        assert rows["store"]["status"] == "pass"
        assert isinstance(rows["store"]["latency_ms"], float)
        assert rows["store"]["details"]["url"] == store.url
        assert rows["store"]["details"]["records"]["views"] == 0
        assert rows["cache"]["status"] == "pass"
        assert rows["cache"]["details"]["backend"] == "memory"
        assert {"disk", "last run", "provider Spotify", "freshness pop"} <= set(rows)

    def test_health_when_nothing_ran_yet_is_degraded_with_hints(self, client: WsgiClient) -> None:
        """Still 200 (the store is fine), but the message names the failing rows."""
        body = client.get("/health").json()
        assert body["data"]["ok"] is False
        assert "degraded" in body["message"]
        assert "last run" in body["message"]
        failing = [row for row in body["data"]["checks"] if row["status"] == "fail"]
        assert failing
        assert all(row["hint"] for row in failing)

    def test_health_when_data_is_fresh_and_run_ok_is_healthy(
        self, settings: Settings, store: SQLiteStore, cache: Cache, metrics: Metrics
    ) -> None:
        """Every genre's views and an ok run: every row passes (disk minimum 0: any machine)."""
        settings = settings.model_copy(
            update={"health": settings.health.model_copy(update={"min_free_disk_mb": 0})}
        )
        client = WsgiClient(create_app(settings, store, cache, metrics=metrics))
        now = datetime.now(timezone.utc)
        for genre in GENRES:
            store.save_views(
                [ViewDoc(genre=genre, name="last-updated", data={}, version="v", updated_at=now)]
            )
        run = RunReport(
            run_id="r1", as_of=now.date(), started_at=now, stages=[], genres=[], services=[]
        )
        run.finish(now)
        store.save_run(run)
        body = client.get("/health").json()
        assert body["message"] == "TuneMeld is healthy."
        assert body["data"]["ok"] is True
        assert {row["status"] for row in body["data"]["checks"]} == {"pass"}

    def test_health_when_store_is_down_answers_503_with_the_report(
        self, client: WsgiClient, counting_store: CountingStore
    ) -> None:
        """Status error, the store row failed with its message, dependent rows skipped."""
        counting_store.fail_with = StoreUnavailable("The store file is locked.", hint="Wait.")
        reply = client.get("/health")
        assert reply.status == 503
        body = reply.json()
        assert body["status"] == "error"
        assert "The store file is locked." in body["message"]
        rows = {row["name"]: row for row in body["data"]["checks"]}
        assert rows["store"]["status"] == "fail"
        assert rows["store"]["hint"] == "Wait."
        assert rows["last run"]["status"] == "skip"
        assert rows["cache"]["details"]["backend"] == "memory"

    def test_health_when_polled_within_cache_seconds_reuses_the_report(
        self, counting_store: CountingStore, cache: Cache, metrics: Metrics
    ) -> None:
        """A second /health inside the window does not touch the store again."""
        settings = Settings(_env_file=None, health={"cache_seconds": 3600})
        client = WsgiClient(
            create_app(settings, cast(Store, counting_store), cache, metrics=metrics)
        )
        first = client.get("/health").json()
        pings = counting_store.pings
        second = client.get("/health").json()
        assert counting_store.pings == pings == 1
        assert second["data"]["checked_at"] == first["data"]["checked_at"]

    def test_health_when_requested_never_opens_providers(
        self, client: WsgiClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No provider call (and no live check) from /health, even with keys configured."""

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("providers opened by /health")

        monkeypatch.setattr("tunemeld.services.providers.open_providers", refuse)
        reply = client.get("/health")
        assert reply.status == 200
        rows = [r for r in reply.json()["data"]["checks"] if r["group"] == "provider"]
        assert len(rows) == 4
        assert all("live" not in row["details"] for row in rows)


@pytest.fixture(autouse=True)
def _no_debug_leak() -> Iterator[None]:
    """Tests may not leave bottle's process-wide debug flag on."""
    yield
    assert bottle.DEBUG is False
