"""The fast path in front of bottle sends what bottle sends, byte for byte, and is observed alike.

Each request is made twice to one app over one store and cache: through the fast path, and
with it switched off (bottle's routing, plugins and error pages). The status line, the header
list in order and the body must be equal; so must the request line and the metrics sample.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, cast
from wsgiref.util import setup_testing_defaults

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.unit.api.test_app import POP, CountingStore, fill_store
from tunemeld.api import create_app
from tunemeld.api.plugins import ObservedBottle, RequestObserver
from tunemeld.config import Settings
from tunemeld.exceptions import NotFound, StoreUnavailable
from tunemeld.models import Genre, Service
from tunemeld.services.cache import MemoryCache
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore, Store

LISTED = "http://localhost:8080"
UNLISTED = "http://elsewhere.test"
NO_DATA = Genre("rap")
"""A catalog genre the store holds no views of: its routes answer 404."""

VIEW_PREFIXES = ("graph-data", "playlist-data", "last-updated", "header-art", "rising")
"""The per-genre view routes (written out here, not read from the route table)."""


def view_paths(genre: Genre) -> list[str]:
    """Every canonical path of a cached view of `genre` (the services from the registry)."""
    paths = [f"/{prefix}/{genre.value}" for prefix in VIEW_PREFIXES]
    paths += [f"/service-playlist/{genre.value}/{service.value}" for service in Service]
    return paths


@dataclass
class Wire:
    """One WSGI answer as a server receives it, and whether bottle handled the request."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    by_bottle: bool
    """Bottle leaves itself in the environ of every request it handles; the fast path not."""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class Twin:
    """One app called with its fast path on or off."""

    def __init__(self, app: ObservedBottle) -> None:
        self.app = app
        observer = app.observer
        assert isinstance(observer, RequestObserver)
        self.observer = observer
        self.fast = observer.fast
        assert self.fast is not None  # the app factory installs it

    def call(
        self, path: str, headers: dict[str, str] | None = None, *, fast: bool, method: str = "GET"
    ) -> Wire:
        self.observer.fast = self.fast if fast else None
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ.update(REQUEST_METHOD=method, PATH_INFO=path, QUERY_STRING="")
        environ["wsgi.errors"] = io.StringIO()
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        sent: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(status: str, header_list: list[tuple[str, str]], _: Any = None) -> None:
            sent.append((status, list(header_list)))

        result = self.app(environ, start_response)
        body = b"".join(result)
        assert len(sent) == 1
        return Wire(sent[0][0], sent[0][1], body, "bottle.app" in environ)

    def both(self, path: str, headers: dict[str, str] | None = None) -> tuple[Wire, Wire]:
        """The fast path's answer, then bottle's, to the same request."""
        return self.call(path, headers, fast=True), self.call(path, headers, fast=False)


def answered_by_bottle(wire: Wire) -> bool:
    """True when bottle answered (the fast path did not)."""
    return wire.by_bottle


def assert_same_headers(fast: Wire, slow: Wire, sent: dict[str, str]) -> None:
    """The same header list, in order; a generated request id (32 hex digits) aside."""
    given = sent.get("X-Request-ID")
    if given is not None and given != "bad id!":
        assert fast.headers == slow.headers
        assert fast.header("X-Request-Id") == given
        return
    marked = []
    for wire in (fast, slow):
        value = wire.header("X-Request-Id")
        assert value is not None
        assert len(value) == 32
        assert int(value, 16) >= 0
        marked.append([(k, "<id>" if k == "X-Request-Id" else v) for k, v in wire.headers])
    assert marked[0] == marked[1]


@pytest.fixture(name="counting_store")
def _counting_store(store: SQLiteStore) -> CountingStore:
    fill_store(store, POP)
    return CountingStore(store)


@pytest.fixture(name="metrics")
def _metrics() -> Metrics:
    return Metrics()


@pytest.fixture(name="twin")
def _twin(counting_store: CountingStore, metrics: Metrics) -> Twin:
    settings = Settings(
        _env_file=None,
        env="testing",
        api={"cors_origins": [LISTED]},
        health={"cache_seconds": 3600},  # one report for both paths: the same body
    )
    cache = MemoryCache(max_entries=64, ttl_seconds=60, metrics=metrics)
    app = create_app(settings, cast(Store, counting_store), cache, metrics=metrics)
    assert isinstance(app, ObservedBottle)
    return Twin(app)


