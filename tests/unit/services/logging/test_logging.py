"""Structured logs: JSON with bound fields, the rotating file, tail / follow, debug context."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from tunemeld.config import Settings
from tunemeld.services.logging import (
    REDACTED,
    close_log_file,
    configure_logging,
    debug_context,
    follow_log,
    tail_log,
)

SECRETS = {
    "rapidapi_key": "rk-logtest-55aa11",
    "spotify_client_secret": "spsec-logtest-99zz",
    "youtube_api_key": "yt-logtest-3c3c3c",
}


@pytest.fixture(autouse=True)
def _close_file() -> Iterator[None]:
    yield
    close_log_file()


def json_settings(tmp_path: Path, **logging: Any) -> Settings:
    return Settings(
        _env_file=None,
        providers={"mode": "sample", **SECRETS},
        cache={"backend": "cloudflare", "cloudflare_api_token": "cf-logtest-tok-77"},
        logging={"format": "json", **logging},
        database={"url": f"sqlite:///{tmp_path / 'x.db'}"},
    )


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


class TestJsonEvents:
    def test_etl_event_when_logged_in_context_carries_the_bound_fields(
        self, tmp_path: Path
    ) -> None:
        stream = io.StringIO()
        configure_logging(json_settings(tmp_path), stream=stream)
        log = structlog.get_logger()
        with structlog.contextvars.bound_contextvars(
            run_id="r42", stage="extract", service="Spotify", genre="pop"
        ):
            log.info("playlist_fetched", tracks=3)
        (event,) = lines(stream)
        assert event["event"] == "playlist_fetched"
        assert {k: event[k] for k in ("run_id", "stage", "service", "genre")} == {
            "run_id": "r42",
            "stage": "extract",
            "service": "Spotify",
            "genre": "pop",
        }
        assert event["level"] == "info"
        assert "timestamp" in event

    def test_secret_values_when_logged_anywhere_are_redacted(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        configure_logging(json_settings(tmp_path), stream=stream)
        structlog.get_logger().warning(
            "oops",
            url=f"https://x.test/?key={SECRETS['youtube_api_key']}",
            nested={"token": ["cf-logtest-tok-77"]},
            error=RuntimeError(SECRETS["rapidapi_key"]),
        )
        text = stream.getvalue()
        assert REDACTED in text
        for secret in [*SECRETS.values(), "cf-logtest-tok-77"]:
            assert secret not in text


class TestLogFile:
    def test_file_when_configured_gets_json_lines_with_redaction(self, tmp_path: Path) -> None:
        path = tmp_path / "logs" / "api.log"
        stream = io.StringIO()
        configure_logging(json_settings(tmp_path, format="console", file=path), stream=stream)
        with structlog.contextvars.bound_contextvars(request_id="req-1"):
            structlog.get_logger().info("api_request_handled", secret=SECRETS["rapidapi_key"])
        close_log_file()
        (line,) = path.read_text().splitlines()
        event = json.loads(line)
        assert event["event"] == "api_request_handled"
        assert event["request_id"] == "req-1"
        assert event["secret"] == REDACTED
        assert "api_request_handled" in stream.getvalue()  # the console still gets it

    def test_file_when_over_the_size_rotates_and_keeps_the_backups(self, tmp_path: Path) -> None:
        path = tmp_path / "api.log"
        settings = json_settings(tmp_path, file=path, file_max_bytes=2048, file_backups=2)
        configure_logging(settings, stream=io.StringIO())
        log = structlog.get_logger()
        for number in range(200):
            log.info("filler", number=number, padding="x" * 40)
        close_log_file()
        assert path.is_file()
        assert (tmp_path / "api.log.1").is_file()
        assert (tmp_path / "api.log.2").is_file()
        assert not (tmp_path / "api.log.3").exists()
        assert path.stat().st_size <= 2048
        assert json.loads(tail_log(path, 1)[0])["number"] == 199

    def test_stdlib_warning_when_logged_reaches_the_file_as_json(self, tmp_path: Path) -> None:
        import logging

        path = tmp_path / "api.log"
        configure_logging(json_settings(tmp_path, file=path), stream=io.StringIO())
        logging.getLogger("waitress").warning("queue depth %d", 7)
        close_log_file()
        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert {"event": "queue depth 7", "logger": "waitress", "level": "warning"}.items() <= (
            events[-1].items()
        )

    def test_reconfiguring_when_file_was_open_closes_the_old_handler(self, tmp_path: Path) -> None:
        first, second = tmp_path / "a.log", tmp_path / "b.log"
        configure_logging(json_settings(tmp_path, file=first), stream=io.StringIO())
        configure_logging(json_settings(tmp_path, file=second), stream=io.StringIO())
        structlog.get_logger().info("only_in_b")
        close_log_file()
        assert "only_in_b" not in first.read_text()
        assert "only_in_b" in second.read_text()


class TestTail:
    def test_tail_when_file_is_long_returns_the_last_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "t.log"
        path.write_text("".join(f"line {n}\n" for n in range(100)))
        assert tail_log(path, 3) == ["line 97", "line 98", "line 99"]
        assert tail_log(path, 0) == []
        assert tail_log(tmp_path / "missing.log", 5) == []


class TestFollow:
    def test_follow_when_lines_are_appended_and_the_file_rotates_yields_them_all(
        self, tmp_path: Path
    ) -> None:
        """A fake sleep plays the writer: appends, a partial line, then a rotation."""
        path = tmp_path / "f.log"
        path.write_text("old line\n")

        def append(text: str) -> None:
            with path.open("a") as handle:
                handle.write(text)

        steps: list[Callable[[], object]] = [
            lambda: append("first\nsec"),
            lambda: append("ond\n"),
            lambda: (path.rename(tmp_path / "f.log.1"), path.write_text("after rotation\n")),
        ]
        done: list[bool] = []

        def sleep(_: float) -> None:
            if steps:
                steps.pop(0)()
            else:
                done.append(True)

        seen = list(follow_log(path, stop=lambda: bool(done), sleep=sleep))
        assert seen == ["first", "second", "after rotation"]

    def test_follow_when_file_appears_later_waits_for_it(self, tmp_path: Path) -> None:
        path = tmp_path / "later.log"
        calls: list[int] = []

        def sleep(_: float) -> None:
            calls.append(1)
            if len(calls) == 2:
                path.write_text("hello\n")

        stop_after = iter([False] * 6 + [True])
        seen = list(follow_log(path, from_start=True, stop=lambda: next(stop_after), sleep=sleep))
        assert seen == ["hello"]


class TestDebugContext:
    def test_context_when_built_has_versions_and_no_secret(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TUNEMELD_PROVIDERS__RAPIDAPI_KEY", SECRETS["rapidapi_key"])
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "cf-logtest-tok-77")
        context = debug_context(json_settings(tmp_path), failing_unit="extract pop")
        text = json.dumps(context)
        for secret in [*SECRETS.values(), "cf-logtest-tok-77"]:
            assert secret not in text
        assert context["versions"]["tunemeld"]
        assert context["python"]
        assert context["failing_unit"] == "extract pop"
        assert "TUNEMELD_PROVIDERS__RAPIDAPI_KEY" in context["env_vars_set"]
        assert "CLOUDFLARE_API_TOKEN" in context["env_vars_set"]
        assert context["settings"]["providers"]["rapidapi_key"] == REDACTED
        assert context["settings"]["cache"]["cloudflare_api_token"] == REDACTED


class WriteRecorder(io.StringIO):
    """A stream that remembers each `write` call: what one system call would carry."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return super().write(text)


class TestOneWritePerLine:
    """Worker processes share stderr: a line split over two writes interleaves with another's."""

    def test_events_when_logged_are_each_written_whole_with_the_newline(
        self, tmp_path: Path
    ) -> None:
        stream = WriteRecorder()
        configure_logging(json_settings(tmp_path), stream=stream)
        log = structlog.get_logger()
        for number in range(3):
            log.info("api_worker_started", pid=number)
        assert len(stream.calls) == 3
        for number, call in enumerate(stream.calls):
            assert call.endswith("\n")
            assert json.loads(call)["pid"] == number
