"""Stdlib records (waitress, urllib3) as structlog events, with repeating lines rate-limited.

The limiter's clock is injected: the tests move time by hand and never sleep.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tunemeld.config import Settings
from tunemeld.services.logging import REDACTED, close_log_file, configure_logging

TOKEN = "cf-bridge-token-8d8d"


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _close_file() -> Iterator[None]:
    yield
    close_log_file()


def _settings(tmp_path: Path, fmt: str = "json", **logging_: Any) -> Settings:
    return Settings(
        _env_file=None,
        cache={"backend": "cloudflare", "cloudflare_api_token": TOKEN},
        logging={"format": fmt, **logging_},
        database={"url": f"sqlite:///{tmp_path / 'x.db'}"},
    )


def _events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _queue_warnings(depths: range) -> None:
    for depth in depths:
        logging.getLogger("waitress.queue").warning("Task queue depth is %d", depth)


class TestBridge:
    def test_waitress_warning_when_json_is_one_structured_event(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        configure_logging(_settings(tmp_path), stream=stream, clock=FakeClock())

        logging.getLogger("waitress").warning("peer sent %s", TOKEN)

        (event,) = _events(stream)
        assert event["event"] == f"peer sent {REDACTED}"
        assert event["logger"] == "waitress"
        assert event["level"] == "warning"
        assert event["timestamp"].endswith("Z")
        assert TOKEN not in stream.getvalue()

    def test_waitress_warning_when_console_uses_the_console_renderer(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        configure_logging(_settings(tmp_path, "console"), stream=stream, clock=FakeClock())

        logging.getLogger("waitress").warning("Task queue depth is %d", 3)

        text = stream.getvalue()
        assert "Task queue depth is 3" in text
        assert "warning" in text
        assert not text.lstrip().startswith("{")
        assert not text.startswith("WARNING waitress:")  # no longer the plain stdlib format

    def test_info_from_waitress_when_level_is_info_stays_quiet(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        configure_logging(_settings(tmp_path), stream=stream, clock=FakeClock())

        logging.getLogger("waitress").info("Serving on http://127.0.0.1:1")

        assert stream.getvalue() == ""

    def test_reconfiguring_when_done_twice_writes_each_record_once(self, tmp_path: Path) -> None:
        first, second = io.StringIO(), io.StringIO()
        configure_logging(_settings(tmp_path), stream=first, clock=FakeClock())
        configure_logging(_settings(tmp_path), stream=second, clock=FakeClock())

        logging.getLogger("urllib3").warning("retrying")

        assert first.getvalue() == ""
        assert [e["event"] for e in _events(second)] == ["retrying"]


class TestRepeats:
    def test_repeating_warning_when_inside_the_window_is_written_once(self, tmp_path: Path) -> None:
        stream, clock = io.StringIO(), FakeClock()
        configure_logging(_settings(tmp_path, repeat_seconds=60), stream=stream, clock=clock)

        _queue_warnings(range(1, 1001))
        clock.now += 59.5
        _queue_warnings(range(5))

        events = _events(stream)
        assert [e["event"] for e in events] == ["Task queue depth is 1"]
        assert "suppressed" not in events[0]

    def test_repeating_warning_when_window_ends_counts_what_was_dropped(
        self, tmp_path: Path
    ) -> None:
        stream, clock = io.StringIO(), FakeClock()
        configure_logging(_settings(tmp_path, repeat_seconds=60), stream=stream, clock=clock)

        _queue_warnings(range(1, 1001))  # 1 written, 999 dropped
        clock.now += 60
        _queue_warnings(range(7, 9))  # 7 written with the count, 8 dropped

        events = _events(stream)
        assert [(e["event"], e.get("suppressed")) for e in events] == [
            ("Task queue depth is 1", None),
            ("Task queue depth is 7", 999),
        ]

    def test_other_templates_and_loggers_when_interleaved_are_not_limited(
        self, tmp_path: Path
    ) -> None:
        stream = io.StringIO()
        configure_logging(_settings(tmp_path, repeat_seconds=60), stream=stream, clock=FakeClock())

        _queue_warnings(range(3))
        logging.getLogger("waitress.queue").warning("Task queue is stuck")
        logging.getLogger("waitress").warning("Task queue depth is %d", 9)
        logging.getLogger("waitress.queue").error("Task queue depth is %d", 9)

        assert [(e["logger"], e["level"], e["event"]) for e in _events(stream)] == [
            ("waitress.queue", "warning", "Task queue depth is 0"),
            ("waitress.queue", "warning", "Task queue is stuck"),
            ("waitress", "warning", "Task queue depth is 9"),
            ("waitress.queue", "error", "Task queue depth is 9"),
        ]

    def test_repeat_seconds_when_zero_writes_every_line(self, tmp_path: Path) -> None:
        stream = io.StringIO()
        configure_logging(_settings(tmp_path, repeat_seconds=0), stream=stream, clock=FakeClock())

        _queue_warnings(range(50))

        assert len(_events(stream)) == 50

    def test_log_file_when_set_gets_the_same_limited_lines(self, tmp_path: Path) -> None:
        path, clock = tmp_path / "api.log", FakeClock()
        configure_logging(
            _settings(tmp_path, file=path, repeat_seconds=10), stream=io.StringIO(), clock=clock
        )

        _queue_warnings(range(1, 21))
        clock.now += 10
        _queue_warnings(range(30, 31))
        close_log_file()

        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert [(e["event"], e.get("suppressed")) for e in events] == [
            ("Task queue depth is 1", None),
            ("Task queue depth is 30", 19),
        ]
