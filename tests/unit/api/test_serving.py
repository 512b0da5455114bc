"""The serving fast path: answers prepared once per cache fill, label caches, the request observer.

These pin what the speed work must not change: the bytes and headers of every answer, and
the counts in every metric, whatever is reused between requests.
"""

from __future__ import annotations

import io
import json
import select
import sys
from pathlib import Path

import bottle
import pytest
import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.unit.api.test_app import WsgiClient, fill_store
from tests.unit.services.logging.test_logging import WriteRecorder
from tunemeld.api import create_app
from tunemeld.api._access_log import AccessLog
from tunemeld.api.answers import AnswerMemo, CachedAnswer, answer_for
from tunemeld.api.plugins import PreparedAnswer
from tunemeld.api.server import MAX_WORKERS, check_workers
from tunemeld.config import Settings
from tunemeld.exceptions import ConfigError
from tunemeld.models import Genre
from tunemeld.services import monitoring
from tunemeld.services.cache import MemoryCache, view_cache_key
from tunemeld.services.logging import configure_logging
from tunemeld.services.monitoring import Metrics
from tunemeld.services.store import SQLiteStore


class Preparer:
    """Counts how often the memo prepares an answer."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, answer: CachedAnswer) -> tuple[str, bytes]:
        self.calls += 1
        return answer.etag, answer.body


def packed(etag: str, body: bytes) -> bytes:
    return CachedAnswer(etag=etag, body=body).pack()


class TestAnswerMemo:
    """The memo reuses what it prepared only while the cache hands back the same bytes."""

    def test_same_bytes_when_read_again_are_prepared_once(self) -> None:
        """The memory cache returns the stored object itself; KV returns equal bytes."""
        memo: AnswerMemo[tuple[str, bytes]] = AnswerMemo()
        prepare = Preparer()
        raw = packed('"v1"', b'{"a":1}')
        first = memo.get("k", raw, prepare)
        assert memo.get("k", raw, prepare) is first
        assert memo.get("k", bytes(bytearray(raw)), prepare) is first
        assert prepare.calls == 1
        assert first == ('"v1"', b'{"a":1}')

    def test_new_bytes_when_the_cache_was_refreshed_are_prepared_again(self) -> None:
        """A refreshed answer (new ETag and body) is never served from the old preparation."""
        memo: AnswerMemo[tuple[str, bytes]] = AnswerMemo()
        prepare = Preparer()
        memo.get("k", packed('"v1"', b"old"), prepare)
        assert memo.get("k", packed('"v2"', b"new"), prepare) == ('"v2"', b"new")
        assert prepare.calls == 2

    def test_foreign_bytes_when_read_are_a_miss_and_not_remembered(self) -> None:
        memo: AnswerMemo[tuple[str, bytes]] = AnswerMemo()
        prepare = Preparer()
        assert memo.get("k", b"not an answer", prepare) is None
        assert prepare.calls == 0
        assert len(memo) == 0

    def test_many_keys_when_remembered_stay_within_the_bound(self) -> None:
        memo: AnswerMemo[tuple[str, bytes]] = AnswerMemo(max_entries=3)
        prepare = Preparer()
        for index in range(10):
            memo.get(f"k{index}", packed(f'"v{index}"', b"x"), prepare)
            assert len(memo) <= 3
        assert memo.get("k9", packed('"v9"', b"x"), prepare) == ('"v9"', b"x")


class TestPreparedAnswer:
    """Per-request responses are copies: one request cannot change another's headers."""

    def test_response_when_changed_leaves_the_next_one_as_built(self) -> None:
        prepared = PreparedAnswer(CachedAnswer(etag='"e"', body=b"{}"), max_age=60)
        first = prepared.response(not_modified=False)
        first.add_header("ETag", '"other"')
        first.set_header("Cache-Control", "no-store")
        second = prepared.response(not_modified=False)
        assert second.headerlist == [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Etag", '"e"'),
            ("Cache-Control", "public, max-age=60"),
            ("Content-Length", "2"),
        ]
        assert second.status_code == 200
        assert second.body == b"{}"

    def test_not_modified_when_built_has_no_body_and_the_etag(self) -> None:
        prepared = PreparedAnswer(CachedAnswer(etag='"e"', body=b"{}"), max_age=60)
        reply = prepared.response(not_modified=True)
        assert reply.status_line == "304 Not Modified"
        assert reply.body == b""
        assert dict(reply.headerlist) == {"Etag": '"e"', "Cache-Control": "public, max-age=60"}