HEADER_CASES = {
    "plain": {},
    "origin listed": {"Origin": LISTED},
    "origin not listed": {"Origin": UNLISTED},
    "request id sent": {"X-Request-ID": "client-id.7"},
    "request id unusable": {"X-Request-ID": "bad id!"},
    "all": {"Origin": LISTED, "X-Request-ID": "abc123"},
}


class TestSameBytes:
    @pytest.mark.parametrize("case", list(HEADER_CASES))
    @pytest.mark.parametrize("path", view_paths(POP))
    def test_answer_when_fast_is_bottles_answer(self, twin: Twin, path: str, case: str) -> None:
        """200 (or 404 where the view is missing): status line, headers in order, body."""
        headers = HEADER_CASES[case]
        fast, slow = twin.both(path, headers)
        assert answered_by_bottle(slow)
        assert (fast.status, fast.body) == (slow.status, slow.body)
        assert_same_headers(fast, slow, headers)
        if fast.status.startswith("200"):
            assert not answered_by_bottle(fast)  # really answered in front of bottle

    @pytest.mark.parametrize("case", list(HEADER_CASES))
    @pytest.mark.parametrize("path", [p for p in view_paths(POP) if not p.startswith("/rising/")])
    def test_not_modified_when_fast_is_bottles(self, twin: Twin, path: str, case: str) -> None:
        """A revalidation with the current ETag: the same 304, with the same headers dropped.

        (`fill_store` saves no rising view: that route answers 404, compared above.)
        """
        first = twin.call(path, fast=False)
        assert first.status == "200 OK"
        etag = first.header("ETag")
        assert etag is not None
        for validator in (etag, f'W/{etag}, "other"', "*"):
            headers = {**HEADER_CASES[case], "If-None-Match": validator}
            fast, slow = twin.both(path, headers)
            assert not answered_by_bottle(fast)
            assert fast.status == slow.status == "304 Not Modified"
            assert fast.body == slow.body == b""
            assert_same_headers(fast, slow, headers)
            assert fast.header("Content-Length") is None

    @pytest.mark.parametrize("case", list(HEADER_CASES))
    def test_health_when_fast_is_bottles(self, twin: Twin, case: str) -> None:
        """`/health` from its memoised report: the same 200, with bottle's Content-Length."""
        headers = HEADER_CASES[case]
        fast, slow = twin.both("/health", headers)
        assert not answered_by_bottle(fast)
        assert fast.status == slow.status == "200 OK"
        assert fast.body == slow.body
        assert fast.header("Content-Length") == str(len(fast.body))
        assert_same_headers(fast, slow, headers)

    def test_store_down_when_fast_health_is_bottles_503(
        self, twin: Twin, counting_store: CountingStore
    ) -> None:
        counting_store.fail_with = StoreUnavailable("The store is down.", hint="Start it.")
        fast, slow = twin.both("/health", {"X-Request-ID": "h1"})
        assert not answered_by_bottle(fast)
        assert fast.status == slow.status == "503 Service Unavailable"
        assert (fast.headers, fast.body) == (slow.headers, slow.body)

    def test_stale_etag_when_fast_gets_the_full_answer(self, twin: Twin) -> None:
        fast, slow = twin.both("/playlist-data/pop", {"If-None-Match": '"not-it"'})
        assert not answered_by_bottle(fast)
        assert fast.status == slow.status == "200 OK"
        assert fast.body == slow.body
        assert len(fast.body) > 0

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("HEAD", "/playlist-data/pop"),
            ("OPTIONS", "/playlist-data/pop"),
            ("POST", "/playlist-data/pop"),
            ("GET", "/playlist-data/Pop"),
            ("GET", "/Playlist-Data/pop"),
            ("GET", "/playlist-data/pop/"),
            ("GET", "/playlist-data/jazz"),
            ("GET", "/service-playlist/pop/spotify"),
            ("GET", "/api/main-playlist"),
            ("HEAD", "/health"),
            ("GET", "/health/"),
        ],
    )
    def test_other_requests_when_fast_path_is_on_go_to_bottle(
        self, twin: Twin, method: str, path: str
    ) -> None:
        """Other methods, spellings and paths: bottle answers, exactly as with no fast path."""
        fast = twin.call(path, {"X-Request-ID": "same"}, fast=True, method=method)
        slow = twin.call(path, {"X-Request-ID": "same"}, fast=False, method=method)
        assert answered_by_bottle(fast)
        assert (fast.status, fast.headers, fast.body) == (slow.status, slow.headers, slow.body)


