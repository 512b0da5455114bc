"""`tunemeld api.start --workers N`: real processes on 127.0.0.1 over one sample-world store."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_cli import _command, _env, _free_port, tunemeld
from tunemeld import etl
from tunemeld.api.check import route_paths
from tunemeld.config import Settings
from tunemeld.models import Genre

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.platform == "win32", reason="--workers above 1 runs on Linux and macOS only"
    ),
]

AS_OF = date(2026, 11, 24)
_EVENT_TIMEOUT = 120.0
"""Seconds to wait for a server's own log line: generous for a busy machine, never a sleep."""


@pytest.fixture(scope="module", name="db_env")
def _db_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A store one sample-world run filled for pop; the environment pointing at it."""
    folder = tmp_path_factory.mktemp("workers")
    url = f"sqlite:///{folder / 'workers.db'}"
    settings = Settings(
        _env_file=None,
        database={"url": url},
        providers={"mode": "sample", "backoff_initial": 0.0, "backoff_max": 0.0},
    )
    assert etl.run(settings, genres=["pop"], as_of=AS_OF).ok
    return {"TUNEMELD_DATABASE__URL": url, "TUNEMELD_PROVIDERS__MODE": "sample"}


@dataclass
class Server:
    """A running `tunemeld api.start` and the JSON log events it has written so far."""

    process: subprocess.Popen[str]
    events: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    seen: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def wait_for(self, name: str) -> dict[str, Any]:
        """Block until the server logs event `name` (or its output ends: then fail)."""
        while True:
            try:
                event = self.events.get(timeout=_EVENT_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no {name} event within {_EVENT_TIMEOUT} s: {self.seen}")
            if event.get("event") == "_eof":
                pytest.fail(f"the server ended before {name}: {self.seen}")
            self.seen.append(event)
            if event.get("event") == name:
                return event

    def stop(self) -> int:
        """SIGTERM the server, read the rest of its log, return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=_EVENT_TIMEOUT)
        while True:
            event = self.events.get(timeout=_EVENT_TIMEOUT)
            if event.get("event") == "_eof":
                return code
            self.seen.append(event)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [event for event in self.seen if event.get("event") == name]


def _pump(stream: Any, events: queue.Queue[dict[str, Any]]) -> None:
    """Read the server's stderr line by line (so its pipe never fills), parsing JSON events."""
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            event = {"event": "_text", "line": line.rstrip()}
        events.put(event if isinstance(event, dict) else {"event": "_text", "line": line})
    events.put({"event": "_eof"})


@contextmanager
def api_server(cwd: Path, env: dict[str, str], workers: int) -> Iterator[Server]:
    """Start `api.start --workers N` on a free port, wait until it listens; stop it at the end."""
    port = str(_free_port())
    process = subprocess.Popen(
        [*_command(), "api.start", "--port", port, "--workers", str(workers)],
        cwd=cwd,
        env=_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the cleanup can reach every worker
    )
    server = Server(process)
    pump = threading.Thread(target=_pump, args=(process.stderr, server.events), daemon=True)
    pump.start()
    try:
        server.url = server.wait_for("api_server_started")["url"]
        yield server
    finally:
        # Kill the whole group, workers too: a worker left alive would hold the pipe open, and
        # closing a stream another thread is reading blocks until that read ends.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=_EVENT_TIMEOUT)
        pump.join(_EVENT_TIMEOUT)
        if not pump.is_alive():
            assert process.stderr is not None
            process.stderr.close()


def answers(url: str) -> dict[str, tuple[int, bytes, str, str, str]]:
    """Every data route of pop: status, body, ETag, Content-Type, Cache-Control."""
    found = {}
    with requests.Session() as http:
        for path in route_paths([Genre("pop")]):
            if path == "/health":
                continue
            reply = http.get(url + path, timeout=30)
            found[path] = (
                reply.status_code,
                reply.content,
                reply.headers.get("ETag", ""),
                reply.headers.get("Content-Type", ""),
                reply.headers.get("Cache-Control", ""),
            )
    return found


class TestWorkers:
    def test_two_workers_when_started_serve_the_same_answers_as_one(
        self, tmp_path: Path, db_env: dict[str, str]
    ) -> None:
        """Byte for byte, header for header, from two worker processes behind one port."""
        with api_server(tmp_path, db_env, 1) as one:
            single = answers(one.url)
            assert one.stop() == 0
        assert len(single) >= 7
        assert all(status == 200 and body for status, body, *_ in single.values())
        with api_server(tmp_path, db_env, 2) as two:
            first = two.wait_for("api_worker_started")["pid"]
            second = two.wait_for("api_worker_started")["pid"]
            assert first != second
            assert answers(two.url) == single
            etag = single["/playlist-data/pop"][2]
            for _ in range(20):  # new connections: the kernel spreads them over the workers
                again = requests.get(
                    two.url + "/playlist-data/pop", headers={"If-None-Match": etag}, timeout=30
                )
                assert again.status_code == 304
                assert again.content == b""
            assert two.stop() == 0

    def test_sigterm_when_sent_stops_every_worker_gracefully(
        self, tmp_path: Path, db_env: dict[str, str]
    ) -> None:
        """The supervisor passes SIGTERM on; each worker logs its stop; all exit 0."""
        with api_server(tmp_path, db_env, 2) as server:
            pids = {server.wait_for("api_worker_started")["pid"] for _ in range(2)}
            assert requests.get(server.url + "/playlist-data/pop", timeout=30).status_code == 200
            assert server.stop() == 0
        assert {event["pid"] for event in server.named("api_worker_stopped")} == pids
        assert server.named("api_server_stopped")
        assert not server.named("api_worker_exited")  # none died before it was told to stop
        for pid in pids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)

    def test_supervisor_when_killed_leaves_no_worker_serving(
        self, tmp_path: Path, db_env: dict[str, str]
    ) -> None:
        """SIGKILL reaches only the supervisor; its workers notice and stop by themselves."""
        with api_server(tmp_path, db_env, 2) as server:
            pids = {server.wait_for("api_worker_started")["pid"] for _ in range(2)}
            server.process.kill()
            server.process.wait(timeout=_EVENT_TIMEOUT)
            stopped = {server.wait_for("api_worker_stopped")["pid"] for _ in range(2)}
            assert stopped == pids
            assert {event["pid"] for event in server.named("api_worker_orphaned")} == pids
            while server.events.get(timeout=_EVENT_TIMEOUT).get("event") != "_eof":
                pass  # the pipe ends only when no worker holds it any more
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/health", timeout=30)

    @pytest.mark.parametrize("value", ["0", "-2", "65"])
    def test_bad_worker_count_when_given_exits_2_with_the_rule(
        self, tmp_path: Path, value: str
    ) -> None:
        """A clear one-line error and exit 2, before anything listens."""
        result = tunemeld(tmp_path, "api.start", "--workers", value, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "--workers" in result.stderr
        assert "Traceback" not in result.stderr