class TestServedBytes:
    """What the API sends is exactly the answer the cache keeps, from store and cache alike."""

    def test_every_view_when_served_twice_is_the_encoded_answer_byte_for_byte(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        data = fill_store(store, Genre("pop"))
        cache = MemoryCache()
        client = WsgiClient(create_app(settings, store, cache))
        for name in data:
            doc = store.get_view(Genre("pop"), name)
            assert doc is not None
            expected = answer_for(doc)
            path = (
                f"/service-playlist/pop/{name.split(':', 1)[1]}"
                if name.startswith("service-playlist:")
                else f"/{name}/pop"
            )
            for _ in range(2):  # from the store (then cached), then from the cache
                reply = client.get(path)
                assert reply.status == 200
                assert reply.body == expected.body
                assert reply.headers["ETag"] == expected.etag
                assert reply.headers["Content-Length"] == str(len(expected.body))
            assert cache.get(view_cache_key(Genre("pop"), name)) == expected.pack()

    def test_route_header_when_also_set_by_the_observer_is_sent_once(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        """The observer's headers replace a route's own, as bottle's set_header did."""
        app = create_app(settings, store, MemoryCache())

        def odd() -> bottle.HTTPResponse:
            return bottle.HTTPResponse(
                body=b"{}", headers={"X-Content-Type-Options": "sniff", "Vary": "Accept"}
            )

        app.route("/odd", callback=odd)
        reply = WsgiClient(app).get("/odd", {"Origin": "http://localhost:8080"})
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Vary"] == "Origin"
        assert reply.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


class TestRequestLog:
    """The request line's logger is reused, yet follows every change of the logging setup."""

    def test_request_log_when_logging_is_reconfigured_follows_the_new_setup(
        self, settings: Settings, store: SQLiteStore
    ) -> None:
        client = WsgiClient(create_app(settings, store, MemoryCache()))
        client.get("/")  # builds the request logger for the first configuration
        with capture_logs(processors=[merge_contextvars]) as logs:
            client.get("/", {"X-Request-ID": "after-1"})
        handled = [e for e in logs if e["event"] == "api_request_handled"]
        assert [e["request_id"] for e in handled] == ["after-1"]
        assert handled[0]["status"] == 200
        assert "exception" not in handled[0]


class TestLabelCache:
    """Children kept at hand never change what is counted, beyond the bound too."""

    def test_requests_when_more_label_sets_than_the_bound_are_all_counted(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(monitoring, "MAX_LABEL_CACHE", 2)
        metrics = Metrics()
        statuses = [200, 304, 404, 500, 503]
        for _ in range(3):
            for status in statuses:
                metrics.record_api_request("/graph-data/<genre>", "GET", status, 0.001)
                metrics.record_cache_request("memory", hit=status == 200)
        for status in statuses:
            labels = {"route": "/graph-data/<genre>", "method": "GET", "status": str(status)}
            value = metrics.registry.get_sample_value("tunemeld_api_requests_total", labels)
            assert value == 3
            latency = {"route": "/graph-data/<genre>", "status": str(status)}
            count = metrics.registry.get_sample_value("tunemeld_api_latency_seconds_count", latency)
            assert count == 3
        hits = {"cache": "memory", "result": "hit"}
        misses = {"cache": "memory", "result": "miss"}
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", hits) == 3
        assert metrics.registry.get_sample_value("tunemeld_cache_requests_total", misses) == 12


class TestCheckWorkers:
    """`--workers` is a positive count; above 1 only where worker processes can share a socket."""

    @pytest.mark.parametrize("workers", [0, -1, MAX_WORKERS + 1])
    def test_bad_count_when_checked_is_a_config_error_saying_what_to_use(
        self, workers: int
    ) -> None:
        with pytest.raises(ConfigError, match="--workers") as caught:
            check_workers(workers)
        assert caught.value.hint

    @pytest.mark.parametrize("workers", [1, 2, MAX_WORKERS])
    def test_good_count_when_checked_is_returned(
        self, workers: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys, "platform", "linux")
        assert check_workers(workers) == workers

    def test_several_workers_on_windows_when_checked_say_use_one(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(sys, "platform", "win32")
        assert check_workers(1) == 1
        with pytest.raises(ConfigError, match="Linux or macOS"):
            check_workers(2)


def _lines(settings: Settings, *, bound: dict[str, str]) -> tuple[str, str, AccessLog]:
    """The same request line written by the compiled path and by structlog itself."""
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    log = AccessLog()
    fields = {
        "method": "GET",
        "route": "/graph-data/<genre>",
        "path": "/graph-data/pop-hunter2-secret",
        "status": 200,
        "duration_ms": 1.25,
    }
    with structlog.contextvars.bound_contextvars(**bound):
        log.record(**fields)  # type: ignore[arg-type]
        log.flush()  # the compiled path prints in batches: its line first
        logger, _ = log._current()
        logger.info("api_request_handled", **fields)
    fast, slow = stream.getvalue().splitlines()
    return fast, slow, log


class TestAccessLog:
    """The compiled request line is the line structlog writes, key for key and byte for byte."""

    @pytest.mark.parametrize("secret", [None, "hunter2-secret"])
    def test_compiled_line_when_json_is_configured_equals_structlogs(
        self, tmp_path: Path, secret: str | None
    ) -> None:
        providers: dict[str, object] = {"mode": "sample"}
        if secret is not None:
            providers["rapidapi_key"] = secret
        settings = Settings(
            _env_file=None,
            database={"url": f"sqlite:///{tmp_path / 'a.db'}"},
            providers=providers,
            logging={"format": "json"},
        )
        fast, slow, log = _lines(settings, bound={"request_id": "req-7"})
        assert log._current()[1] is not None  # the compiled path was taken
        fast_event, slow_event = json.loads(fast), json.loads(slow)
        assert list(fast_event) == list(slow_event)
        assert fast.replace(fast_event["timestamp"], "") == slow.replace(
            slow_event["timestamp"], ""
        )
        assert fast_event["request_id"] == "req-7"
        assert fast_event["timestamp"].endswith("Z")
        if secret is not None:
            assert secret not in fast
            assert fast_event["path"] == slow_event["path"] != "/graph-data/pop-hunter2-secret"

    def test_more_bound_context_when_present_takes_structlogs_path(self, tmp_path: Path) -> None:
        """Outer context (a run id, say) is kept: only structlog knows how to merge it."""
        settings = Settings(
            _env_file=None,
            database={"url": f"sqlite:///{tmp_path / 'a.db'}"},
            logging={"format": "json"},
        )
        fast, slow, _ = _lines(settings, bound={"request_id": "req-8", "run_id": "outer"})
        assert json.loads(fast)["run_id"] == "outer"
        assert list(json.loads(fast)) == list(json.loads(slow))

    def test_console_output_when_configured_is_never_compiled(self, tmp_path: Path) -> None:
        settings = Settings(
            _env_file=None,
            database={"url": f"sqlite:///{tmp_path / 'a.db'}"},
            logging={"format": "console"},
        )
        configure_logging(settings, stream=io.StringIO())
        assert AccessLog()._current()[1] is None


class TestAccessLogWrites:
    def test_batch_when_flushed_is_written_in_atomic_pieces_of_whole_lines(
        self, tmp_path: Path
    ) -> None:
        """Each write holds whole lines and fits in one atomic pipe write (`select.PIPE_BUF`)."""
        settings = Settings(
            _env_file=None,
            database={"url": f"sqlite:///{tmp_path / 'a.db'}"},
            logging={"format": "json"},
        )
        stream = WriteRecorder()
        configure_logging(settings, stream=stream)
        log = AccessLog()
        for number in range(200):  # about 40 KB of request lines in one batch
            log.record(
                method="GET",
                route="/playlist-data/<genre>",
                path=f"/playlist-data/pop?n={number}",
                status=200,
                duration_ms=1.5,
            )
        log.flush()
        assert len(stream.calls) > 1
        for call in stream.calls:
            assert call.endswith("\n")
            assert len(call.encode()) <= select.PIPE_BUF
        numbers = [json.loads(line)["path"] for line in stream.getvalue().splitlines()]
        assert numbers == [f"/playlist-data/pop?n={number}" for number in range(200)]