class TestFailures:
    @pytest.mark.parametrize("path", view_paths(NO_DATA))
    def test_view_without_data_when_fast_reads_the_store_once(
        self, twin: Twin, counting_store: CountingStore, path: str
    ) -> None:
        """No data yet: bottle's 404, and the fast path's attempt is not repeated."""
        before = counting_store.get_view_calls
        fast = twin.call(path, {"X-Request-ID": "r1"}, fast=True)
        assert counting_store.get_view_calls == before + 1
        slow = twin.call(path, {"X-Request-ID": "r1"}, fast=False)
        assert fast.status == slow.status == "404 Not Found"
        assert (fast.headers, fast.body) == (slow.headers, slow.body)

    def test_store_down_when_fast_is_one_503_and_one_warning(
        self, twin: Twin, counting_store: CountingStore
    ) -> None:
        counting_store.fail_with = StoreUnavailable("The store is down.", hint="Start it.")
        with capture_logs() as logs:
            fast = twin.call("/graph-data/pop", {"X-Request-ID": "r2"}, fast=True)
        assert counting_store.get_view_calls == 1
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["store_unavailable"]
        slow = twin.call("/graph-data/pop", {"X-Request-ID": "r2"}, fast=False)
        assert fast.status == slow.status
        assert fast.status.startswith("503")
        assert (fast.headers, fast.body) == (slow.headers, slow.body)

    def test_fault_in_the_fast_path_when_raised_leaves_the_answer_to_bottle(
        self, twin: Twin
    ) -> None:
        """A fault inside the fast path itself: bottle answers the request as always."""

        def broken(environ: dict[str, object]) -> Any:
            raise RuntimeError("fast path fault")

        twin.fast = broken
        with capture_logs() as logs:
            fast = twin.call("/graph-data/pop", {"X-Request-ID": "r3"}, fast=True)
        slow = twin.call("/graph-data/pop", {"X-Request-ID": "r3"}, fast=False)
        assert [e["event"] for e in logs if e["log_level"] == "error"] == ["api_fast_path_failed"]
        assert answered_by_bottle(fast)
        assert fast.status == "200 OK"
        assert (fast.headers, fast.body) == (slow.headers, slow.body)

    def test_service_unregistered_after_the_app_was_built_when_fast_is_bottles_404(
        self, twin: Twin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The fast path's table still lists the service: bottle answers, and no fault is logged."""

        def unregistered(cls: type[Service], text: str) -> Service:
            raise NotFound(f"Unknown service {text!r}.", hint="Use one of: none.")

        monkeypatch.setattr(Service, "parse", classmethod(unregistered))
        path = "/service-playlist/pop/Spotify"
        with capture_logs() as logs:
            fast = twin.call(path, {"X-Request-ID": "r4"}, fast=True)
        slow = twin.call(path, {"X-Request-ID": "r4"}, fast=False)
        assert [e["event"] for e in logs if e["log_level"] == "error"] == []
        assert answered_by_bottle(fast)
        assert fast.status == slow.status == "404 Not Found"
        assert (fast.headers, fast.body) == (slow.headers, slow.body)


def api_samples(metrics: Metrics) -> dict[tuple[str, ...], float]:
    """The api request counter's samples, by (route, method, status)."""
    samples: dict[tuple[str, ...], float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "tunemeld_api_requests_total":
                labels = sample.labels
                samples[(labels["route"], labels["method"], labels["status"])] = sample.value
    return samples


class TestObserved:
    @pytest.mark.parametrize(
        ("path", "rule"),
        [
            ("/playlist-data/pop", "/playlist-data/<genre>"),
            ("/service-playlist/pop/Spotify", "/service-playlist/<genre>/<service>"),
        ],
    )
    def test_request_line_and_metrics_when_fast_are_bottles(
        self, twin: Twin, metrics: Metrics, path: str, rule: str
    ) -> None:
        """One line and one sample per request, labelled by the route rule, either way."""
        with capture_logs(processors=[merge_contextvars]) as logs:
            fast = twin.call(path, {"X-Request-ID": "line-1"}, fast=True)
            slow = twin.call(path, {"X-Request-ID": "line-1"}, fast=False)
        assert not answered_by_bottle(fast)
        assert answered_by_bottle(slow)
        lines = [e for e in logs if e["event"] == "api_request_handled"]
        assert len(lines) == 2
        for line in lines:
            duration = line.pop("duration_ms")
            assert isinstance(duration, float)
            assert duration >= 0
        assert (
            lines[0]
            == lines[1]
            == {
                "event": "api_request_handled",
                "log_level": "info",
                "method": "GET",
                "route": rule,
                "path": path,
                "status": 200,
                "request_id": "line-1",
            }
        )
        assert api_samples(metrics)[(rule, "GET", "200")] == 2.0
