"""The per-request path's shortcuts write what the slow path would: lines, timestamps, answers.

The request line is formatted without `json.dumps` when the text is plainly JSON, its timestamp
from a per-second cache, and `/health` from an answer rendered once per report; each test here
holds a shortcut to the result of the general path it replaces.
"""

from __future__ import annotations

import contextvars
import io
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import bottle
import pytest
import structlog

from tunemeld.api._access_log import AccessLog, _IsoStamp, request_id_variable
from tunemeld.api.routes import HealthMemo
from tunemeld.config import Settings
from tunemeld.config._url import REDACTED
from tunemeld.services.health import CheckStatus, HealthCheck, HealthReport
from tunemeld.services.logging import configure_logging

FIELDS = {"method": "GET", "route": "/graph-data/<genre>", "path": "/graph-data/pop", "status": 200}
"""What `_both_lines` records, as keyword arguments for structlog."""


def _settings(tmp_path: Path, **providers: str) -> Settings:
    return Settings(
        _env_file=None,
        database={"url": f"sqlite:///{tmp_path / 'a.db'}"},
        providers={"mode": "sample", **providers},
        logging={"format": "json"},
    )


def _both_lines(
    settings: Settings, request_id: str, duration_ms: float
) -> tuple[dict[str, object], dict[str, object], str, str]:
    """The request line from the compiled path and from structlog (events, then raw lines)."""
    stream = io.StringIO()
    configure_logging(settings, stream=stream)
    log = AccessLog()
    compiled = log._current()[1]
    assert compiled is not None  # the compiled path is the one under test
    compiled_lines: list[str] = []
    write = compiled.write

    def spy(fields: tuple[str, str, str, int], duration_ms: float, request_id: str) -> None:
        compiled_lines.append(request_id)
        write(fields, duration_ms, request_id)

    compiled.write = spy  # type: ignore[method-assign]
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        log.record("GET", "/graph-data/<genre>", "/graph-data/pop", 200, duration_ms)
        log.flush()
        logger, _ = log._current()
        logger.info("api_request_handled", **FIELDS, duration_ms=duration_ms)
    assert len(compiled_lines) == 1  # the first line came from the compiled path
    fast, slow = stream.getvalue().splitlines()
    return json.loads(fast), json.loads(slow), fast, slow


def _without_timestamp(line: str, event: dict[str, object]) -> str:
    stamp = event["timestamp"]
    assert isinstance(stamp, str)
    return line.replace(json.dumps(stamp), "")


class TestCompiledLine:
    @pytest.mark.parametrize("request_id", ["0f3a9c", "req-7", "Zürich", 'say "hi"\\'])
    @pytest.mark.parametrize("duration_ms", [1.25, 0.001, 1e-05, 12345.678, 3, float("nan")])
    def test_line_when_formatted_without_json_dumps_is_structlogs(
        self, tmp_path: Path, request_id: str, duration_ms: float
    ) -> None:
        """Letters-and-digits ids, escaped ids, floats, ints and NaN: the same bytes."""
        fast_event, slow_event, fast, slow = _both_lines(
            _settings(tmp_path), request_id, duration_ms
        )
        assert _without_timestamp(fast, fast_event) == _without_timestamp(slow, slow_event)
        assert fast_event["request_id"] == request_id

    def test_secret_when_made_of_timestamp_characters_is_scrubbed_from_the_timestamp(
        self, tmp_path: Path
    ) -> None:
        """A key like `2026` is a secret like any other: structlog redacts it in timestamps."""
        year = datetime.now(timezone.utc).strftime("%Y")
        settings = _settings(tmp_path, rapidapi_key=year)
        fast_event, slow_event, fast, _ = _both_lines(settings, "0f3a9c", 1.5)
        assert year not in fast
        for event in (fast_event, slow_event):
            stamp = event["timestamp"]
            assert isinstance(stamp, str)
            assert stamp.startswith(REDACTED)

    @pytest.mark.parametrize("other_variable", [False, True])
    def test_thread_context_when_fresh_or_holding_other_variables_gives_the_compiled_line(
        self, tmp_path: Path, other_variable: bool
    ) -> None:
        """A server thread's context holds the request id alone (the one-variable shortcut);
        a variable that is not structlog's (decimal's, say) does not hide the request id."""
        other: contextvars.ContextVar[int] = contextvars.ContextVar("other")

        def run() -> tuple[str, str]:
            if other_variable:
                other.set(1)
            fast_event, _, fast, slow = _both_lines(_settings(tmp_path), "abc", 2.0)
            assert fast_event["request_id"] == "abc"
            return fast, slow

        fast, slow = contextvars.Context().run(run)
        assert list(json.loads(fast)) == list(json.loads(slow))


class TestIsoStamp:
    @pytest.mark.parametrize(
        "nanoseconds",
        [
            0,
            999,  # under a microsecond: floored to .000000, which isoformat leaves out
            1_000,
            1_796_650_000_000_000_000,  # a whole second
            1_796_650_000_123_456_789,
            1_796_650_000_999_999_999,
            1_796_650_001_000_000_001,  # the next second, read after the one before
        ],
    )
    def test_instant_when_formatted_is_structlogs_iso_utc_string(self, nanoseconds: int) -> None:
        stamp = _IsoStamp()
        seconds, rest = divmod(nanoseconds, 1_000_000_000)
        expected = (
            datetime.fromtimestamp(seconds, timezone.utc)
            .replace(microsecond=rest // 1000)
            .isoformat()
            .replace("+00:00", "Z")
        )
        stamp(nanoseconds - 1_000_000_000)  # a cached second before, to be replaced
        assert json.loads(stamp(nanoseconds)) == expected
        assert json.loads(stamp(nanoseconds)) == expected  # from the cached second

    def test_now_when_stamped_lies_between_two_reads_of_the_clock(self) -> None:
        before = datetime.now(timezone.utc)
        text = json.loads(_IsoStamp()(time.time_ns()))
        stamped = datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert before <= stamped <= datetime.now(timezone.utc)


class TestRequestIdVariable:
    def test_variable_when_set_is_the_request_id_structlog_merges(self) -> None:
        variable = request_id_variable()
        token = variable.set("r-1")
        try:
            assert structlog.contextvars.get_contextvars() == {"request_id": "r-1"}
        finally:
            variable.reset(token)
        assert "request_id" not in structlog.contextvars.get_contextvars()


def _report(summary: str) -> HealthReport:
    check = HealthCheck(name="store", group="store", status=CheckStatus.PASS, summary=summary)
    return HealthReport(checked_at=datetime(2026, 12, 1, tzinfo=timezone.utc), checks=[check])


class TestHealthAnswer:
    def test_answer_when_the_report_is_reused_is_rendered_once_and_copied(self) -> None:
        reports = iter([_report("first"), _report("second")])
        clock = [0.0]
        memo = HealthMemo(5.0, clock=lambda: clock[0])
        rendered: list[str] = []

        def render(report: HealthReport) -> bottle.HTTPResponse:
            rendered.append(report.checks[0].summary)
            return bottle.HTTPResponse(body=report.checks[0].summary.encode(), status=200)

        first = memo.answer(lambda: next(reports), render)
        first.set_header("X-Changed", "by one request")
        again = memo.answer(lambda: next(reports), render)
        assert rendered == ["first"]
        assert again.body == b"first"
        assert again.get_header("X-Changed") is None  # each request has its own headers
        clock[0] = 6.0  # the report expires: the next one is rendered
        assert memo.answer(lambda: next(reports), render).body == b"second"
        assert rendered == ["first", "second"]
